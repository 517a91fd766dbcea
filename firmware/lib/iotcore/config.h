// The device configuration entered on the configuration web page and kept
// in flash, with the rules each field must follow.
#pragma once

#include <cstddef>

#include "topics.h"

namespace iotcore {

constexpr size_t kMaxSsid = 32;      // 802.11 SSID, bytes
constexpr size_t kMaxPassword = 64;  // WPA2: 8..63 characters, or 64 hex digits
constexpr size_t kMaxHost = 253;     // DNS name

struct Config {
  char ssid[kMaxSsid + 1] = "";
  char password[kMaxPassword + 1] = "";
  char thing[kMaxThingName + 1] = "";
  char endpoint[kMaxHost + 1] = "";
};

// ConfigError names the first invalid field and what is wrong with it;
// field is null when the configuration is valid.
struct ConfigError {
  const char* field = nullptr;
  const char* problem = nullptr;
  bool ok() const { return field == nullptr; }
};

// ValidateConfig checks the four fields (null counts as empty): SSID 1–32
// bytes; password empty (open network) or 8–63 printable characters or 64
// hex digits; thing name 1–128 of a-zA-Z0-9:_-; endpoint a DNS name or an
// IPv4 address (no scheme, no port).
ConfigError ValidateConfig(const char* ssid, const char* password, const char* thing,
                           const char* endpoint);

// MakeConfig validates the fields and, when they are valid, copies them.
ConfigError MakeConfig(const char* ssid, const char* password, const char* thing,
                       const char* endpoint, Config* out);

}  // namespace iotcore
