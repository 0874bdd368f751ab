// Brute-force Hamming search on the GPU: the list lives in device memory and
// batches of queries are compared against every entry (issue: 10M entries,
// 10,000 queries a batch). Same hits as linear_search / MultiIndex.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "kernels/hash_index.h"

namespace frameprint::pdq {

class GpuHashList {
 public:
  virtual ~GpuHashList() = default;
  virtual size_t size() const = 0;
  // hits[q] receives every entry within `threshold` of queries[q], in no
  // particular order.
  virtual void search(std::span<const Hash256> queries, int threshold,
                      std::vector<std::vector<HashHit>>& hits) = 0;
};

// Throws std::runtime_error when CUDA is not usable (see cuda_device_count).
std::unique_ptr<GpuHashList> make_gpu_hash_list(std::span<const Hash256> list, int device);

}  // namespace frameprint::pdq
