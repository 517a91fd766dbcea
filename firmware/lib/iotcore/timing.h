// The board's blocking steps, their bounds, and the task watchdog they must
// fit under (issue 23, item 5). src/main.cpp takes its timeouts from here,
// and feeds the watchdog before every step named below, so the longest time
// without a feed is the longest single step, not a sum of them. The
// arithmetic is checked at compile time and shown by test/timing_test.cpp.
#pragma once

#include <cstdint>

namespace iotcore {
namespace timing {

constexpr uint32_t kWatchdogMs = 30000;
constexpr uint32_t kMqttCommandMs = 5000;   // each wait for a CONNACK, SUBACK, PUBACK or packet
constexpr uint32_t kSocketMs = 10000;       // the TCP connect, and every socket write
constexpr uint32_t kTlsHandshakeMs = 10000;
// DNS is bounded by lwIP, not by us: 4 tries per server 1, 1, 2 and 3 s
// apart (dns.c: DNS_MAX_RETRIES 4, DNS_TMR_INTERVAL 1 s, the gap growing
// with the try), over at most 3 servers (ESP-IDF's LWIP_DNS_MAX_SERVERS).
constexpr uint32_t kDnsMs = 3 * (1 + 1 + 2 + 3) * 1000;

// Each step that blocks between two feeds of the watchdog.
struct Step {
  const char* what;
  uint32_t ms;
};
constexpr Step kSteps[] = {
    {"DNS lookup", kDnsMs},
    {"TCP connect", kSocketMs},
    {"TLS handshake", kTlsHandshakeMs},
    {"CONNECT written, CONNACK awaited", kSocketMs + kMqttCommandMs},
    {"one SUBSCRIBE written, its SUBACK awaited", kSocketMs + kMqttCommandMs},
    // mqtt.loop(): one packet read, then a keep-alive PINGREQ written.
    {"mqtt.loop()", kMqttCommandMs + kSocketMs},
    // Port::Publish feeds the watchdog first: a report or a get.
    {"one QoS 1 publish written, its PUBACK awaited", kSocketMs + kMqttCommandMs},
};

constexpr uint32_t LongestStepMs() {
  uint32_t longest = 0;
  for (const Step& s : kSteps) longest = s.ms > longest ? s.ms : longest;
  return longest;
}

// A third of the timeout is left for what is not a network wait (cJSON,
// the TLS certificate check, logging at 115200 baud).
static_assert(LongestStepMs() <= kWatchdogMs * 3 / 4, "a blocking step comes too close to the watchdog");

}  // namespace timing
}  // namespace iotcore
