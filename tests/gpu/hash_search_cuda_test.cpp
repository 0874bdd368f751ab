// GPU brute-force search returns exactly what the CPU's linear scan does.
#include "kernels/hash_search_cuda.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "kernels/pdq_cuda.h"

namespace frameprint::pdq {
namespace {

TEST(GpuHashList, SameHitsAsTheLinearScan) {
  std::string why;
  if (cuda_device_count(&why) == 0) GTEST_SKIP() << "no CUDA device: " << why;
  std::mt19937_64 rng(11);
  auto random_hash = [&] {
    Hash256 h;
    for (auto& w : h.words) w = rng();
    return h;
  };
  std::vector<Hash256> queries(300), list;
  for (auto& q : queries) q = random_hash();
  for (int i = 0; i < 200000; ++i) list.push_back(random_hash());
  for (const auto& q : queries)
    for (int d : {0, 30, 31, 32, 40}) {
      Hash256 h = q;
      for (int k = 0; k < d; ++k) h.words[static_cast<size_t>(k % 4)] ^= uint64_t{1} << (k / 4 + 3);
      list.push_back(h);
    }
  auto gpu = make_gpu_hash_list(list, 0);
  std::vector<std::vector<HashHit>> hits;
  for (int threshold : {0, 31, 64}) {
    gpu->search(queries, threshold, hits);
    ASSERT_EQ(hits.size(), queries.size());
    for (size_t i = 0; i < queries.size(); ++i) {
      std::vector<HashHit> cpu;
      linear_search(list, queries[i], threshold, cpu);
      std::set<std::pair<uint32_t, int>> a, b;
      for (const auto& h : cpu) a.insert({h.entry, h.distance});
      for (const auto& h : hits[i]) b.insert({h.entry, h.distance});
      ASSERT_EQ(a, b) << "query " << i << " threshold " << threshold;
    }
  }
}

TEST(GpuHashList, WithoutADeviceItSaysWhy) {
  std::string why;
  if (cuda_device_count(&why) > 0) GTEST_SKIP() << "a CUDA device is present";
  EXPECT_THROW(make_gpu_hash_list({}, 0), std::runtime_error);
}

}  // namespace
}  // namespace frameprint::pdq
