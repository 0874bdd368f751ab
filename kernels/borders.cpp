#include "kernels/borders.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <vector>

namespace frameprint::pdq {

namespace {

// At most this many samples are read along a row or column.
constexpr int kSamplesPerLine = 256;
// Lines skipped at a time inside a band.
constexpr int kStride = 8;

class LineJudge {
 public:
  LineJudge(const LumaPlane& p, const BorderRules& r) : p_(p), r_(r) {
    if (p.type == SampleType::kU16) scale_ = 255.0f / static_cast<float>((1 << p.bit_depth) - 1);
    values_.reserve(kSamplesPerLine);
  }

  // The line's median when at least `share` of its samples lie near it.
  std::optional<float> row(int y, int x0, int x1, double share) {
    values_.clear();
    const int step = std::max(1, (x1 - x0) / kSamplesPerLine);
    for (int x = x0; x < x1; x += step) values_.push_back(at(x, y));
    return flat(share);
  }
  std::optional<float> column(int x, int y0, int y1, double share) {
    values_.clear();
    const int step = std::max(1, (y1 - y0) / kSamplesPerLine);
    for (int y = y0; y < y1; y += step) values_.push_back(at(x, y));
    return flat(share);
  }

 private:
  float at(int x, int y) const {
    switch (p_.type) {
      case SampleType::kU8: return static_cast<float>(p_.row<uint8_t>(y)[x]);
      case SampleType::kU16: return static_cast<float>(p_.row<uint16_t>(y)[x]) * scale_;
      case SampleType::kF32: return p_.row<float>(y)[x];
    }
    return 0;
  }
  std::optional<float> flat(double share) {
    if (values_.empty()) return std::nullopt;
    auto mid = values_.begin() + static_cast<std::ptrdiff_t>(values_.size() / 2);
    std::nth_element(values_.begin(), mid, values_.end());
    const float median = *mid;
    const auto near = std::count_if(values_.begin(), values_.end(), [&](float v) {
      return std::fabs(v - median) <= static_cast<float>(r_.tolerance);
    });
    if (static_cast<double>(near) < share * static_cast<double>(values_.size()))
      return std::nullopt;
    return median;
  }

  const LumaPlane& p_;
  const BorderRules& r_;
  float scale_ = 1.0f;
  std::vector<float> values_;
};

// Lines of a border, walked from one edge inward: flat lines of one colour.
// A second colour may follow only a band thinner than bar_share of the side
// (a status bar, then the screenshot's surround); a picture whose content
// is itself flat (a wall, a sky) is not eaten into. With `bars`, lines near
// the edge need only be bar_flat_share flat (a status bar's clock and icons).
// `line(i, share)` judges the i-th line from the edge; `done` is what an
// earlier walk found. Returns how many lines from the edge are border.
struct Walked {
  int lines = 0;
  float colour = 0;  // of the innermost band
};
Walked walk(const Walked& done, int limit, int side, bool bars, const BorderRules& r,
            const std::function<std::optional<float>(int, double)>& line) {
  const double bar_lines = r.bar_share * side;
  int i = done.lines;
  int bands = done.lines > 0 ? 1 : 0;
  float colour = done.colour;
  while (i < limit) {
    std::optional<float> m = line(i, r.flat_share);
    if (!m && bars && bands <= 1 && i < bar_lines) {
      m = line(i, r.bar_flat_share);
      if (m && bands == 1 && std::fabs(*m - colour) > static_cast<float>(r.tolerance)) m.reset();
    }
    if (!m) break;
    // A band keeps the colour of its first line: a gradient is not a border.
    if (bands == 0 || std::fabs(*m - colour) > static_cast<float>(r.tolerance)) {
      if (bands >= 2 || (bands == 1 && i > bar_lines)) break;
      ++bands;
      colour = *m;
    }
    ++i;
    // Inside a band, stride: the lines between two flat lines of the
    // band's colour are taken to be the band's (bands are wide; judging
    // each line of a flat picture walked through would cost milliseconds).
    while (i + kStride < limit) {
      const auto ahead = line(i + kStride, r.flat_share);
      if (!ahead || std::fabs(*ahead - colour) > static_cast<float>(r.tolerance)) break;
      i += kStride;
    }
  }
  return {i, colour};
}

// Padding is centred: both ends of an axis carry bands of one colour, of
// about one thickness (a status bar may add up to bar_share to one end).
// A flat wall or sky walked into from one side is not.
bool symmetric(const Walked& a, const Walked& b, int side, const BorderRules& r) {
  if (a.lines == 0 && b.lines == 0) return true;
  if (a.lines == 0 || b.lines == 0) return false;
  return std::abs(a.lines - b.lines) <= r.bar_share * side + 2 &&
         std::fabs(a.colour - b.colour) <= static_cast<float>(r.tolerance);
}

}  // namespace

std::optional<Rect> find_content(const LumaPlane& plane, const BorderRules& rules) {
  if (plane.location != MemoryLocation::kHost || plane.data == nullptr || plane.width <= 0 ||
      plane.height <= 0)
    return std::nullopt;
  LineJudge judge(plane, rules);
  const int w = plane.width, h = plane.height;
  Walked top, bottom, left, right;  // border lines at each edge
  const auto too_small = [&](int content, int side) {
    return content < rules.min_content_pixels ||
           static_cast<double>(content) < rules.min_content_share * side;
  };
  // One axis: walk in from both ends; walked through everything, or from
  // one end only, the content is flat that way (a wall, a sky), not bordered.
  const auto axis = [&](Walked& a, Walked& b, int side, bool bars, const auto& line) {
    a = walk(a, side - b.lines, side, bars, rules, [&](int i, double s) { return line(i, s); });
    b = walk(b, side - a.lines, side, bars, rules,
             [&](int i, double s) { return line(side - 1 - i, s); });
    if (too_small(side - a.lines - b.lines, side) || !symmetric(a, b, side, rules))
      a = b = Walked{};
  };
  // Twice: bars found on one axis change what the lines of the other cross
  // (a pillarboxed picture under a status bar, say). Status bars are looked
  // for on the second pass only, across the content's columns.
  for (int pass = 0; pass < 2; ++pass) {
    axis(top, bottom, h, pass == 1,
         [&](int y, double s) { return judge.row(y, left.lines, w - right.lines, s); });
    axis(left, right, w, false,
         [&](int x, double s) { return judge.column(x, top.lines, h - bottom.lines, s); });
  }
  const Rect r{left.lines, top.lines, w - left.lines - right.lines, h - top.lines - bottom.lines};
  if (too_small(r.width, w) || too_small(r.height, h)) return std::nullopt;
  const bool vertical = static_cast<double>(top.lines + bottom.lines) >= rules.min_border_share * h;
  const bool horizontal =
      static_cast<double>(left.lines + right.lines) >= rules.min_border_share * w;
  if (!vertical && !horizontal) return std::nullopt;
  return r;
}

LumaPlane crop(const LumaPlane& plane, const Rect& r) {
  LumaPlane out = plane;
  out.data = static_cast<const uint8_t*>(plane.data) + plane.pitch * r.y +
             static_cast<std::ptrdiff_t>(plane.sample_bytes()) * r.x;
  out.width = r.width;
  out.height = r.height;
  return out;
}

}  // namespace frameprint::pdq
