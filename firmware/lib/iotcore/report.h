// The reported document (DESIGN.md, "What the device reports"), built with
// cJSON into a caller's bounded buffer.
#pragma once

#include <cstddef>
#include <cstdint>

#include "state.h"

namespace iotcore {

// Vitals are read from the hardware for each report.
struct Vitals {
  double temp = 0;
  int rssi = 0;
  uint32_t heapFree = 0;
};

// Identity is fixed for one boot.
struct Identity {
  const char* fw = "";
  const char* resetReason = "";
};

// BuildReport writes one shadow update into buf:
//   {"state":{"reported":{temp, seq, uptime_s, interval_s, led, setpoint,
//    rssi, heap_free, fw, reset_reason, dropped[, ignored]}[, "desired":{corrections}]}}
// dropped counts the messages lost since boot (Stats::dropped).
// applied (may be null) adds the desired corrections for refused values and
// unknown keys. It returns the length written (without the NUL), or 0 when
// the document does not fit in cap bytes even without the ignored keys.
size_t BuildReport(const State& state, const Vitals& vitals, const Identity& id, uint64_t seq,
                   uint64_t uptimeS, uint32_t dropped, const Applied* applied, char* buf,
                   size_t cap);

}  // namespace iotcore
