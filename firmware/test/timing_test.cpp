#include <doctest/doctest.h>

#include <cstdio>

#include "../lib/iotcore/timing.h"

using namespace iotcore::timing;

// The arithmetic of issue 23 item 5, shown: fed only at the top of loop(),
// a slow link where every step still succeeds went past the 30 s watchdog;
// fed before each step, the longest gap is one step.
TEST_CASE("the watchdog is fed before each blocking step, so no gap reaches its timeout") {
  uint32_t loop = kMqttCommandMs + kSocketMs;     // read a packet, write a PINGREQ
  uint32_t publish = kSocketMs + kMqttCommandMs;  // write, then the PUBACK
  uint32_t before = loop + 2 * publish;           // loop(), then OnDropped's get and a report
  MESSAGE("fed once per loop(): " << before << " ms > watchdog " << kWatchdogMs << " ms");
  CHECK(before > kWatchdogMs);
  for (const Step& s : kSteps) {
    CAPTURE(s.what);
    CHECK(s.ms < kWatchdogMs);
  }
  MESSAGE("fed before each step: longest gap " << LongestStepMs() << " ms (DNS), watchdog "
                                               << kWatchdogMs << " ms");
  CHECK(LongestStepMs() == 21000);
}
