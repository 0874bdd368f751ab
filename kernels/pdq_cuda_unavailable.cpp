// Built when CUDA is disabled: the backend reports that it is not there.
#include <stdexcept>

#include "kernels/pdq_cuda.h"

namespace frameprint::pdq {

bool cuda_built() { return false; }

int cuda_device_count(std::string* why) {
  if (why)
    *why = "this build has no CUDA backend (configured with FRAMEPRINT_CUDA=OFF or without nvcc)";
  return 0;
}

std::unique_ptr<PdqBackend> make_cuda_backend(int) {
  throw std::runtime_error("this build has no CUDA backend");
}

}  // namespace frameprint::pdq

#include "kernels/hash_search_cuda.h"

namespace frameprint::pdq {

std::unique_ptr<GpuHashList> make_gpu_hash_list(std::span<const Hash256>, int) {
  throw std::runtime_error("this build has no CUDA backend");
}

}  // namespace frameprint::pdq
