// The default FrameStager: host planes copied into host buffers that are
// reused from batch to batch.
#include <cstring>
#include <stdexcept>
#include <vector>

#include "kernels/pdq_backend.h"

namespace frameprint::pdq {

namespace {

class HostStager final : public FrameStager {
 public:
  LumaPlane stage(const LumaPlane& plane, std::shared_ptr<void>) override {
    if (plane.location != MemoryLocation::kHost)
      throw std::invalid_argument("FrameStager: this backend takes host planes only");
    if (used_ == buffers_.size()) buffers_.emplace_back();
    auto& copy = buffers_[used_++];
    const size_t row = plane.row_bytes();
    copy.resize(row * static_cast<size_t>(plane.height));
    for (int y = 0; y < plane.height; ++y)
      std::memcpy(copy.data() + row * static_cast<size_t>(y), plane.row<uint8_t>(y), row);
    LumaPlane out = plane;
    out.data = copy.data();
    out.pitch = static_cast<std::ptrdiff_t>(row);
    return out;
  }
  void reset() override { used_ = 0; }

 private:
  std::vector<std::vector<uint8_t>> buffers_;
  size_t used_ = 0;
};

}  // namespace

std::unique_ptr<FrameStager> make_host_stager() { return std::make_unique<HostStager>(); }

}  // namespace frameprint::pdq
