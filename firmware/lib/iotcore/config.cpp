#include "config.h"

#include <cctype>
#include <cstdlib>
#include <cstring>

namespace iotcore {
namespace {

const char* OrEmpty(const char* s) { return s != nullptr ? s : ""; }

bool AllOf(const char* s, int (*pred)(int)) {
  for (; *s != '\0'; s++) {
    if (!pred(static_cast<unsigned char>(*s))) return false;
  }
  return true;
}

const char* PasswordProblem(const char* p) {
  size_t n = strlen(p);
  if (n == 0) return nullptr;
  if (n == 64) {
    return AllOf(p, isxdigit) ? nullptr : "a 64-character password must be hex digits (a PSK)";
  }
  if (n < 8 || n > 63) return "must be empty (open network) or 8 to 63 characters";
  return AllOf(p, isprint) ? nullptr : "must be printable ASCII characters";
}

bool ValidLabel(const char* s, size_t n) {
  if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-') return false;
  for (size_t i = 0; i < n; i++) {
    if (!isalnum(static_cast<unsigned char>(s[i])) && s[i] != '-') return false;
  }
  return true;
}

// A name of four all-digit labels is read as an IPv4 address, whose parts
// must be at most 255.
bool LooksLikeBadIPv4(const char* host) {
  int labels = 0;
  bool allDigits = true;
  bool over = false;
  for (const char* p = host; *p != '\0';) {
    const char* end = strchr(p, '.');
    size_t n = end != nullptr ? static_cast<size_t>(end - p) : strlen(p);
    labels++;
    for (size_t i = 0; i < n; i++) allDigits = allDigits && isdigit(static_cast<unsigned char>(p[i]));
    over = over || n > 3 || (allDigits && atoi(p) > 255);
    p += n + (end != nullptr ? 1 : 0);
  }
  return labels == 4 && allDigits && over;
}

const char* HostProblem(const char* host) {
  size_t n = strlen(host);
  if (n == 0) return "is empty: enter your AWS IoT endpoint (aws iot describe-endpoint)";
  if (n > kMaxHost) return "is longer than 253 characters";
  if (strstr(host, "://") != nullptr) return "must be a host name only, without https:// or mqtts://";
  if (strchr(host, ':') != nullptr || strchr(host, '/') != nullptr) {
    return "must be a host name only, without a port or path";
  }
  for (const char* p = host;;) {
    const char* dot = strchr(p, '.');
    size_t len = dot != nullptr ? static_cast<size_t>(dot - p) : strlen(p);
    if (!ValidLabel(p, len)) {
      return "must be a DNS name: labels of 1-63 letters, digits or '-', separated by dots";
    }
    if (dot == nullptr) break;
    p = dot + 1;
  }
  return LooksLikeBadIPv4(host) ? "is not a valid IPv4 address" : nullptr;
}

}  // namespace

ConfigError ValidateConfig(const char* ssid, const char* password, const char* thing,
                           const char* endpoint) {
  size_t ssidLen = strlen(OrEmpty(ssid));
  if (ssidLen == 0 || ssidLen > kMaxSsid) return {"ssid", "must be 1 to 32 bytes"};
  if (const char* p = PasswordProblem(OrEmpty(password))) return {"password", p};
  if (!ValidName(OrEmpty(thing), kMaxThingName)) {
    return {"thing", "must be 1 to 128 of the characters a-z A-Z 0-9 : _ -"};
  }
  if (const char* p = HostProblem(OrEmpty(endpoint))) return {"endpoint", p};
  return {};
}

ConfigError MakeConfig(const char* ssid, const char* password, const char* thing,
                       const char* endpoint, Config* out) {
  ConfigError err = ValidateConfig(ssid, password, thing, endpoint);
  if (!err.ok()) return err;
  *out = Config();
  strcpy(out->ssid, ssid);
  strcpy(out->password, OrEmpty(password));
  strcpy(out->thing, thing);
  strcpy(out->endpoint, endpoint);
  return err;
}

}  // namespace iotcore
