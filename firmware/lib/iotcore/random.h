// A small deterministic generator (xorshift64*): the ESP32 seeds it from its
// hardware RNG, tests from a fixed seed so that failures repeat.
#pragma once

#include <cstdint>

namespace iotcore {

class Random {
 public:
  explicit Random(uint64_t seed) : s_(seed != 0 ? seed : 0x9e3779b97f4a7c15ULL) {}

  uint64_t Next() {
    s_ ^= s_ >> 12;
    s_ ^= s_ << 25;
    s_ ^= s_ >> 27;
    return s_ * 0x2545f4914f6cdd1dULL;
  }

  // Below returns a number in [0, n); n must be > 0.
  uint64_t Below(uint64_t n) { return Next() % n; }

  // Unit returns a number in [0, 1).
  double Unit() { return static_cast<double>(Next() >> 11) / 9007199254740992.0; }

 private:
  uint64_t s_;
};

}  // namespace iotcore
