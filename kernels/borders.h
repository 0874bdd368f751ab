// Borders around a picture's content: letterbox and pillarbox bars, padding
// to another aspect ratio, white frames, the flat surround and status bar
// of a screenshot. A query hashed without them can match a listed hash made
// from the content alone; what a listed hash means never changes.
#pragma once

#include <optional>

#include "kernels/luma_plane.h"

namespace frameprint::pdq {

// A rectangle of a plane, in the plane's stored coordinates.
struct Rect {
  int x = 0;
  int y = 0;
  int width = 0;
  int height = 0;
  friend bool operator==(const Rect&, const Rect&) = default;
};

struct BorderRules {
  // A row (or column) is border when at least this share of its samples is
  // within `tolerance` (on the 0..255 scale) of the line's median: flat bars
  // pass, and so do bars carrying a little text or a few icons.
  // Padding is flatter than any wall or sky a camera records.
  double flat_share = 0.9;
  int tolerance = 6;
  // Near the edge (a status or navigation bar: a clock, icons) less of the
  // line need be flat.
  double bar_share = 0.08;  // of the side, from each edge
  double bar_flat_share = 0.6;
  // Borders thinner than this share of the picture's side (both ends
  // together) are ignored: compression and scaling leave such edges.
  double min_border_share = 0.03;
  // Content narrower or lower than this share of the side is not content
  // (a dark scene, a flat picture): no borders are reported.
  double min_content_share = 0.2;
  int min_content_pixels = 32;
};

// The content rectangle inside uniform borders, or nullopt when there are
// no borders worth removing (or the plane is flat, or not in host memory).
std::optional<Rect> find_content(const LumaPlane& plane, const BorderRules& rules = {});

// The view of `plane` limited to `r` (no copy).
LumaPlane crop(const LumaPlane& plane, const Rect& r);

}  // namespace frameprint::pdq
