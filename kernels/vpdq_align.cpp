#include "kernels/vpdq_align.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>
#include <tuple>

#include "kernels/hash_index.h"

namespace frameprint::pdq {

namespace {

// The time each frame stands for: to the next frame's timestamp, at most
// `cap`; the last frame stands for the side's typical interval. Frames are
// visited in timestamp order whatever order they come in.
struct Timeline {
  std::vector<double> span;     // per frame (original index)
  std::vector<uint32_t> order;  // frame indices by timestamp
  double typical_gap = 1.0;     // median gap between frames (1 s for a single frame)
};

template <typename TsOf>
Timeline timeline(size_t n, TsOf&& ts_of) {
  Timeline t;
  t.order.resize(n);
  std::iota(t.order.begin(), t.order.end(), 0u);
  std::stable_sort(t.order.begin(), t.order.end(),
                   [&](uint32_t a, uint32_t b) { return ts_of(a) < ts_of(b); });
  std::vector<double> gaps;
  for (size_t k = 0; k + 1 < n; ++k) {
    const double g = ts_of(t.order[k + 1]) - ts_of(t.order[k]);
    if (g > 0) gaps.push_back(g);
  }
  if (!gaps.empty()) {
    auto mid = gaps.begin() + static_cast<std::ptrdiff_t>(gaps.size() / 2);
    std::nth_element(gaps.begin(), mid, gaps.end());
    t.typical_gap = *mid;
  }
  // One hashed frame stands for at most this long: a gap in the timeline
  // (a repaired stream, a hole in a list) is not evidence of anything.
  const double cap = std::max(2.0, 1.5 * t.typical_gap);
  t.span.assign(n, 0.0);
  for (size_t k = 0; k < n; ++k) {
    const double g = k + 1 < n ? ts_of(t.order[k + 1]) - ts_of(t.order[k]) : t.typical_gap;
    t.span[t.order[k]] = std::clamp(g, 0.0, cap);
  }
  return t;
}

using Interval = std::pair<double, double>;

std::vector<Interval> merged(std::vector<Interval> v) {
  std::sort(v.begin(), v.end());
  std::vector<Interval> out;
  for (const auto& iv : v) {
    if (iv.second <= iv.first) continue;
    if (!out.empty() && iv.first <= out.back().second)
      out.back().second = std::max(out.back().second, iv.second);
    else out.push_back(iv);
  }
  return out;
}

double measure(const std::vector<Interval>& v) {
  double s = 0;
  for (const auto& [a, b] : v) s += b - a;
  return s;
}

// Measure of the intersection of two merged interval lists.
double overlap(const std::vector<Interval>& a, const std::vector<Interval>& b) {
  double s = 0;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const double lo = std::max(a[i].first, b[j].first);
    const double hi = std::min(a[i].second, b[j].second);
    if (hi > lo) s += hi - lo;
    if (a[i].second < b[j].second) ++i;
    else ++j;
  }
  return s;
}

int best_distance(const QueryFrame& f, const Hash256& h, int min_quality, uint8_t* tag) {
  int best = 257;
  for (const auto& th : f.hashes) {
    if (th.quality < min_quality) continue;
    const int d = hamming_distance(th.hash, h);
    if (d < best) {
      best = d;
      if (tag) *tag = th.tag;
    }
  }
  return best;
}

}  // namespace

