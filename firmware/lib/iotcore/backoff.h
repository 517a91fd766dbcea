// Reconnect backoff: exponential with full jitter from the first retry (a
// random wait between the floor and min(cap, base * 2^attempt)), reset only
// after a connection stayed up long enough to count as healthy, so a broker
// that accepts and then drops every connection is not hammered. The first
// retry is jittered too: after a mass disconnect (a broker restart, an
// access point rebooting) boards that waited a fixed first delay would all
// come back in the same instant.
#pragma once

#include <cstdint>

#include "random.h"

namespace iotcore {

struct BackoffPolicy {
  uint32_t floorMs = 250;   // never sooner
  uint32_t baseMs = 2000;   // the first retry's ceiling; doubles per attempt
  uint32_t capMs = 60000;   // the ceiling's limit
  uint32_t stableMs = 60000;
};

class Backoff {
 public:
  Backoff(const BackoffPolicy& policy, uint64_t seed) : p_(policy), rng_(seed) {}

  // NextDelay is the wait before the next connection attempt, uniform in
  // [floor, ceiling]; each call counts one failed attempt.
  uint32_t NextDelay();
  // Ceiling is the upper end of the next NextDelay's range.
  uint32_t Ceiling() const;
  // Connected and Disconnected mark the link going up and down; the attempt
  // count restarts if it stayed up for stableMs.
  void Connected(uint64_t nowMs);
  void Disconnected(uint64_t nowMs);

  uint32_t attempts() const { return attempts_; }

 private:
  BackoffPolicy p_;
  Random rng_;
  uint32_t attempts_ = 0;
  uint64_t upSince_ = 0;
  bool up_ = false;
};

}  // namespace iotcore
