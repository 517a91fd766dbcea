#include "config.h"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <string>

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

}  // namespace

const char* EndpointProblem(const char* host) {
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

namespace {

// PemBlocks counts the well-formed blocks of text whose label ends with
// suffix ("CERTIFICATE", "PRIVATE KEY"), which blank lines may separate; -1
// when anything else is there: a BEGIN without its END, a body that is not
// base64, other text. The EC PARAMETERS block `openssl ecparam -genkey`
// writes before a key is passed over.
int PemBlocks(const std::string& pem, const char* suffix) {
  static const char kBegin[] = "-----BEGIN ";
  static const char kEnd[] = "-----END ";
  const std::string suffixText = suffix;
  int blocks = 0;
  for (size_t pos = pem.find_first_not_of(" \t\n"); pos != std::string::npos;
       pos = pem.find_first_not_of(" \t\n", pos)) {
    if (pem.compare(pos, sizeof kBegin - 1, kBegin) != 0) return -1;
    size_t labelStart = pos + sizeof kBegin - 1;
    size_t labelEnd = pem.find("-----\n", labelStart);
    if (labelEnd == std::string::npos) return -1;
    std::string label = pem.substr(labelStart, labelEnd - labelStart);
    bool wanted = label.size() >= suffixText.size() &&
                  label.compare(label.size() - suffixText.size(), suffixText.size(), suffixText) == 0;
    bool passedOver = suffixText == "PRIVATE KEY" && label == "EC PARAMETERS";
    if (!wanted && !passedOver) return -1;
    std::string end = std::string(kEnd) + label + "-----\n";
    size_t bodyStart = labelEnd + 6;
    size_t endAt = pem.find(end, bodyStart);
    if (endAt == std::string::npos || endAt == bodyStart) return -1;
    for (size_t i = bodyStart; i < endAt; i++) {
      unsigned char ch = static_cast<unsigned char>(pem[i]);
      if (!isalnum(ch) && ch != '+' && ch != '/' && ch != '=' && ch != '\n') return -1;
    }
    if (wanted) blocks++;
    pos = endAt + end.size();
  }
  return blocks;
}

const char* PemProblem(const std::string& pem, const char* suffix, bool several) {
  if (pem.empty()) return "is missing: paste it as PEM text (-----BEGIN ...)";
  if (pem.size() > kMaxPem) return "is longer than 8192 characters";
  int n = PemBlocks(pem, suffix);
  if (n < 1) return "is not well-formed PEM: -----BEGIN ...----- base64 lines -----END ...-----";
  if (n > 1 && !several) return "holds more than one PEM block: paste only one";
  return nullptr;
}

}  // namespace

ConfigError ValidateNetwork(const char* ssid, const char* password, const char* thing,
                            const char* endpoint) {
  size_t ssidLen = strlen(OrEmpty(ssid));
  if (ssidLen == 0 || ssidLen > kMaxSsid) return {"ssid", "must be 1 to 32 bytes"};
  if (const char* p = PasswordProblem(OrEmpty(password))) return {"password", p};
  if (!ValidName(OrEmpty(thing), kMaxThingName)) {
    return {"thing", "must be 1 to 128 of the characters a-z A-Z 0-9 : _ -"};
  }
  if (const char* p = EndpointProblem(OrEmpty(endpoint))) return {"endpoint", p};
  return {};
}

ConfigError ValidateConfig(const Config& c, const CredentialCheck& check) {
  ConfigError err =
      ValidateNetwork(c.ssid.c_str(), c.password.c_str(), c.thing.c_str(), c.endpoint.c_str());
  if (!err.ok()) return err;
  if (c.port != kPortMqtts && c.port != kPortHttps) {
    return {"port", "must be 8883, or 443 (MQTT with ALPN x-amzn-mqtt-ca)"};
  }
  if (const char* p = PemProblem(c.cert, "CERTIFICATE", false)) return {"cert", p};
  if (c.key.find("ENCRYPTED") != std::string::npos) {
    return {"key", "is encrypted: paste the key without a passphrase"};
  }
  if (const char* p = PemProblem(c.key, "PRIVATE KEY", false)) return {"key", p};
  if (const char* p = PemProblem(c.ca, "CERTIFICATE", true)) return {"ca", p};
  return check.Check(c);
}

std::string NormalizePem(const std::string& text) {
  std::string out;
  out.reserve(text.size() + 1);
  for (char ch : text) {
    if (ch == '\r') continue;
    // Spaces before a line break come along from some editors and mail.
    if (ch == '\n') out.erase(out.find_last_not_of(" \t") + 1);
    out += ch;
  }
  size_t first = out.find_first_not_of(" \t\n");
  if (first == std::string::npos) return "";
  size_t last = out.find_last_not_of(" \t\n");
  return out.substr(first, last - first + 1) + "\n";
}

}  // namespace iotcore
