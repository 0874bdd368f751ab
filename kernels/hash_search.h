// One list's hashes, searched on the CPU (multi-index hashing) or, once moved
// there, on a GPU (a brute-force scan of device memory). The hits are the
// same either way: every entry within the threshold, each once.
#pragma once

#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "kernels/hash_index.h"

namespace frameprint::pdq {

class GpuHashList;

class HashSearch {
 public:
  HashSearch() = default;
  explicit HashSearch(std::vector<Hash256> hashes) : cpu_(std::move(hashes)) {}

  size_t size() const { return cpu_.size(); }
  const std::vector<Hash256>& hashes() const { return cpu_.hashes(); }

  // Searches on CUDA device `device` from now on. False, with the reason in
  // `why`, when the list cannot go there (no device, no memory): the CPU
  // index stays in use.
  bool use_gpu(int device, std::string* why);
  bool on_gpu() const { return gpu_ != nullptr; }

  // hits[q] receives every entry within `threshold` of queries[q], each
  // once, in no particular order. Safe to call from several threads.
  void search(std::span<const Hash256> queries, int threshold,
              std::vector<std::vector<HashHit>>& hits) const;
  // One query; appends to `out`.
  void search(const Hash256& query, int threshold, std::vector<HashHit>& out) const;
  // hits[q] receives MultiIndex::search_seeds()'s entries for queries[q]
  // (on the GPU: the scan's hits that share a chunk with the query).
  void search_seeds(std::span<const Hash256> queries, int threshold,
                    std::vector<std::vector<HashHit>>& hits) const;

 private:
  struct Gpu;
  MultiIndex cpu_;
  std::shared_ptr<Gpu> gpu_;  // the device list and the lock its buffers need
};

}  // namespace frameprint::pdq
