#include "kernels/hash_search.h"

#include <exception>

#include "kernels/hash_search_cuda.h"

namespace frameprint::pdq {

struct HashSearch::Gpu {
  std::unique_ptr<GpuHashList> list;
  std::mutex mu;  // a GpuHashList keeps per-search buffers
};

bool HashSearch::use_gpu(int device, std::string* why) {
  try {
    auto gpu = std::make_shared<Gpu>();
    gpu->list = make_gpu_hash_list(cpu_.hashes(), device);
    gpu_ = std::move(gpu);
    return true;
  } catch (const std::exception& e) {
    if (why) *why = e.what();
    return false;
  }
}

void HashSearch::search(std::span<const Hash256> queries, int threshold,
                        std::vector<std::vector<HashHit>>& hits) const {
  if (gpu_) {
    std::lock_guard lock(gpu_->mu);
    gpu_->list->search(queries, threshold, hits);
    return;
  }
  hits.assign(queries.size(), {});
  for (size_t q = 0; q < queries.size(); ++q) cpu_.search(queries[q], threshold, hits[q]);
}

void HashSearch::search_seeds(std::span<const Hash256> queries, int threshold,
                              std::vector<std::vector<HashHit>>& hits) const {
  if (gpu_) {
    // The scan finds every hit; keep the seeds, so that the CPU and the GPU
    // choose the same candidates.
    search(queries, threshold, hits);
    for (size_t q = 0; q < queries.size(); ++q)
      std::erase_if(hits[q], [&](const HashHit& h) {
        const Hash256& e = cpu_.hashes()[h.entry];
        for (int c = 0; c < MultiIndex::kChunks; ++c)
          if (hash_chunk(e, c) == hash_chunk(queries[q], c)) return false;
        return true;
      });
    return;
  }
  hits.assign(queries.size(), {});
  for (size_t q = 0; q < queries.size(); ++q) cpu_.search_seeds(queries[q], threshold, hits[q]);
}

void HashSearch::search(const Hash256& query, int threshold, std::vector<HashHit>& out) const {
  if (!gpu_) {
    cpu_.search(query, threshold, out);
    return;
  }
  std::vector<std::vector<HashHit>> hits;
  search(std::span(&query, 1), threshold, hits);
  out.insert(out.end(), hits[0].begin(), hits[0].end());
}

}  // namespace frameprint::pdq
