// What the ESP32 glue files share: the uptime clock, the serial log and
// random numbers. Each file connects one part of the board to lib/iotcore:
// config_store (NVS and the credential check), portal (the configuration
// page), network (Wi-Fi and time), main (MQTT, the core, the watchdog).
#pragma once

#include <cstdint>

namespace board {

uint64_t UptimeMs();
void Logf(const char* format, ...) __attribute__((format(printf, 1, 2)));
// Random64 is 64 bits from the hardware RNG, true random even before the
// radio is on (see main.cpp).
uint64_t Random64();

}  // namespace board
