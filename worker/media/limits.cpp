#include "worker/media/limits.h"

#include <algorithm>
#include <string>

#include "worker/media/media_error.h"

namespace frameprint {

void check_picture_size(int64_t w, int64_t h, int64_t max_pixels, std::string_view what) {
  if (w * h > max_pixels || w > kMaxDimension || h > kMaxDimension)
    throw MediaError(ErrorCode::kTooLarge,
                     std::string(what) + " " + std::to_string(w) + "x" + std::to_string(h) +
                         " pixels, more than the limit of " + std::to_string(max_pixels) +
                         " (--max-pixels) or " + std::to_string(kMaxDimension) + " on a side");
}

Deadline::Deadline(double seconds) : seconds_(seconds) {
  // At most a year, so the deadline cannot overflow the clock.
  const auto budget = std::chrono::duration<double>(std::clamp(seconds, 0.0, 3.2e7));
  end_ = std::chrono::steady_clock::now() +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(budget);
}

void Deadline::check() const {
  if (expired())
    throw MediaError(ErrorCode::kTimeout, "decoding took longer than the limit of " +
                                              std::to_string(seconds_) + " s (--max-seconds)");
}

}  // namespace frameprint
