// The CUDA PDQ backend: hashes batches of luma planes (in host or device
// memory, e.g. NVDEC surfaces) with the separable downsampler, the DCT,
// quality and bits in two kernels per batch. Built when CUDA is enabled;
// otherwise these report that no device is usable.
#pragma once

#include <memory>
#include <string>

#include "kernels/pdq_backend.h"

namespace frameprint::pdq {

// Whether this build has the CUDA backend at all.
bool cuda_built();

// Usable CUDA devices: 0 without the backend, without a driver or without a
// device. `why` (if given) receives the reason when it is 0.
int cuda_device_count(std::string* why = nullptr);

// A backend on device `device`. Throws std::runtime_error when it cannot be
// used. Requests for the reference downsampler are hashed with the
// separable one (within the tolerance the tests check, not bit-exact).
std::unique_ptr<PdqBackend> make_cuda_backend(int device);

}  // namespace frameprint::pdq
