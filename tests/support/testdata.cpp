#include "tests/support/testdata.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace frameprint::testing {

std::filesystem::path testdata_dir() {
  // FRAMEPRINT_TESTDATA overrides the configured place (e.g. test data
  // carried to the GPU machine beside the bundle).
  const char* env = std::getenv("FRAMEPRINT_TESTDATA");
  std::filesystem::path p = env && *env ? env : FRAMEPRINT_TESTDATA_DIR;
  if (std::filesystem::exists(p / "README.md")) return std::filesystem::canonical(p);
  return {};
}

static std::vector<std::string> split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(line);
  std::string field;
  while (std::getline(ss, field, sep)) out.push_back(field);
  if (!line.empty() && line.back() == sep) out.emplace_back();
  return out;
}

std::vector<std::map<std::string, std::string>> read_csv(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::string line;
  std::getline(in, line);
  const auto header = split(line, ',');
  std::vector<std::map<std::string, std::string>> rows;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto fields = split(line, ',');
    if (fields.size() != header.size())
      throw std::runtime_error("bad CSV line in " + path.string());
    std::map<std::string, std::string> row;
    for (size_t i = 0; i < header.size(); ++i) row[header[i]] = fields[i];
    rows.push_back(std::move(row));
  }
  return rows;
}

Hash256 hash_from_hex(const std::string& hex) {
  auto h = Hash256::from_hex(hex);
  EXPECT_TRUE(h.has_value()) << "bad hex: " << hex;
  return h.value_or(Hash256{});
}

std::vector<VpdqLine> read_vpdq_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  std::vector<VpdqLine> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto f = split(line, ',');
    if (f.size() != 4) throw std::runtime_error("bad vPDQ line in " + path.string());
    out.push_back({std::stoi(f[0]), std::stoi(f[1]), hash_from_hex(f[2]), std::stod(f[3])});
  }
  return out;
}

void Tolerance::add(const Hash256& a, int quality_a, const Hash256& b, int quality_b) {
  if (quality_a < 80 || quality_b < 80) return;
  const int d = hamming_distance(a, b);
  total_ += d;
  worst_ = std::max(worst_, d);
  ++compared_;
}

void Tolerance::check() const {
  ASSERT_GT(compared_, 0) << "no pair with quality >= 80 on both sides";
  EXPECT_LE(worst_, 10);
  EXPECT_LE(static_cast<double>(total_) / compared_, 2.0)
      << "mean distance over " << compared_ << " pairs";
}

}  // namespace frameprint::testing
