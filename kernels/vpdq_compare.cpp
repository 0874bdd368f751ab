#include "kernels/vpdq_compare.h"

#include <algorithm>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "kernels/hash_index.h"

namespace frameprint::pdq {

namespace {

struct HashKey {
  size_t operator()(const Hash256& h) const {
    return static_cast<size_t>(h.words[0] ^ (h.words[2] * 31));
  }
};

// Indices of the frames that take part: quality high enough and, with
// unique_frames, the first occurrence of each hash.
std::vector<size_t> kept(std::span<const VpdqFrame> frames, const VpdqRules& r) {
  std::vector<size_t> out;
  std::unordered_set<Hash256, HashKey> seen;
  for (size_t i = 0; i < frames.size(); ++i) {
    if (frames[i].quality < r.min_quality) continue;
    if (r.unique_frames && !seen.insert(frames[i].hash).second) continue;
    out.push_back(i);
  }
  return out;
}

// Past this many distances the distinct hashes of `to` are indexed (exact
// up to threshold 63: hash_index.h), each distinct hash of `from` searched
// once: long videos, and long static scenes, cost what their distinct
// hashes and matches cost instead of the product of their lengths.
constexpr size_t kIndexPast = size_t{1} << 22;

// How many of `from` have some frame of `to` within the threshold; marks them.
size_t count_matched(std::span<const VpdqFrame> from, const std::vector<size_t>& from_kept,
                     std::span<const VpdqFrame> to, const std::vector<size_t>& to_kept,
                     int threshold, std::vector<bool>* marks) {
  std::optional<MultiIndex> index;
  std::unordered_map<Hash256, bool, HashKey> answered;  // per distinct hash of `from`
  if (from_kept.size() * to_kept.size() > kIndexPast && threshold <= 63) {
    std::unordered_set<Hash256, HashKey> distinct;
    std::vector<Hash256> hashes;
    for (size_t j : to_kept)
      if (distinct.insert(to[j].hash).second) hashes.push_back(to[j].hash);
    index.emplace(std::move(hashes));
  }
  std::vector<HashHit> hits;
  size_t n = 0;
  for (size_t i : from_kept) {
    bool hit = false;
    if (index) {
      const auto [known, fresh] = answered.try_emplace(from[i].hash, false);
      if (fresh) {
        hits.clear();
        index->search(from[i].hash, threshold, hits);
        known->second = !hits.empty();
      }
      hit = known->second;
    } else {
      hit = std::any_of(to_kept.begin(), to_kept.end(), [&](size_t j) {
        return hamming_distance(from[i].hash, to[j].hash) <= threshold;
      });
    }
    if (hit) {
      ++n;
      if (marks) (*marks)[i] = true;
    }
  }
  return n;
}

}  // namespace

VpdqComparison compare_videos(std::span<const VpdqFrame> query, std::span<const VpdqFrame> compared,
                              const VpdqRules& rules) {
  VpdqComparison c;
  c.query_matched.assign(query.size(), false);
  const auto qk = kept(query, rules);
  const auto ck = kept(compared, rules);
  if (qk.empty() || ck.empty()) return c;
  const size_t qm = count_matched(query, qk, compared, ck, rules.threshold, &c.query_matched);
  const size_t cm = count_matched(compared, ck, query, qk, rules.threshold, nullptr);
  c.query_pct = static_cast<double>(qm) * 100.0 / static_cast<double>(qk.size());
  c.compared_pct = static_cast<double>(cm) * 100.0 / static_cast<double>(ck.size());
  return c;
}

std::vector<std::pair<double, double>> matched_segments(std::span<const VpdqFrame> query,
                                                        const std::vector<bool>& matched) {
  // A frame stands for its time until the next frame; the last one for as
  // long as the frame before it did.
  const size_t n = std::min(query.size(), matched.size());
  auto end_of = [&](size_t i) {
    if (i + 1 < query.size()) return std::max(query[i].ts, query[i + 1].ts);
    if (i > 0) return query[i].ts + std::max(0.0, query[i].ts - query[i - 1].ts);
    return query[i].ts;
  };
  std::vector<std::pair<double, double>> out;
  bool open = false;
  for (size_t i = 0; i < n; ++i) {
    if (matched[i]) {
      if (!open) out.push_back({query[i].ts, query[i].ts});
      out.back().second = end_of(i);
      open = true;
    } else {
      open = false;
    }
  }
  return out;
}

}  // namespace frameprint::pdq
