// Video-to-video evidence measured in time: which stretches of a query
// video and of a listed video show the same frames, whatever rate either
// side was hashed at. Each hashed frame stands for the time to the next
// one; a pair of matching frames covers, on each side, that frame's time
// and the time its counterpart stands for, so a video hashed every frame
// and one hashed once a second cover each other alike. Frames that line up
// in time with matched neighbours (same offset, speed allowed to drift)
// are accepted somewhat beyond the distance threshold. The decision
// (full, partial, contains) is a policy over this, in worker/matching.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "kernels/hash256.h"
#include "kernels/hash_index.h"
#include "kernels/vpdq_compare.h"

namespace frameprint::pdq {

// One of a query frame's hashes: its plain hash or a variant (a dihedral
// transform, the content without borders). Tags are VariantTag values.
struct TaggedHash {
  Hash256 hash;
  uint8_t tag = 0;
  int quality = 100;  // this hash's own (the content without borders has its own)
};

// tag = dihedral index (0..7, kOriginal = 0) | kUnpaddedBit.
inline constexpr uint8_t kUnpaddedBit = 8;

struct QueryFrame {
  double ts = 0;
  int quality = 0;                     // the best of its hashes': the frame is usable when this is
  std::span<const TaggedHash> hashes;  // [0] is the plain hash
};

struct FramePair {
  uint32_t query = 0;   // index into the query's frames
  uint32_t listed = 0;  // index into the listed video's frames
  int distance = 0;
  uint8_t tag = 0;       // which of the query frame's hashes matched
  bool relaxed = false;  // accepted beyond the threshold, in line with its neighbours
};

struct AlignRules {
  int threshold = 31;  // a pair on its own: distance <= threshold
  int min_quality = 50;
  // A frame in line with matched neighbours (offset predicted from them,
  // within a frame interval): distance <= relaxed_threshold. <= threshold
  // turns this off.
  int relaxed_threshold = 44;
  // Matched frames further apart than this (query seconds) do not vouch
  // for the frames between them.
  double max_gap_s = 3.0;
  // Most frame pairs strict_pairs() may find (0: no bound); past it it
  // throws std::length_error rather than grow (two long runs of one
  // static frame pair every frame with every other).
  size_t max_pairs = 0;
};

struct Segment {
  double query_start = 0, query_end = 0;    // seconds of the query
  double listed_start = 0, listed_end = 0;  // seconds of the listed video
  int pairs = 0;                            // frame pairs inside
  int best_distance = 256;
};

struct VideoAlignment {
  double query_seconds = 0;   // time the query's usable frames stand for
  double listed_seconds = 0;  // the same for the listed video
  double query_matched_s = 0;
  double listed_matched_s = 0;
  std::vector<Segment> segments;  // in query order
  std::vector<FramePair> pairs;   // strict and relaxed, by query frame
  int query_frames_matched = 0;   // distinct query frames in pairs

  double query_pct() const {
    return query_seconds > 0 ? 100.0 * query_matched_s / query_seconds : 0;
  }
  double listed_pct() const {
    return listed_seconds > 0 ? 100.0 * listed_matched_s / listed_seconds : 0;
  }
};

// Every (query frame, listed frame) within the threshold, both of usable
// quality, with the best of the query frame's hashes (the first of them
// on a tie), in query order: by brute force for small inputs, through an
// index of the listed frames past a few million distances.
std::vector<FramePair> strict_pairs(std::span<const QueryFrame> query,
                                    std::span<const VpdqFrame> listed, const AlignRules& rules);

// strict_pairs() of one query with many listed videos (a matcher's
// candidates): a long query's usable hashes are indexed once, so that each
// listed video costs a search per listed frame instead of a distance per
// pair of hashes. Keeps `query` by reference.
class QueryPairs {
 public:
  QueryPairs(std::span<const QueryFrame> query, const AlignRules& rules);
  std::vector<FramePair> with(std::span<const VpdqFrame> listed) const;  // == strict_pairs()

  static constexpr size_t kIndexFrom = 2048;           // query hashes
  static constexpr size_t kBruteForceUpTo = 1u << 16;  // distances per listed video

 private:
  std::span<const QueryFrame> query_;
  AlignRules rules_;
  std::vector<std::pair<uint32_t, uint32_t>> owner_;  // usable hash -> (frame, position)
  std::shared_ptr<const MultiIndex> index_;
};

// `pairs` are the strict pairs (strict_pairs() or an index search: any
// order, duplicates allowed), and may hold loose ones (distance up to
// relaxed_threshold): those count only in runs of three query frames at a
// consistent offset.
VideoAlignment align_videos(std::span<const QueryFrame> query, std::span<const VpdqFrame> listed,
                            std::vector<FramePair> pairs, const AlignRules& rules);

}  // namespace frameprint::pdq
