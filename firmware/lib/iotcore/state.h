// The device's controllable state and the rules for changing it from the
// shadow's desired section (DESIGN.md, "What the device reports").
#pragma once

#include <cstddef>
#include <cstdint>

#include "json.h"

namespace iotcore {

constexpr int kMinIntervalS = 1;
constexpr int kMaxIntervalS = 3600;
constexpr double kMinSetpoint = -40;
constexpr double kMaxSetpoint = 125;

struct State {
  bool led = false;
  double setpoint = 21;
  int intervalS = 10;
};

// Unknown desired keys are reported back (and removed from desired) by name;
// a delta naming more of them, or longer ones, only has the first few listed.
constexpr size_t kMaxIgnored = 8;
constexpr size_t kMaxKeyLen = 64;

// Applied is what one desired section did to the state.
struct Applied {
  // Refused known keys: desired is corrected to the value in use, so the
  // delta clears instead of being re-sent forever.
  bool refusedLed = false;
  bool refusedSetpoint = false;
  bool refusedInterval = false;
  bool changedLed = false;
  bool changedInterval = false;
  char ignored[kMaxIgnored][kMaxKeyLen + 1] = {};
  size_t ignoredCount = 0;  // listed in ignored
  size_t ignoredTotal = 0;  // every unknown key, listed or not

  bool anyRefused() const { return refusedLed || refusedSetpoint || refusedInterval; }
};

// Apply applies the keys of a desired object (a delta's state, or the
// desired section of get/accepted) to state with the firmware's validation:
// led must be a bool, setpoint a number in -40..125, interval_s an integer
// in 1..3600. Wrong types and out-of-range values leave the state as it is.
// A desired that is not an object applies nothing.
Applied Apply(const cJSON* desired, State& state);

}  // namespace iotcore
