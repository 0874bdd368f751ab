// --device auto|cpu|cuda|cuda:N: which PDQ backend hashes. `auto` takes the
// first CUDA device when one is usable and the CPU otherwise, with a
// one-line notice either way; `cuda` insists (an error when unusable).
// The backend made here also decides where videos are decoded (its
// cuda_device(): NVDEC there, or the CPU): there is no second setting.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "kernels/pdq_backend.h"

namespace frameprint {

struct DeviceChoice {
  std::function<std::unique_ptr<pdq::PdqBackend>()> make;  // one backend per thread
  std::string name;                                        // "cpu" or "cuda:N"
  std::string notice;    // what to tell the user (empty for an explicit cpu)
  int cuda_device = -1;  // the device the backends run on, for list search; -1: the CPU
};

// Throws std::invalid_argument for a malformed value and std::runtime_error
// when CUDA is required but not usable.
DeviceChoice choose_device(const std::string& device);

}  // namespace frameprint
