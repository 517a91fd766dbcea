#include "config_store.h"

#include <Arduino.h>
#include <Preferences.h>
#include <esp_random.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include <cstdio>

#include "../lib/iotcore/config_page.h"
#include "../lib/iotcore/config_store.h"
#include "board.h"

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

// NvsStore is Preferences as the core's key-value store. Every value is
// written as a blob (the core never writes an empty one) and read back by
// the caller, so a failed write cannot pass for a short one. Strings
// written by firmware from before the slots are still read as strings.
class NvsStore : public iotcore::KeyValueStore {
 public:
  bool Write(const char* ns, const char* key, const std::string& value) override {
    Preferences prefs;
    return prefs.begin(ns, false) && prefs.putBytes(key, value.data(), value.size()) == value.size();
  }
  std::optional<std::string> Read(const char* ns, const char* key) override {
    Preferences prefs;
    // Read-write, as opening a namespace never written read-only logs an error.
    if (!prefs.begin(ns, false) || !prefs.isKey(key)) return std::nullopt;
    if (prefs.getType(key) == PT_STR) return std::string(prefs.getString(key).c_str());
    std::string v(prefs.getBytesLength(key), '\0');
    if (v.empty() || prefs.getBytes(key, &v[0], v.size()) != v.size()) return std::nullopt;
    return v;
  }
  bool Clear(const char* ns) override {
    Preferences prefs;
    return prefs.begin(ns, false) && prefs.clear();
  }
};

NvsStore nvs;
iotcore::ConfigStore store(nvs);

constexpr const char* kApPasswordKey = "ap_password";
constexpr const char* kLegacyPortKey = "port";  // a uint16 before the slots

}  // namespace

iotcore::Config LoadConfig() {
  iotcore::Config defaults;
  defaults.cert = AWS_CERT_CRT;
  defaults.key = AWS_CERT_PRIVATE;
  defaults.ca = AWS_CERT_CA;
  Preferences prefs;
  if (prefs.begin(iotcore::kStoreNamespace, false)) {
    defaults.port = prefs.getUShort(kLegacyPortKey, iotcore::kPortMqtts);
  }
  return store.Load(defaults);
}

bool SaveConfig(const iotcore::Config& c, std::string* why) { return store.Save(c, why); }

void MarkConfigGood(const iotcore::Config& inUse) { store.MarkGood(inUse); }

bool ConfigReachedBroker() { return store.ActiveIsGood(); }

std::optional<iotcore::Config> LastGoodConfig() { return store.LastGood(); }

bool RevertToGoodConfig() { return store.RevertToGood(); }

// Anything derived from the MAC could be worked out by anyone in range, as
// the access point broadcasts it. Made once per boot at most: a board whose
// NVS will not keep it gets a fresh one each boot, printed on the serial
// log like any other, rather than an open access point.
std::string ApPassword() {
  static std::string password;
  if (!password.empty()) return password;
  std::optional<std::string> saved = nvs.Read(iotcore::kStoreNamespace, kApPasswordKey);
  if (saved && iotcore::ApPasswordUsable(*saved)) return password = *saved;
  password = iotcore::ApPassword(Random64());
  if (!nvs.Write(iotcore::kStoreNamespace, kApPasswordKey, password) ||
      nvs.Read(iotcore::kStoreNamespace, kApPasswordKey) != password) {
    Logf("NVS did not keep the configuration page's password: the one below holds until the next "
         "restart, which makes a new one");
  }
  return password;
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
