// url= fetching (worker/serve/url_fetcher.h) against a real HTTP server on
// loopback: what the policy lets through and what it refuses, and why.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>

#include <thread>

#include "worker/serve/url_fetcher.h"

namespace frameprint::serve {
namespace {

using namespace std::chrono_literals;

bool public_v4(const char* text) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  EXPECT_EQ(inet_pton(AF_INET, text, &a.sin_addr), 1) << text;
  return is_public_address(reinterpret_cast<const sockaddr*>(&a));
}

bool public_v6(const char* text) {
  sockaddr_in6 a{};
  a.sin6_family = AF_INET6;
  EXPECT_EQ(inet_pton(AF_INET6, text, &a.sin6_addr), 1) << text;
  return is_public_address(reinterpret_cast<const sockaddr*>(&a));
}

TEST(AddressPolicy, OnlyPublicUnicastAddressesArePublic) {
  for (const char* a : {"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1",
                        "192.169.0.1", "11.0.0.1"})
    EXPECT_TRUE(public_v4(a)) << a;
  for (const char* a : {"127.0.0.1", "127.255.255.254", "10.1.2.3", "172.16.0.1", "172.31.255.255",
                        "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
                        "255.255.255.255", "240.0.0.1", "192.0.2.1", "198.18.0.1", "203.0.113.9"})
    EXPECT_FALSE(public_v4(a)) << a;
  for (const char* a : {"2606:4700:4700::1111", "2001:4860:4860::8888", "64:ff9b::808:808"})
    EXPECT_TRUE(public_v6(a)) << a;
  for (const char* a :
       {"::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "::ffff:127.0.0.1",
        "::ffff:10.0.0.1", "64:ff9b::7f00:1", "2001:db8::1", "2002:7f00:1::1", "::127.0.0.1"})
    EXPECT_FALSE(public_v6(a)) << a;
}

class Fetching : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { curl_ = new CurlGlobal; }
  static void TearDownTestSuite() { delete curl_; }

  void SetUp() override {
    server_.Get("/img", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(1000, 'x'), "image/png");
    });
    server_.Get("/big", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(100000, 'x'), "image/png");
    });
    server_.Get("/stream", [](const httplib::Request&, httplib::Response& res) {
      // No Content-Length: the size is known only as the bytes come.
      res.set_chunked_content_provider("image/png", [](size_t, httplib::DataSink& sink) {
        const std::string chunk(10000, 'y');
        for (int i = 0; i < 20; ++i) sink.write(chunk.data(), chunk.size());
        sink.done();
        return true;
      });
    });
    server_.Get("/slow", [](const httplib::Request&, httplib::Response& res) {
      std::this_thread::sleep_for(1500ms);
      res.set_content("late", "image/png");
    });
    server_.Get("/missing",
                [](const httplib::Request&, httplib::Response& res) { res.status = 404; });
    server_.Get("/to-img",
                [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/img"); });
    server_.Get("/loop",
                [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/loop"); });
    server_.Get("/to-localhost", [this](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("http://localhost:" + std::to_string(port_) + "/img");
    });
    server_.Get("/to-file", [](const httplib::Request&, httplib::Response& res) {
      res.set_redirect("file:///etc/passwd");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    policy_.allow_hosts = {"127.0.0.1"};
    policy_.timeout = 5s;
  }
  void TearDown() override {
    server_.stop();
    thread_.join();
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  int status_of(const std::string& u, const UrlPolicy& p) const {
    try {
      fetch_url(u, p);
    } catch (const FetchError& e) {
      return e.status();
    }
    return 200;
  }

  static CurlGlobal* curl_;
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  UrlPolicy policy_;
};
CurlGlobal* Fetching::curl_ = nullptr;

TEST_F(Fetching, FetchesFromANamedLoopbackHost) {
  const Fetched f = fetch_url(url("/img"), policy_);
  EXPECT_EQ(f.bytes.size(), 1000u);
  EXPECT_EQ(f.content_type, "image/png");
  const Fetched g = fetch_url(url("/to-img"), policy_);  // a redirect on the same host
  EXPECT_EQ(g.bytes.size(), 1000u);
  EXPECT_EQ(g.final_url, url("/img"));
}

TEST_F(Fetching, RefusesLoopbackAndPrivateAddressesUnlessTheHostIsNamed) {
  UrlPolicy open = policy_;
  open.allow_hosts.clear();
  try {
    fetch_url(url("/img"), open);
    FAIL() << "fetched from loopback";
  } catch (const FetchError& e) {
    EXPECT_EQ(e.status(), 400);
    EXPECT_NE(std::string(e.what()).find("--allow-url-host"), std::string::npos) << e.what();
  }
  // A name that resolves to loopback is judged by its address, not its name.
  EXPECT_EQ(status_of("http://localhost:" + std::to_string(port_) + "/img", open), 400);
  // Other spellings of 127.0.0.1 too.
  EXPECT_EQ(status_of("http://2130706433:" + std::to_string(port_) + "/img", open), 400);
  EXPECT_EQ(status_of("http://[::ffff:127.0.0.1]:" + std::to_string(port_) + "/img", open), 400);
  // A named host may not send us on to one that is not.
  EXPECT_EQ(status_of(url("/to-localhost"), policy_), 400);
}

TEST_F(Fetching, OnlyHttpAndHttps) {
  for (const char* u :
       {"file:///etc/passwd", "ftp://127.0.0.1/x", "gopher://127.0.0.1/",
        "dict://127.0.0.1:11211/stat", "not a url", "/etc/passwd", "http://user:pw@127.0.0.1/img"})
    EXPECT_EQ(status_of(u, policy_), 400) << u;
  EXPECT_EQ(status_of(url("/to-file"), policy_), 400);
}

TEST_F(Fetching, OnlyAllowedHostsWhenAsked) {
  UrlPolicy only = policy_;
  only.only_allowed_hosts = true;
  EXPECT_EQ(status_of(url("/img"), only), 200);
  only.allow_hosts = {"example.org"};
  EXPECT_EQ(status_of(url("/img"), only), 400);
}

TEST_F(Fetching, BoundedInBytesTimeAndRedirects) {
  UrlPolicy small = policy_;
  small.max_bytes = 50000;
  EXPECT_EQ(status_of(url("/big"), small), 413);     // by Content-Length
  EXPECT_EQ(status_of(url("/stream"), small), 413);  // by what arrived
  UrlPolicy hasty = policy_;
  hasty.timeout = 300ms;
  EXPECT_EQ(status_of(url("/slow"), hasty), 504);
  EXPECT_EQ(status_of(url("/loop"), policy_), 502);
  EXPECT_EQ(status_of(url("/missing"), policy_), 502);
  // Nothing listens there.
  EXPECT_EQ(status_of("http://127.0.0.1:1/img", policy_), 502);
}

}  // namespace
}  // namespace frameprint::serve
