// Compiles the shared PDQ math as device code, so a change that breaks it for
// nvcc fails the build on any machine with the CUDA toolkit, GPU or not.
#include "kernels/pdq_math.h"

namespace frameprint::pdq {

__global__ void pdq_math_device_check(const uint8_t* rgb, float* out, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const float luma = luma_from_rgb(rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]);
  const LumaScale s = luma_scale(8, false);
  const CoefficientSource c = dihedral_source(Dihedral::kRotate90, i & 15, (i >> 4) & 15);
  out[i] = apply_luma_scale(luma, s) * c.sign +
           static_cast<float>(quality_gradient(luma, 0.0f) + jarosz_window_size(n) +
                              decimate_index(i & 63, n) + box_extent(7).left);
}

}  // namespace frameprint::pdq
