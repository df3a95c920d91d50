// Counter-based randomness of the end-to-end demo: every random value is a pure function of
// its coordinates (seed, step, layer, rank, token, ...), so every rank can regenerate any
// other rank's traffic or any expert's weights, and re-runs are identical.
#pragma once

#include <cstdint>
#include <initializer_list>

namespace eplb::e2e {

inline uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Hash of a tuple of coordinates.
inline uint64_t hash_of(std::initializer_list<uint64_t> parts) {
  uint64_t h = 0x243f6a8885a308d3ULL;
  for (const uint64_t part : parts) {
    h = splitmix64(h ^ part);
  }
  return h;
}

// Uniform in [0, 1) with 53 random bits.
inline double unit_double(uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

// Uniform in [0, 1) with 24 random bits (exact in a float).
inline float unit_float(uint64_t h) { return static_cast<float>(h >> 40) * 0x1.0p-24f; }

}  // namespace eplb::e2e
