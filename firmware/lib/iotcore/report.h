// The reported document (DESIGN.md, "What the device reports"), built with
// cJSON into a caller's bounded buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "state.h"

namespace iotcore {

// Vitals are read from the hardware for each report. The heap figures are
// bytes; one the platform does not have is reported as null, never as a
// made-up number. The ESP32 has the first three (its heap's free bytes, the
// lowest that ever was since boot, the largest block one malloc can get);
// fw-host has none of them (Linux has no fixed heap) but has heapUsed, the
// bytes its process holds, which shows a leak just as well.
struct Vitals {
  double temp = 0;
  int rssi = 0;
  std::optional<uint32_t> heapFree, heapMinFree, heapLargestBlock;
  std::optional<uint64_t> heapUsed;  // reported only when known
};

// Counters of one report beside the state and vitals.
struct Counters {
  uint64_t seq = 0;
  uint64_t uptimeS = 0;
  uint32_t dropped = 0;       // messages lost since boot (Stats::dropped)
  uint32_t getUnanswered = 0; // connections in a row whose get went unanswered
};

// Identity is fixed for one boot.
struct Identity {
  const char* fw = "";
  const char* resetReason = "";
};

// BuildReport writes one shadow update into buf:
//   {"state":{"reported":{temp, seq, uptime_s, interval_s, led, setpoint,
//    rssi, heap_free, heap_min_free, heap_largest_block[, heap_used], fw,
//    reset_reason, dropped, get_unanswered[, ignored]}[, "desired":{corrections}]}}
// applied (may be null) adds the desired corrections for refused values and
// unknown keys. It returns the length written (without the NUL), or 0 when
// the document does not fit in cap bytes even without the ignored keys.
size_t BuildReport(const State& state, const Vitals& vitals, const Identity& id, const Counters& c,
                   const Applied* applied, char* buf, size_t cap);

}  // namespace iotcore
