// The configuration page on the board's own access point.
#pragma once

#include "../lib/iotcore/config.h"

namespace board {

// RunConfigPortal serves the page for current until a valid configuration
// is saved, then restarts the board. Left idle for 10 minutes it restarts
// into current if that is valid, else into the last configuration that
// reached the broker (lib/iotcore/portal_rules.h); with neither it waits on.
[[noreturn]] void RunConfigPortal(const iotcore::Config& current, const char* reason);

}  // namespace board
