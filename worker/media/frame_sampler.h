// Which decoded frames get hashed: with S seconds per hash, the first frame
// at or after each multiple of S (by timestamp, so variable frame rates are
// sampled correctly); S = 0 hashes every frame. SkipPlanner reaches back
// into the decoder so that frames the sampler cannot take are not decoded.
#pragma once

#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>

namespace frameprint {

class FrameSampler {
 public:
  // Timestamps come from rational time bases; allow for rounding just below
  // a multiple (e.g. 0.9999999 for 1.0).
  static constexpr double kSlack = 1e-6;

  explicit FrameSampler(double seconds_per_hash) : step_(seconds_per_hash) {}

  bool take(double ts) {
    if (step_ <= 0) return true;
    if (ts + kSlack < next_) return false;
    next_ = (bucket(ts) + 1.0) * step_;
    return true;
  }
  // The sampling interval a timestamp falls in: the sampler takes at most
  // the first frame of each.
  double bucket(double ts) const { return std::floor((ts + kSlack) / step_); }

 private:
  double step_;
  double next_ = 0.0;
};

// The timeline frames are sampled and reported by: a frame's own timestamp
// when the stream's timestamps are sane, and otherwise one frame interval
// after the previous frame. Timestamps that are missing, repeated, going
// backwards or jumping absurdly far (past the stream's duration, or by
// more than kMaxGap) would otherwise let a few frames stand for a whole
// video (an uploader's way to make a known video go unmatched): every frame
// that decodes is hashed, in decode order, on a repaired timeline.
class TimestampGuard {
 public:
  static constexpr double kMaxGap = 300.0;  // seconds between two frames

  // fps: the stream's average rate (0: unknown, 30 is assumed);
  // duration_s: the container's (0: unknown).
  TimestampGuard(double fps, double duration_s)
      : interval_(fps > 0 && fps < 1000 ? 1.0 / fps : 1.0 / 30), duration_(duration_s) {}

  double operator()(std::optional<double> raw) {
    const bool sane = raw && std::isfinite(*raw) && *raw >= 0 &&
                      (!have_prev_ || (*raw > prev_ && *raw - prev_ <= kMaxGap)) &&
                      (duration_ <= 0 || *raw <= duration_ + 10.0);
    const double ts = sane ? *raw : (have_prev_ ? prev_ + interval_ : 0.0);
    if (!sane) ++repaired_;
    have_prev_ = true;
    prev_ = ts;
    return ts;
  }
  int64_t repaired() const { return repaired_; }

 private:
  double interval_;
  double duration_;
  double prev_ = 0;
  bool have_prev_ = false;
  int64_t repaired_ = 0;
};

// Decides, packet by packet before decoding, which frames the sampler may
// take, so that the others can be skipped when no frame depends on them
// (FFmpeg's skip_frame = AVDISCARD_NONREF: the decoder still decodes every
// reference frame). In presentation order the sampler takes the earliest
// frame of each interval, so a frame may be taken only if no other known
// frame of its interval is earlier. A frame decided "may be taken" that
// turns out not to be (an earlier one of its interval arrived later) is
// only decoded in vain; the earliest frame of each interval is always
// decoded. Timestamps that break the premise (missing or repeated) turn
// skipping off for the rest of the stream.
//
// It also keeps frame indices counting every frame of the stream: the index
// of an output frame is the frames output before it plus the skipped frames
// earlier than it.
class SkipPlanner {
 public:
  explicit SkipPlanner(double seconds_per_hash)
      : sampler_(seconds_per_hash), on_(seconds_per_hash > 0) {}

  bool active() const { return on_; }

  // A packet entered the look-ahead window (ts: its presentation time in
  // seconds from the stream's start; nullopt when it has none).
  void saw(std::optional<double> ts) {
    if (!on_) return;
    // No timestamp, two frames at one time, a packet more than a second
    // before the latest (further than B-frame reordering goes) or an absurd
    // jump: the timeline will be repaired (TimestampGuard), so decode all.
    if (!ts || seen_.count(*ts) || (have_max_ && *ts < max_ - 1.0) ||
        (have_max_ && *ts > max_ + TimestampGuard::kMaxGap) || *ts < 0) {
      on_ = false;
      return;
    }
    max_ = have_max_ ? std::max(max_, *ts) : *ts;
    have_max_ = true;
    seen_.insert({*ts, 0});
    auto [it, fresh] = earliest_.emplace(sampler_.bucket(*ts), *ts);
    if (!fresh && *ts < it->second) it->second = *ts;
    // Keep the bookkeeping bounded: intervals and times far behind.
    while (earliest_.size() > 4096) earliest_.erase(earliest_.begin());
    while (seen_.size() > 4096) seen_.erase(seen_.begin());
  }

  // Whether the frame of a packet (already passed to saw()) may be taken by
  // the sampler, so that it must be decoded even if nothing refers to it.
  bool may_be_taken(std::optional<double> ts) const {
    if (!on_ || !ts) return true;
    if (*ts + FrameSampler::kSlack < 0) return false;  // before the start: never taken
    const auto it = earliest_.find(sampler_.bucket(*ts));
    return it == earliest_.end() || it->second >= *ts;
  }

  // The packet at `ts` was sent with skipping allowed (its frame may not
  // come out of the decoder).
  void skip_requested(double ts) {
    skipped_.insert(ts);
    asked_ = true;
  }

  // The index of the next output frame, at `ts` (frames come out in
  // presentation order).
  int64_t index_of(double ts) {
    // A frame the decoder did not skip after all (a reference frame) comes
    // out: it is counted as output, not as skipped.
    if (const auto it = skipped_.find(ts); it != skipped_.end()) skipped_.erase(it);
    while (!skipped_.empty() && *skipped_.begin() < ts) {
      skipped_.erase(skipped_.begin());
      ++skipped_before_;
    }
    return output_++ + skipped_before_;
  }

  // Whether any frame was sent with skipping allowed.
  bool skipped_any() const { return asked_; }

  // Frames of the stream so far: output, and skipped.
  int64_t frames() const {
    return output_ + skipped_before_ + static_cast<int64_t>(skipped_.size());
  }

 private:
  FrameSampler sampler_;  // for its intervals only
  bool on_;
  double max_ = 0;
  bool have_max_ = false;
  std::map<double, double> earliest_;  // interval -> earliest timestamp known in it
  std::map<double, int> seen_;         // recent timestamps (repeats turn skipping off)
  std::multiset<double> skipped_;      // asked to skip and not (yet) seen come out
  int64_t output_ = 0;
  int64_t skipped_before_ = 0;
  bool asked_ = false;
};

}  // namespace frameprint
