// PDQ list search on one core: multi-index hashing vs a linear scan, list of
// 1,000,000 hashes, threshold 31. Queries are random hashes, a tenth of them
// near-duplicates (distance 10..31) of list entries.
//   build/bin/frameprint_bench_match
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "kernels/hash_index.h"

namespace {

using namespace frameprint;
using namespace frameprint::pdq;

struct Data {
  std::vector<Hash256> list;
  std::vector<Hash256> queries;
};

Hash256 random_hash(std::mt19937_64& rng) {
  Hash256 h;
  for (auto& w : h.words) w = rng();
  return h;
}

const Data& data() {
  static const Data d = [] {
    Data x;
    std::mt19937_64 rng(42);
    x.list.reserve(1'000'000);
    for (int i = 0; i < 1'000'000; ++i) x.list.push_back(random_hash(rng));
    for (int i = 0; i < 10'000; ++i) {
      if (i % 10 == 0) {
        Hash256 q = x.list[rng() % x.list.size()];
        const int flips = 10 + static_cast<int>(rng() % 22);
        for (int f = 0; f < flips; ++f) {
          const auto bit = rng() % 256;
          q.words[bit >> 6] ^= uint64_t{1} << (bit & 63);
        }
        x.queries.push_back(q);
      } else {
        x.queries.push_back(random_hash(rng));
      }
    }
    return x;
  }();
  return d;
}

void BM_MultiIndexSearch(benchmark::State& state) {
  const Data& d = data();
  static const MultiIndex index(d.list);
  std::vector<HashHit> hits;
  size_t i = 0, found = 0;
  for (auto _ : state) {
    hits.clear();
    index.search(d.queries[i++ % d.queries.size()], 31, hits);
    found += hits.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hits_per_query"] =
      static_cast<double>(found) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_MultiIndexSearch)->Unit(benchmark::kMicrosecond)->MinTime(3.0);

void BM_LinearSearch(benchmark::State& state) {
  const Data& d = data();
  std::vector<HashHit> hits;
  size_t i = 0, found = 0;
  for (auto _ : state) {
    hits.clear();
    linear_search(d.list, d.queries[i++ % d.queries.size()], 31, hits);
    found += hits.size();
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hits_per_query"] =
      static_cast<double>(found) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_LinearSearch)->Unit(benchmark::kMicrosecond)->MinTime(3.0);

}  // namespace

BENCHMARK_MAIN();
