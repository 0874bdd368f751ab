// Which decoded frames get hashed: with S seconds per hash, the first frame
// at or after each multiple of S (by timestamp, so variable frame rates are
// sampled correctly); S = 0 hashes every frame.
#pragma once

#include <cmath>

namespace frameprint {

class FrameSampler {
 public:
  explicit FrameSampler(double seconds_per_hash) : step_(seconds_per_hash) {}

  bool take(double ts) {
    if (step_ <= 0) return true;
    // Timestamps come from rational time bases; allow for rounding just
    // below a multiple (e.g. 0.9999999 for 1.0).
    constexpr double kSlack = 1e-6;
    if (ts + kSlack < next_) return false;
    next_ = (std::floor((ts + kSlack) / step_) + 1.0) * step_;
    return true;
  }

 private:
  double step_;
  double next_ = 0.0;
};

}  // namespace frameprint
