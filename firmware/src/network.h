// Wi-Fi and the clock: joining and re-joining the station, SNTP and the
// build-time fallback.
#pragma once

#include <cstdint>

#include "../lib/iotcore/config.h"

namespace board {

// StartWifi joins config's network (which must outlive the board's run)
// and starts SNTP; seed spreads the re-join delays.
void StartWifi(const iotcore::Config* config, uint64_t seed);
// MaintainWifi reports whether the station has an IP address.
bool MaintainWifi(uint64_t now);
// ClockUsable is whether TLS may go ahead; call it once Wi-Fi is up.
bool ClockUsable(uint64_t now);

}  // namespace board
