#pragma once

namespace iotcore {

// kVersion is reported as fw; the host port adds "-host".
constexpr const char* kVersion = "iotwatch-fw/0.1.0";

}  // namespace iotcore
