// Majordomo frames cut from fuzz input, for the mdp and broker targets.
#pragma once

#include "ipc/mdp.h"
#include "tests/fuzz/fuzz_targets.h"

namespace frameprint::fuzz {

// Frames as [length][bytes] pairs: a length byte of 0..254 takes that many
// bytes (fewer at the end), 255 takes the rest of the input. Any split of
// the bytes into frames can be written so, and short inputs give many frames.
inline mdp::Message read_frames(ByteReader& in, size_t max_frames) {
  mdp::Message frames;
  while (!in.empty() && frames.size() < max_frames) {
    const uint8_t n = in.byte();
    frames.push_back(mdp::frame_of(in.text(n == 255 ? in.left() : n)));
  }
  return frames;
}

inline bool same_frames(const mdp::Message& a, const mdp::Message& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (mdp::to_string(a[i]) != mdp::to_string(b[i])) return false;
  return true;
}

}  // namespace frameprint::fuzz
