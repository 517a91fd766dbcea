#include "ramp.h"

#include <cmath>

namespace iotcore {

double Ramp::At(uint64_t uptimeMs) {
  constexpr uint64_t kCycleMs = 600000;
  double phase = static_cast<double>(uptimeMs % kCycleMs) / kCycleMs;
  double t = 10 + 30 * phase + (rng_.Unit() - 0.5) * 0.4;
  return std::round(t * 100) / 100;
}

}  // namespace iotcore
