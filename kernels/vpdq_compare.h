// Video-to-video vPDQ comparison as the reference matcher defines it: frames
// below the quality threshold are dropped on both sides; a query frame is
// matched when some compared frame is within the distance threshold, and
// vice versa; each side's percentage is matched frames / kept frames.
#pragma once

#include <span>
#include <vector>

#include "kernels/hash256.h"

namespace frameprint::pdq {

struct VpdqFrame {
  Hash256 hash;
  int quality = 0;
  double ts = 0;
};

struct VpdqComparison {
  double query_pct = 0;
  double compared_pct = 0;
  // For each query frame (all of them, in order): matched or not. Frames
  // below the quality threshold are never matched.
  std::vector<bool> query_matched;
};

struct VpdqRules {
  int threshold = 31;    // a frame matches when the distance is <= threshold
  int min_quality = 50;  // frames below this are not compared
  // The reference compares every frame; with this set, repeated hashes on
  // a side count once (as python-threatexchange's matcher does).
  bool unique_frames = false;
};

VpdqComparison compare_videos(std::span<const VpdqFrame> query, std::span<const VpdqFrame> compared,
                              const VpdqRules& rules);

// Time ranges [t0, t1) of runs of consecutive matched query frames: from
// the first frame of a run to the frame after it (the last frame of the
// video stands for as long as the one before it), so no range is empty
// unless the query has a single frame.
std::vector<std::pair<double, double>> matched_segments(std::span<const VpdqFrame> query,
                                                        const std::vector<bool>& matched);

}  // namespace frameprint::pdq
