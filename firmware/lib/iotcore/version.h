#pragma once

// IOTWATCH_FW_VERSION sets the version at build time: `make
// build/fw-host-as-0.2.0` builds fw-host as iotwatch-fw/0.2.0, the second
// image of the OTA test (firmware_ota_test.go).
#ifndef IOTWATCH_FW_VERSION
#define IOTWATCH_FW_VERSION "iotwatch-fw/0.1.0"
#endif

namespace iotcore {

// kVersion is reported as fw; the host port adds "-host".
constexpr const char* kVersion = IOTWATCH_FW_VERSION;

}  // namespace iotcore
