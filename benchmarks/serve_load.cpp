// A load generator for `frameprint serve` (benchmarks/serve_bench.sh):
// N client threads, each on its own keep-alive connection, send requests
// for S seconds and count answers. Prints requests/s, the latency
// median and 99th percentile, and how many answers were not 200.
//   frameprint_serve_load HOST PORT PATH [--post FILE] [--signals FILE]
//                         [--threads N] [--seconds S] [--token T]
// With --signals, each "{signal}" in PATH is replaced by the next line of
// FILE (round robin per thread), so lookups do not repeat one query.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: %s HOST PORT PATH [--post FILE] [--signals FILE] [--threads N] "
                 "[--seconds S] [--token T]\n",
                 argv[0]);
    return 1;
  }
  const std::string host = argv[1];
  const int port = std::stoi(argv[2]);
  const std::string path = argv[3];
  std::string body, token;
  std::vector<std::string> signals;
  int threads = 4;
  double seconds = 10;
  for (int i = 4; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--post") body = read_file(v);
    else if (a == "--signals") {
      std::istringstream in(read_file(v));
      for (std::string l; std::getline(in, l);)
        if (!l.empty()) signals.push_back(l);
    } else if (a == "--threads") threads = std::stoi(v);
    else if (a == "--seconds") seconds = std::stod(v);
    else if (a == "--token") token = v;
  }
  const bool post = !body.empty();
  std::atomic<uint64_t> not_ok{0};
  std::vector<std::vector<double>> latencies(static_cast<size_t>(threads));
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      httplib::Client client(host, port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_read_timeout(std::chrono::seconds(120));
      httplib::Headers headers;
      if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
      size_t next = static_cast<size_t>(t) * 7919;
      auto& lat = latencies[static_cast<size_t>(t)];
      while (Clock::now() < end) {
        std::string p = path;
        if (!signals.empty()) {
          const auto at = p.find("{signal}");
          if (at != std::string::npos) p.replace(at, 8, signals[next++ % signals.size()]);
        }
        const auto t0 = Clock::now();
        const auto res = post ? client.Post(p, headers, body, "application/octet-stream")
                              : client.Get(p, headers);
        lat.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
        if (!res || res->status != 200) ++not_ok;
      }
    });
  }
  for (auto& th : pool) th.join();
  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  const auto pct = [&](double q) {
    return all.empty() ? 0.0
                       : all[std::min(all.size() - 1,
                                      static_cast<size_t>(q * static_cast<double>(all.size())))];
  };
  std::printf("requests %zu in %.1f s: %.1f/s, median %.2f ms, p99 %.2f ms, not 200: %llu\n",
              all.size(), seconds, static_cast<double>(all.size()) / seconds, pct(0.5) * 1e3,
              pct(0.99) * 1e3, static_cast<unsigned long long>(not_ok.load()));
  return not_ok.load() == 0 ? 0 : 2;
}
