#include <optional>
#include <stdexcept>
#include <vector>

#include "kernels/jarosz.h"
#include "kernels/pdq_backend.h"
#include "kernels/separable_downsample.h"

namespace frameprint::pdq {

namespace {

class CpuBackend final : public PdqBackend {
 public:
  void hash(std::span<const HashRequest> requests, std::span<PdqResult> out) override {
    if (requests.size() != out.size())
      throw std::invalid_argument("PdqBackend::hash: requests and results differ in size");
    for (size_t i = 0; i < requests.size(); ++i) out[i] = hash_request(requests[i]);
  }
  std::string_view name() const override { return "cpu"; }

 private:
  PdqResult hash_request(const HashRequest& r) {
    const LumaPlane& p = r.plane;
    if (p.location != MemoryLocation::kHost)
      throw std::invalid_argument("cpu backend: plane is in device memory");
    if (p.width < kMinHashableDim || p.height < kMinHashableDim) {
      PdqResult zero;
      zero.has_dihedral = r.want_dihedral;
      return zero;
    }
    return r.downsampler == Downsampler::kReference ? reference(r) : separable(r);
  }

  PdqResult reference(const HashRequest& r) {
    const LumaPlane& p = r.plane;
    if (p.type != SampleType::kF32)
      throw std::invalid_argument("cpu backend: the reference downsampler needs float luma");
    if (r.orientation != Orientation{})
      throw std::invalid_argument("cpu backend: the reference downsampler takes upright planes");
    const auto n = static_cast<size_t>(p.width) * static_cast<size_t>(p.height);
    luma_.resize(n);
    work_.resize(n);
    for (int y = 0; y < p.height; ++y) {
      const float* src = p.row<float>(y);
      std::copy(src, src + p.width, luma_.begin() + static_cast<long>(y) * p.width);
    }
    return hash_float_luma_reference(luma_, work_, p.height, p.width, r.want_dihedral);
  }

  PdqResult separable(const HashRequest& r) {
    const LumaPlane& p = r.plane;
    if (!plan_ || plan_->stored_width != p.width || plan_->stored_height != p.height ||
        plan_->orientation != r.orientation)
      plan_.emplace(p.width, p.height, r.orientation);
    separable_downsample(p, *plan_, grid_, scratch_);
    return finish_from_grid(grid_, r.want_dihedral);
  }

  std::optional<DownsamplePlan> plan_;  // frames of a video share one
  std::vector<float> scratch_, luma_, work_;
  Grid64 grid_{};
};

}  // namespace

std::unique_ptr<PdqBackend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

}  // namespace frameprint::pdq
