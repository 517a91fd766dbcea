// What the ESP32 glue files share: the uptime clock and the serial log.
// Each file connects one part of the board to lib/iotcore: config_store
// (NVS and the credential check), portal (the configuration page), network
// (Wi-Fi and time), main (MQTT, the core, the watchdog).
#pragma once

#include <cstdint>

namespace board {

uint64_t UptimeMs();
void Logf(const char* format, ...) __attribute__((format(printf, 1, 2)));

}  // namespace board
