// Command-line options of fw-host, the firmware core as a Linux program.
#pragma once

#include <string>

#include "../lib/iotcore/backoff.h"
#include "../lib/iotcore/core.h"
#include "../lib/iotcore/timing.h"

namespace fwhost {

struct Options {
  std::string endpoint;
  int port = 8883;
  std::string thing;
  std::string shadow;
  std::string cert, key, ca;
  int intervalS = 10;
  int keepAliveS = 30;
  // The largest message the device takes; the ESP32 build's is smaller
  // (src/main.cpp), and the tests pass it to run at the board's limit.
  int maxPayload = static_cast<int>(iotcore::kMaxDocument);
  std::string alpn;  // e.g. x-amzn-mqtt-ca for AWS on port 443; empty: none
  // "system": the host's clock is set. "ntp-blocked": behave as a board whose
  // NTP servers never answer, so the build-time fallback is exercised.
  std::string clock = "system";
  int clockFallbackS = 30;  // how long ntp-blocked waits before the fallback
  // "drop": a message over maxPayload is dropped and the shadow fetched
  // again. "disconnect": the connection closes, as on the ESP32 when lwmqtt
  // cannot drain an oversized packet in time on a slow link.
  std::string oversize = "drop";
  // Test option: bytes held and never freed on every connect, to show that
  // soak's vitals trend FAILs a leaking device.
  int leakPerReconnect = 0;
  // The board's timings, shortened by tests (qualify's cases in make test):
  // the wait for a CONNACK, SUBACK or PUBACK before the connection is
  // closed, and the reconnect backoff (FLOOR:BASE:CAP in ms).
  int commandTimeoutMs = static_cast<int>(iotcore::timing::kMqttCommandMs);
  iotcore::BackoffPolicy backoff;
  std::string backoffText;
  bool help = false;
};

extern const char* const kUsage;

// Parse reads argv into opts; on a bad or missing flag it returns false and
// sets error to a sentence naming the flag and how to fix it.
bool Parse(int argc, const char* const* argv, Options* opts, std::string* error);

}  // namespace fwhost
