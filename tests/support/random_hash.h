// A random 256-bit hash for tests that need unrelated hashes (about 128 bits
// from any other), drawn from the test's own seeded generator.
#pragma once

#include <random>

#include "kernels/hash256.h"

namespace frameprint::testing {

inline Hash256 random_hash(std::mt19937_64& rng) {
  Hash256 h;
  for (auto& w : h.words) w = rng();
  return h;
}

}  // namespace frameprint::testing
