// The device configuration entered on the configuration web page and kept
// in flash, with the rules each field must follow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "topics.h"

namespace iotcore {

constexpr size_t kMaxSsid = 32;      // 802.11 SSID, bytes
constexpr size_t kMaxPassword = 64;  // WPA2: 8..63 characters, or 64 hex digits
constexpr size_t kMaxHost = 253;     // DNS name
constexpr size_t kMaxPem = 8192;     // one pasted PEM: a certificate, key or CA bundle
constexpr uint16_t kPortMqtts = 8883;
constexpr uint16_t kPortHttps = 443;  // AWS IoT takes MQTT here with ALPN x-amzn-mqtt-ca
constexpr const char* kAlpnAws = "x-amzn-mqtt-ca";

// Config is what the device needs to reach its shadow: the Wi-Fi network,
// the thing, the endpoint, and the device's credentials as PEM text.
struct Config {
  std::string ssid;
  std::string password;  // empty: an open network
  std::string thing;
  std::string endpoint;
  uint16_t port = kPortMqtts;
  std::string cert, key, ca;
};

// ConfigError names the first invalid field and what is wrong with it;
// field is null when the configuration is valid.
struct ConfigError {
  const char* field = nullptr;
  const char* problem = nullptr;
  bool ok() const { return field == nullptr; }
};

// CredentialCheck does what needs a crypto library: the certificate and the
// CA parse as X.509, the key parses, and the key belongs to the certificate.
// fw-host and the tests use OpenSSL (host/credentials.cpp), the ESP32 mbedTLS
// (src/main.cpp); the core only checks the PEM armour.
class CredentialCheck {
 public:
  virtual ~CredentialCheck() = default;
  virtual ConfigError Check(const Config& c) const = 0;
};

// ValidateNetwork checks four fields (null counts as empty): SSID 1–32
// bytes; password empty (open network) or 8–63 printable characters or 64
// hex digits; thing name 1–128 of a-zA-Z0-9:_-; endpoint a DNS name or an
// IPv4 address (no scheme, no port).
ConfigError ValidateNetwork(const char* ssid, const char* password, const char* thing,
                            const char* endpoint);

// EndpointProblem is why host is not a valid endpoint, or null.
const char* EndpointProblem(const char* host);

// ValidateConfig checks every field: the network ones, the port (8883 or
// 443), the PEM armour of the certificate (one), the key (one, unencrypted)
// and the CA (one or more certificates), then check's verdict.
ConfigError ValidateConfig(const Config& c, const CredentialCheck& check);

// NormalizePem trims what surrounds pasted PEM text and each line's end,
// turns CRLF (as browsers send a textarea) into LF, and ends it with one
// newline; "" stays "".
std::string NormalizePem(const std::string& text);

}  // namespace iotcore
