#include "config_store.h"

#include <Arduino.h>
#include <Preferences.h>
#include <esp_random.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include <cstdio>

#include "../lib/iotcore/config_page.h"

// secrets.h holds the build-time default credentials; the configuration
// page can replace them, and what it saves (in NVS) wins.
#if !__has_include("secrets.h")
#error "include/secrets.h is missing: create it with `iotwatch certs header` (see README.md)"
#endif
#include "secrets.h"

namespace board {
namespace {

// The page's credential check, with the mbedTLS the TLS client uses.
int FillRandom(void*, unsigned char* out, size_t len) {
  esp_fill_random(out, len);
  return 0;
}

class MbedTlsCheck : public iotcore::CredentialCheck {
 public:
  iotcore::ConfigError Check(const iotcore::Config& c) const override {
    mbedtls_x509_crt cert, ca;
    mbedtls_pk_context key;
    mbedtls_x509_crt_init(&cert);
    mbedtls_x509_crt_init(&ca);
    mbedtls_pk_init(&key);
    iotcore::ConfigError err;
    // mbedTLS takes PEM with its terminating NUL counted in the length.
    if (mbedtls_x509_crt_parse(&cert, Bytes(c.cert), c.cert.size() + 1) != 0) {
      err = {"cert", "is not an X.509 certificate mbedTLS can read"};
    } else if (mbedtls_pk_parse_key(&key, Bytes(c.key), c.key.size() + 1, nullptr, 0, FillRandom,
                                    nullptr) != 0) {
      err = {"key", "is not a private key mbedTLS can read"};
    } else if (mbedtls_pk_check_pair(&cert.pk, &key, FillRandom, nullptr) != 0) {
      err = {"key", "does not belong to the device certificate"};
    } else if (mbedtls_x509_crt_parse(&ca, Bytes(c.ca), c.ca.size() + 1) != 0) {
      err = {"ca", "holds a certificate mbedTLS cannot read"};
    }
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&ca);
    mbedtls_x509_crt_free(&cert);
    return err;
  }

 private:
  static const unsigned char* Bytes(const std::string& s) {
    return reinterpret_cast<const unsigned char*>(s.c_str());
  }
};

const MbedTlsCheck credentialCheck;

constexpr const char* kPrefsNamespace = "iotwatch";

// NVS keys (at most 15 characters). The PEMs are blobs, as NVS strings stop
// at 4000 bytes.
struct TextKey {
  const char* key;
  std::string iotcore::Config::*field;
  bool blob;
};
constexpr TextKey kTextKeys[] = {
    {"ssid", &iotcore::Config::ssid, false},      {"password", &iotcore::Config::password, false},
    {"thing", &iotcore::Config::thing, false},    {"endpoint", &iotcore::Config::endpoint, false},
    {"cert", &iotcore::Config::cert, true},       {"key", &iotcore::Config::key, true},
    {"ca", &iotcore::Config::ca, true},
};
constexpr const char* kPortKey = "port";
constexpr const char* kApPasswordKey = "ap_password";

}  // namespace

bool SaveConfig(const iotcore::Config& c) {
  Preferences prefs;
  bool ok = prefs.begin(kPrefsNamespace, false);
  for (const TextKey& k : kTextKeys) {
    const std::string& v = c.*k.field;
    if (!ok) break;
    ok = k.blob ? prefs.putBytes(k.key, v.data(), v.size()) == v.size()
                : prefs.putString(k.key, v.c_str()) == v.size();
  }
  return ok && prefs.putUShort(kPortKey, c.port) == sizeof(uint16_t);
}

iotcore::Config LoadConfig() {
  iotcore::Config c;
  c.cert = AWS_CERT_CRT;
  c.key = AWS_CERT_PRIVATE;
  c.ca = AWS_CERT_CA;
  Preferences prefs;
  // Read-write, as opening a namespace never written read-only logs an error.
  if (!prefs.begin(kPrefsNamespace, false)) return c;
  for (const TextKey& k : kTextKeys) {
    if (!prefs.isKey(k.key)) continue;
    std::string& v = c.*k.field;
    if (k.blob) {
      v.assign(prefs.getBytesLength(k.key), '\0');
      v.resize(prefs.getBytes(k.key, &v[0], v.size()));
    } else {
      v = prefs.getString(k.key).c_str();
    }
  }
  c.port = prefs.getUShort(kPortKey, iotcore::kPortMqtts);
  return c;
}

// Anything derived from the MAC could be worked out by anyone in range, as
// the access point broadcasts it.
std::string ApPassword() {
  Preferences prefs;
  if (!prefs.begin(kPrefsNamespace, false)) return "";
  String saved = prefs.getString(kApPasswordKey);
  if (saved.length() > 0) return saved.c_str();
  std::string fresh =
      iotcore::ApPassword((static_cast<uint64_t>(esp_random()) << 32) | esp_random());
  prefs.putString(kApPasswordKey, fresh.c_str());
  return fresh;
}

std::string ApName() {
  uint64_t mac = ESP.getEfuseMac();  // MAC byte 0 is the lowest byte
  char name[24];
  snprintf(name, sizeof name, "iotwatch-%02X%02X", static_cast<unsigned>((mac >> 32) & 0xff),
           static_cast<unsigned>((mac >> 40) & 0xff));
  return name;
}

const iotcore::CredentialCheck& CredentialCheck() { return credentialCheck; }

}  // namespace board
