// The fuzz targets' bodies, one per tests/fuzz/<target>.cpp, callable both
// from libFuzzer's entry point (the fuzz build, FRAMEPRINT_FUZZ=ON) and from
// the regression test of the regular suite, which replays the inputs kept
// under tests/fuzz/{seeds,regressions}/<target>/ through the same function.
//
// A body takes any bytes. It must not crash, hang or leak, whatever they
// are; where it can state an invariant of the code under test it checks it
// with FUZZ_CHECK, which aborts (a crash to libFuzzer, a failed test here).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace frameprint::fuzz {

using Input = std::span<const uint8_t>;

void mdp(Input input);          // ipc/mdp.h: parse_client, parse_worker
void broker(Input input);       // ipc/broker.h: the broker state machine
void job_header(Input input);   // worker/pool: parse_job_header, options_from_json
void hash_lists(Input input);   // worker/matching/hash_lists.h: every list type
void probe_image(Input input);  // worker/media/probe.h
void hash_media(Input input);   // worker/media/media_hasher.h: image and video decoding
void signals(Input input);      // worker/serve: signals and /m/compare bodies from clients
void serve_request(
    Input input);  // worker/serve/http_api.h: requests as the HTTP library hands them

struct Target {
  std::string_view name;  // also the folder of its seeds and regressions
  void (*run)(Input);
};
inline constexpr Target kTargets[] = {
    {"mdp", &mdp},
    {"broker", &broker},
    {"job_header", &job_header},
    {"hash_lists", &hash_lists},
    {"probe_image", &probe_image},
    {"hash_media", &hash_media},
    {"signals", &signals},
    {"serve_request", &serve_request},
};

// Silences the libraries' logging (spdlog, FFmpeg, OpenCV): hostile input
// makes them talk on every run, which slows fuzzing and hides reports.
void quiet_logs();

[[noreturn]] void invariant_broken(const char* condition, const char* file, int line);

// Reads a structured input front to back; past the end it yields zeros and
// empty spans, so a body never needs to check the length itself.
class ByteReader {
 public:
  explicit ByteReader(Input input) : rest_(input) {}
  bool empty() const { return rest_.empty(); }
  size_t left() const { return rest_.size(); }
  uint8_t byte() {
    if (rest_.empty()) return 0;
    const uint8_t b = rest_.front();
    rest_ = rest_.subspan(1);
    return b;
  }
  Input take(size_t n) {
    const Input out = rest_.first(std::min(n, rest_.size()));
    rest_ = rest_.subspan(out.size());
    return out;
  }
  std::string_view text(size_t n) {
    const Input t = take(n);
    return {reinterpret_cast<const char*>(t.data()), t.size()};
  }

 private:
  Input rest_;
};

}  // namespace frameprint::fuzz

#define FUZZ_CHECK(condition)                                                               \
  do {                                                                                      \
    if (!(condition)) ::frameprint::fuzz::invariant_broken(#condition, __FILE__, __LINE__); \
  } while (0)

#define FUZZ_FAIL(what) ::frameprint::fuzz::invariant_broken(what, __FILE__, __LINE__)

// In the fuzz build each target's .cpp becomes a fuzzer with this entry
// point; elsewhere (the regression test) it expands to nothing.
#ifdef FRAMEPRINT_LIBFUZZER
#define FRAMEPRINT_FUZZ_ENTRY(body)                                         \
  extern "C" int LLVMFuzzerInitialize(int*, char***) {                      \
    ::frameprint::fuzz::quiet_logs();                                       \
    return 0;                                                               \
  }                                                                         \
  extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { \
    body(::frameprint::fuzz::Input(data, size));                            \
    return 0;                                                               \
  }
#else
#define FRAMEPRINT_FUZZ_ENTRY(body)
#endif