namespace {

// strict_pairs() through an index of the listed frames: the same pairs (the
// best of each query frame's hashes per listed frame, ties to the hash
// listed first) at a cost that grows with the pairs found instead of with
// the product of the two sides.
void check_pairs(size_t n, const AlignRules& rules) {
  if (rules.max_pairs && n > rules.max_pairs)
    throw std::length_error("more than " + std::to_string(rules.max_pairs) +
                            " frame pairs within the threshold");
}

std::vector<FramePair> indexed_pairs(std::span<const QueryFrame> query,
                                     std::span<const VpdqFrame> listed, const AlignRules& rules) {
  std::vector<Hash256> hashes;
  std::vector<uint32_t> frame_of;  // index entry -> listed frame
  for (uint32_t j = 0; j < listed.size(); ++j)
    if (listed[j].quality >= rules.min_quality) {
      hashes.push_back(listed[j].hash);
      frame_of.push_back(j);
    }
  const MultiIndex index(std::move(hashes));
  std::vector<FramePair> out;
  std::vector<HashHit> hits;
  for (uint32_t i = 0; i < query.size(); ++i) {
    if (query[i].quality < rules.min_quality) continue;
    const size_t first = out.size();
    for (const auto& th : query[i].hashes) {
      if (th.quality < rules.min_quality) continue;
      hits.clear();
      index.search(th.hash, rules.threshold, hits);
      for (const auto& h : hits) out.push_back({i, frame_of[h.entry], h.distance, th.tag, false});
      check_pairs(out.size(), rules);
    }
    // One pair per listed frame: the closest, the earlier hash on a tie.
    auto mine = out.begin() + static_cast<std::ptrdiff_t>(first);
    std::stable_sort(mine, out.end(), [](const FramePair& a, const FramePair& b) {
      return std::tie(a.listed, a.distance) < std::tie(b.listed, b.distance);
    });
    out.erase(
        std::unique(mine, out.end(),
                    [](const FramePair& a, const FramePair& b) { return a.listed == b.listed; }),
        out.end());
  }
  return out;
}

std::vector<FramePair> brute_force_pairs(std::span<const QueryFrame> query,
                                         std::span<const VpdqFrame> listed,
                                         const AlignRules& rules) {
  std::vector<FramePair> out;
  for (uint32_t i = 0; i < query.size(); ++i) {
    if (query[i].quality < rules.min_quality) continue;
    for (uint32_t j = 0; j < listed.size(); ++j) {
      if (listed[j].quality < rules.min_quality) continue;
      uint8_t tag = 0;
      const int d = best_distance(query[i], listed[j].hash, rules.min_quality, &tag);
      if (d <= rules.threshold) out.push_back({i, j, d, tag, false});
    }
    check_pairs(out.size(), rules);
  }
  return out;
}

size_t hash_count(std::span<const QueryFrame> query) {
  size_t n = 0;
  for (const auto& f : query) n += f.hashes.size();
  return n;
}

// Past a few million distances an index is cheaper (long videos hashed
// every frame: 30,000 frames a side would be 10^9 distances).
constexpr size_t kIndexPast = size_t{1} << 22;

}  // namespace

QueryPairs::QueryPairs(std::span<const QueryFrame> query, const AlignRules& rules)
    : query_(query), rules_(rules) {
  for (uint32_t i = 0; i < query.size(); ++i) {
    if (query[i].quality < rules.min_quality) continue;
    for (size_t k = 0; k < query[i].hashes.size(); ++k)
      if (query[i].hashes[k].quality >= rules.min_quality)
        owner_.push_back({i, static_cast<uint32_t>(k)});
  }
  // An index costs a few megabytes to build: worth it for many hashes.
  if (owner_.size() >= kIndexFrom && rules.threshold < 64) {
    std::vector<Hash256> hashes;
    hashes.reserve(owner_.size());
    for (const auto& [i, k] : owner_) hashes.push_back(query[i].hashes[k].hash);
    index_ = std::make_shared<const MultiIndex>(std::move(hashes));
  }
}

std::vector<FramePair> QueryPairs::with(std::span<const VpdqFrame> listed) const {
  if (!index_ || owner_.size() * listed.size() <= kBruteForceUpTo)
    return brute_force_pairs(query_, listed, rules_);
  struct Hit {
    uint32_t query, listed;
    int distance;
    uint32_t hash;  // position among the query frame's hashes
  };
  std::vector<Hit> found;
  std::vector<HashHit> hits;
  for (uint32_t j = 0; j < listed.size(); ++j) {
    if (listed[j].quality < rules_.min_quality) continue;
    hits.clear();
    index_->search(listed[j].hash, rules_.threshold, hits);
    for (const auto& h : hits)
      found.push_back({owner_[h.entry].first, j, h.distance, owner_[h.entry].second});
    check_pairs(found.size(), rules_);
  }
  // One pair per (query frame, listed frame): the closest hash, the earlier
  // one on a tie; in query order.
  std::sort(found.begin(), found.end(), [](const Hit& a, const Hit& b) {
    return std::tie(a.query, a.listed, a.distance, a.hash) <
           std::tie(b.query, b.listed, b.distance, b.hash);
  });
  std::vector<FramePair> out;
  for (const Hit& h : found)
    if (out.empty() || out.back().query != h.query || out.back().listed != h.listed)
      out.push_back({h.query, h.listed, h.distance, query_[h.query].hashes[h.hash].tag, false});
  return out;
}

