// Access to ../shared/testdata (the reference vectors) for tests.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "kernels/hash256.h"

namespace frameprint::testing {

// The test data directory, or empty when it is not present.
std::filesystem::path testdata_dir();

// Skips the current test (GTEST_SKIP) when the test data is absent.
#define FRAMEPRINT_REQUIRE_TESTDATA()                                         \
  do {                                                                        \
    if (::frameprint::testing::testdata_dir().empty())                        \
      GTEST_SKIP() << "reference test data (../shared/testdata) not present"; \
  } while (0)

// A CSV file as rows of named fields.
std::vector<std::map<std::string, std::string>> read_csv(const std::filesystem::path& path);

// One line of a vPDQ hash file: index,quality,pdq,timestamp.
struct VpdqLine {
  int index = 0;
  int quality = 0;
  Hash256 hash;
  double timestamp = 0;
};
std::vector<VpdqLine> read_vpdq_file(const std::filesystem::path& path);

Hash256 hash_from_hex(const std::string& hex);  // fails the test on bad hex

// The shared test data's tolerance for hashes of the same picture decoded
// differently (README): where both qualities are >= 80, every distance is
// at most 10 and the mean at most 2.
class Tolerance {
 public:
  void add(const Hash256& a, int quality_a, const Hash256& b, int quality_b);
  int compared() const { return compared_; }
  // Records failures (at least one pair must have been compared).
  void check() const;

 private:
  int compared_ = 0, total_ = 0, worst_ = 0;
};

}  // namespace frameprint::testing
