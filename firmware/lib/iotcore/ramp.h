// The seed article's stand-in sensor: a slow 10 → 40 °C ramp (one cycle
// every ten minutes) plus a little noise, rounded to 0.01 °C; the same
// curve as iotwatch's device simulator.
#pragma once

#include <cstdint>

#include "random.h"

namespace iotcore {

class Ramp {
 public:
  explicit Ramp(uint64_t seed) : rng_(seed) {}
  double At(uint64_t uptimeMs);

 private:
  Random rng_;
};

}  // namespace iotcore