std::vector<FramePair> strict_pairs(std::span<const QueryFrame> query,
                                    std::span<const VpdqFrame> listed, const AlignRules& rules) {
  const size_t q = hash_count(query);
  if (q * listed.size() <= kIndexPast || rules.threshold >= 64)
    return brute_force_pairs(query, listed, rules);
  // Index the larger side, search it with the smaller one.
  if (listed.size() >= q) return indexed_pairs(query, listed, rules);
  return QueryPairs(query, rules).with(listed);
}

VideoAlignment align_videos(std::span<const QueryFrame> query, std::span<const VpdqFrame> listed,
                            std::vector<FramePair> pairs, const AlignRules& rules) {
  VideoAlignment a;
  const Timeline qt = timeline(query.size(), [&](uint32_t i) { return query[i].ts; });
  const Timeline lt = timeline(listed.size(), [&](uint32_t j) { return listed[j].ts; });

  // Usable time on each side: what frames of usable quality stand for.
  std::vector<Interval> q_kept, l_kept;
  for (uint32_t i = 0; i < query.size(); ++i)
    if (query[i].quality >= rules.min_quality)
      q_kept.push_back({query[i].ts, query[i].ts + qt.span[i]});
  for (uint32_t j = 0; j < listed.size(); ++j)
    if (listed[j].quality >= rules.min_quality)
      l_kept.push_back({listed[j].ts, listed[j].ts + lt.span[j]});
  q_kept = merged(std::move(q_kept));
  l_kept = merged(std::move(l_kept));
  a.query_seconds = measure(q_kept);
  a.listed_seconds = measure(l_kept);

  // Pairs, one per (query, listed) frame, the best hash of the query frame.
  const int loosest = std::max(rules.threshold, rules.relaxed_threshold);
  std::erase_if(pairs, [&](const FramePair& p) {
    return p.query >= query.size() || p.listed >= listed.size() ||
           query[p.query].quality < rules.min_quality ||
           listed[p.listed].quality < rules.min_quality || p.distance > loosest;
  });
  std::sort(pairs.begin(), pairs.end(), [](const FramePair& x, const FramePair& y) {
    return std::tie(x.query, x.listed, x.distance) < std::tie(y.query, y.listed, y.distance);
  });
  pairs.erase(std::unique(pairs.begin(), pairs.end(),
                          [](const FramePair& x, const FramePair& y) {
                            return x.query == y.query && x.listed == y.listed;
                          }),
              pairs.end());

  // Loose pairs (beyond the threshold, within the relaxed one) stand only
  // as runs: each needs pairs of two other query frames near it in time
  // at a consistent offset (an overlay keeps every frame ~40 bits off, so a
  // copy may have no strict pair at all; unrelated footage has no such run).
  {
    std::vector<FramePair> loose, kept;
    for (const auto& p : pairs) (p.distance > rules.threshold ? loose : kept).push_back(p);
    // A still scene gives a query frame loose pairs with many listed
    // frames: the few closest of each query frame are enough to find runs,
    // and keep this bounded.
    constexpr size_t kLoosePerFrame = 4;
    std::stable_sort(loose.begin(), loose.end(), [](const FramePair& x, const FramePair& y) {
      return std::tie(x.query, x.distance) < std::tie(y.query, y.distance);
    });
    {
      std::vector<FramePair> fewer;
      for (size_t k = 0; k < loose.size(); ++k)
        if (k < kLoosePerFrame || loose[k - kLoosePerFrame].query != loose[k].query)
          fewer.push_back(loose[k]);
      loose = std::move(fewer);
    }
    if (!loose.empty()) {
      auto offset = [&](const FramePair& p) { return listed[p.listed].ts - query[p.query].ts; };
      // The others: one pair per query frame (its best) is enough to vouch.
      std::vector<FramePair> all = kept;
      all.insert(all.end(), loose.begin(), loose.end());
      std::stable_sort(all.begin(), all.end(), [](const FramePair& x, const FramePair& y) {
        return std::tie(x.query, x.distance) < std::tie(y.query, y.distance);
      });
      all.erase(
          std::unique(all.begin(), all.end(),
                      [](const FramePair& x, const FramePair& y) { return x.query == y.query; }),
          all.end());
      for (auto& p : loose) {
        std::vector<uint32_t> others;
        const double t = query[p.query].ts;
        for (const auto& o : all) {
          const double dt = std::fabs(query[o.query].ts - t);
          if (o.query == p.query || dt > 2 * rules.max_gap_s) continue;
          if (std::fabs(offset(o) - offset(p)) <= 0.5 + 0.25 * dt) others.push_back(o.query);
        }
        std::sort(others.begin(), others.end());
        if (std::unique(others.begin(), others.end()) - others.begin() >= 2) {
          p.relaxed = true;
          kept.push_back(p);
        }
      }
      pairs = std::move(kept);
    }
  }

  // Frames in line with matched neighbours: for each usable query frame
  // without a pair, the listed time its neighbours' offsets predict, and the
  // listed frames around it, compared with the hash the neighbours matched by.
  if (rules.relaxed_threshold > rules.threshold && !pairs.empty() && !listed.empty()) {
    // anchor[i]: the best pair of query frame i (index into `pairs`), or -1.
    std::vector<int64_t> anchor(query.size(), -1);
    auto best_of = [&](int64_t k, int64_t cur) {
      return cur < 0 || pairs[static_cast<size_t>(k)].distance <
                            pairs[static_cast<size_t>(cur)].distance
                 ? k
                 : cur;
    };
    for (size_t k = 0; k < pairs.size(); ++k)
      anchor[pairs[k].query] = best_of(static_cast<int64_t>(k), anchor[pairs[k].query]);
    std::vector<double> listed_ts_sorted;  // by lt.order
    for (uint32_t j : lt.order) listed_ts_sorted.push_back(listed[j].ts);
    const double window = lt.typical_gap + 0.3;

    auto try_frame = [&](uint32_t i, double predicted, uint8_t tag) {
      const auto lo =
          std::lower_bound(listed_ts_sorted.begin(), listed_ts_sorted.end(), predicted - window);
      int best = 257;
      uint32_t best_j = 0;
      for (auto it = lo; it != listed_ts_sorted.end() && *it <= predicted + window; ++it) {
        const uint32_t j = lt.order[static_cast<size_t>(it - listed_ts_sorted.begin())];
        if (listed[j].quality < rules.min_quality) continue;
        for (const auto& th : query[i].hashes) {
          if (th.tag != tag || th.quality < rules.min_quality) continue;
          const int d = hamming_distance(th.hash, listed[j].hash);
          if (d < best) {
            best = d;
            best_j = j;
          }
        }
      }
      if (best > rules.relaxed_threshold) return;
      pairs.push_back({i, best_j, best, tag, true});
      anchor[i] = static_cast<int64_t>(pairs.size() - 1);
    };
    auto offset_of = [&](int64_t k) {
      const FramePair& p = pairs[static_cast<size_t>(k)];
      return listed[p.listed].ts - query[p.query].ts;
    };

    // Two sweeps each way: a frame accepted becomes a neighbour at once.
    for (int round = 0; round < 2; ++round) {
      for (int dir = 0; dir < 2; ++dir) {
        // The nearest anchored frame on the far side, as it stands before the sweep.
        std::vector<int64_t> ahead(query.size(), -1);
        int64_t seen = -1;
        for (size_t s = 0; s < qt.order.size(); ++s) {
          const size_t k = dir == 0 ? qt.order.size() - 1 - s : s;
          const uint32_t i = qt.order[k];
          ahead[i] = seen;
          if (anchor[i] >= 0) seen = i;
        }
        int64_t behind = -1;
        for (size_t s = 0; s < qt.order.size(); ++s) {
          const size_t k = dir == 0 ? s : qt.order.size() - 1 - s;
          const uint32_t i = qt.order[k];
          if (anchor[i] >= 0) {
            behind = i;
            continue;
          }
          if (query[i].quality < rules.min_quality) continue;
          const double t = query[i].ts;
          const bool near_b = behind >= 0 && std::fabs(t - query[behind].ts) <= rules.max_gap_s;
          const bool near_a = ahead[i] >= 0 && std::fabs(query[ahead[i]].ts - t) <= rules.max_gap_s;
          if (!near_b && !near_a) continue;
          double predicted;
          uint8_t tag;
          if (near_b && near_a) {
            const int64_t kb = anchor[behind], ka = anchor[ahead[i]];
            const double tb = query[behind].ts, ta = query[ahead[i]].ts;
            const double ob = offset_of(kb), oa = offset_of(ka);
            const double w = ta != tb ? (t - tb) / (ta - tb) : 0.5;
            // Offsets that disagree by more than speed drift allows: the nearer neighbour.
            if (std::fabs(oa - ob) <= 1.0 + 0.5 * std::fabs(ta - tb)) {
              predicted = t + ob + (oa - ob) * w;
              tag =
                  pairs[static_cast<size_t>(kb)].distance <= pairs[static_cast<size_t>(ka)].distance
                      ? pairs[static_cast<size_t>(kb)].tag
                      : pairs[static_cast<size_t>(ka)].tag;
            } else {
              const int64_t kn = std::fabs(t - tb) <= std::fabs(ta - t) ? kb : ka;
              predicted = t + offset_of(kn);
              tag = pairs[static_cast<size_t>(kn)].tag;
            }
          } else {
            const int64_t kn = near_b ? anchor[behind] : anchor[ahead[i]];
            predicted = t + offset_of(kn);
            tag = pairs[static_cast<size_t>(kn)].tag;
          }
          try_frame(i, predicted, tag);
          if (anchor[i] >= 0) behind = i;
        }
      }
    }
  }

  // Coverage: each pair covers, on each side, its frame's time and the
  // time its counterpart stands for.
  std::vector<Interval> q_cov, l_cov;
  for (const auto& p : pairs) {
    const double len = std::max(qt.span[p.query], lt.span[p.listed]);
    q_cov.push_back({query[p.query].ts, query[p.query].ts + len});
    l_cov.push_back({listed[p.listed].ts, listed[p.listed].ts + len});
  }
  a.query_matched_s = overlap(merged(q_cov), q_kept);
  a.listed_matched_s = overlap(merged(l_cov), l_kept);

  // Segments: runs of pairs whose query times follow on (gaps up to
  // max_gap_s are bridged), with the listed times they cover.
  std::sort(pairs.begin(), pairs.end(), [&](const FramePair& x, const FramePair& y) {
    return std::tie(query[x.query].ts, listed[x.listed].ts) <
           std::tie(query[y.query].ts, listed[y.listed].ts);
  });
  std::vector<uint32_t> seen_query;
  std::vector<std::pair<size_t, size_t>> runs;  // [first, last) pairs of each segment
  for (size_t k = 0; k < pairs.size(); ++k) {
    const FramePair& p = pairs[k];
    const double len = std::max(qt.span[p.query], lt.span[p.listed]);
    const double q0 = query[p.query].ts;
    if (a.segments.empty() || q0 > a.segments.back().query_end + rules.max_gap_s) {
      a.segments.push_back({q0, q0 + len, 0, 0, 0, 256});
      runs.push_back({k, k});
    }
    Segment& seg = a.segments.back();
    seg.query_end = std::max(seg.query_end, q0 + len);
    ++seg.pairs;
    seg.best_distance = std::min(seg.best_distance, p.distance);
    runs.back().second = k + 1;
    seen_query.push_back(p.query);
  }
  // The listed times a segment covers: its ends carried over by the offset
  // of the pairs near each end (the median: in a still scene one query
  // frame matches listed frames seconds apart; speed changes move the
  // offset along the segment).
  for (size_t r = 0; r < runs.size(); ++r) {
    Segment& seg = a.segments[r];
    auto offset_near = [&](double t) {
      std::vector<double> offs;
      for (size_t k = runs[r].first; k < runs[r].second; ++k)
        if (std::fabs(query[pairs[k].query].ts - t) <= 1.0)
          offs.push_back(listed[pairs[k].listed].ts - query[pairs[k].query].ts);
      auto mid = offs.begin() + static_cast<std::ptrdiff_t>(offs.size() / 2);
      std::nth_element(offs.begin(), mid, offs.end());
      return *mid;
    };
    const double first = query[pairs[runs[r].first].query].ts;
    const double last = query[pairs[runs[r].second - 1].query].ts;
    seg.listed_start = std::max(0.0, seg.query_start + offset_near(first));
    seg.listed_end = std::max(seg.listed_start, seg.query_end + offset_near(last));
  }
  // Segment ends no further than the side's usable time.
  const double q_end = q_kept.empty() ? 0 : q_kept.back().second;
  const double l_end = l_kept.empty() ? 0 : l_kept.back().second;
  for (auto& s : a.segments) {
    s.query_end = std::min(s.query_end, std::max(q_end, s.query_start));
    s.listed_end = std::min(s.listed_end, std::max(l_end, s.listed_start));
  }
  std::sort(seen_query.begin(), seen_query.end());
  a.query_frames_matched =
      static_cast<int>(std::unique(seen_query.begin(), seen_query.end()) - seen_query.begin());
  a.pairs = std::move(pairs);
  return a;
}

}  // namespace frameprint::pdq
