// The simulator's only source of randomness: xoshiro256** seeded through splitmix64.
// Every random choice of a run flows from the one 64-bit seed, so a seed replays exactly.
// No std::random_device, no std::uniform_*_distribution (their output differs between
// standard libraries), no clocks.
#pragma once

#include <cstdint>

#include "common/assert.h"

namespace kv::sim {

// splitmix64: turns any 64-bit value (a seed, a seed plus a salt) into a well-mixed one.
inline std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Probabilities are integers in parts per million: exact, and identical on every platform.
inline constexpr std::uint32_t kPpmOne = 1'000'000;

class Rng {
 public:
  explicit Rng(std::uint64_t seed) {
    std::uint64_t sm = seed;
    for (auto& word : state_) word = splitmix64(sm);
  }

  std::uint64_t next() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, n). The modulo bias (< n / 2^64) is irrelevant for a simulator.
  std::uint64_t below(std::uint64_t n) {
    KV_ASSERT(n > 0);
    return next() % n;
  }

  // Uniform in [lo, hi], both inclusive.
  std::uint64_t between(std::uint64_t lo, std::uint64_t hi) {
    KV_ASSERT(lo <= hi);
    KV_ASSERT(hi - lo < UINT64_MAX);
    return lo + below(hi - lo + 1);
  }

  // True with probability ppm / 1,000,000.
  bool chance(std::uint32_t ppm) { return below(kPpmOne) < ppm; }

  // An independent stream for one purpose, so that adding draws in one place does not
  // shift every other random choice of the run.
  Rng fork(std::uint64_t salt) { return Rng(next() ^ (salt * 0x9e3779b97f4a7c15ULL)); }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

  std::uint64_t state_[4] = {};
};

}  // namespace kv::sim
