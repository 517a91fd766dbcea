// The configuration page on the board's own access point.
#pragma once

#include "../lib/iotcore/config.h"

namespace board {

// RunConfigPortal serves the page for current until a valid configuration
// is saved, then restarts the board.
[[noreturn]] void RunConfigPortal(const iotcore::Config& current, const char* reason);

}  // namespace board
