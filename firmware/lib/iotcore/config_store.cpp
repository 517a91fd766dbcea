#include "config_store.h"

#include <cstdlib>
#include <string>

namespace iotcore {
namespace {

constexpr const char* kSlots[] = {"iotwatch1", "iotwatch2"};
constexpr const char* kActiveKey = "slot";
constexpr const char* kGoodKey = "good";

// The configuration's keys (NVS: at most 15 characters). Values are stored
// behind a '=' so that none is empty: Preferences cannot write an empty blob
// and would store nothing for an open network's password.
struct Field {
  const char* key;
  std::string Config::*text;
};
constexpr Field kFields[] = {{"ssid", &Config::ssid},         {"password", &Config::password},
                             {"thing", &Config::thing},       {"endpoint", &Config::endpoint},
                             {"cert", &Config::cert},         {"key", &Config::key},
                             {"ca", &Config::ca}};
constexpr const char* kPortKey = "port";

std::string Encode(const std::string& v) { return "=" + v; }

std::optional<std::string> Decode(const std::optional<std::string>& stored) {
  if (!stored || stored->empty() || (*stored)[0] != '=') return std::nullopt;
  return stored->substr(1);
}

}  // namespace

int ConfigStore::Active() {
  std::optional<std::string> slot = kv_.Read(kStoreNamespace, kActiveKey);
  if (slot == std::string("1")) return 0;
  if (slot == std::string("2")) return 1;
  return -1;
}

std::optional<Config> ConfigStore::ReadSlot(const char* ns) {
  Config c;
  for (const Field& f : kFields) {
    std::optional<std::string> v = Decode(kv_.Read(ns, f.key));
    if (!v) return std::nullopt;
    c.*f.text = *v;
  }
  std::optional<std::string> port = Decode(kv_.Read(ns, kPortKey));
  if (!port) return std::nullopt;
  c.port = static_cast<uint16_t>(strtoul(port->c_str(), nullptr, 10));
  return c;
}

Config ConfigStore::Load(const Config& defaults) {
  int active = Active();
  if (active >= 0) {
    if (std::optional<Config> c = ReadSlot(kSlots[active])) return *c;
    // The slot in use no longer reads whole (flash worn, a key erased):
    // the configuration before it beats none.
    if (std::optional<Config> c = ReadSlot(kSlots[1 - active])) return *c;
  }
  // Before the slots, each key was written to the main namespace as it was
  // (the PEMs as blobs, the port as two bytes that Load cannot read here:
  // the glue passes it in defaults).
  Config c = defaults;
  for (const Field& f : kFields) {
    if (std::optional<std::string> v = kv_.Read(kStoreNamespace, f.key)) c.*f.text = *v;
  }
  return c;
}

bool ConfigStore::Save(const Config& c, std::string* why) {
  int target = Active() == 0 ? 1 : 0;
  const char* ns = kSlots[target];
  // Overwriting the slot that last reached the broker: it is no longer one.
  if (kv_.Read(kStoreNamespace, kGoodKey) == std::to_string(target + 1) &&
      !kv_.Write(kStoreNamespace, kGoodKey, "0")) {
    *why = "cannot write to NVS namespace iotwatch";
    return false;
  }
  if (!kv_.Clear(ns)) {
    *why = std::string("cannot open or clear NVS namespace ") + ns;
    return false;
  }
  std::string port = std::to_string(c.port);
  for (const Field& f : kFields) {
    if (!kv_.Write(ns, f.key, Encode(c.*f.text))) {
      *why = std::string("writing ") + f.key + " failed (NVS full?)";
      return false;
    }
  }
  if (!kv_.Write(ns, kPortKey, Encode(port))) {
    *why = "writing port failed (NVS full?)";
    return false;
  }
  std::optional<Config> back = ReadSlot(ns);
  if (!back || back->ssid != c.ssid || back->password != c.password || back->thing != c.thing ||
      back->endpoint != c.endpoint || back->port != c.port || back->cert != c.cert ||
      back->key != c.key || back->ca != c.ca) {
    *why = std::string("what was written to ") + ns + " does not read back the same";
    return false;
  }
  if (!kv_.Write(kStoreNamespace, kActiveKey, std::to_string(target + 1))) {
    *why = "switching to the new configuration failed";
    return false;
  }
  return true;
}

void ConfigStore::MarkGood(const Config& inUse) {
  std::string why;
  if (Active() < 0 && !Save(inUse, &why)) return;
  std::string slot = std::to_string(Active() + 1);
  if (kv_.Read(kStoreNamespace, kGoodKey) != slot) kv_.Write(kStoreNamespace, kGoodKey, slot);
}

bool ConfigStore::ActiveIsGood() {
  int active = Active();
  return active >= 0 && kv_.Read(kStoreNamespace, kGoodKey) == std::to_string(active + 1);
}

std::optional<Config> ConfigStore::LastGood() {
  std::optional<std::string> good = kv_.Read(kStoreNamespace, kGoodKey);
  int active = Active();
  if (good != std::string("1") && good != std::string("2")) return std::nullopt;
  int slot = (*good)[0] - '1';
  if (slot == active) return std::nullopt;
  return ReadSlot(kSlots[slot]);
}

bool ConfigStore::RevertToGood() {
  std::optional<std::string> good = kv_.Read(kStoreNamespace, kGoodKey);
  if (!LastGood()) return false;
  return kv_.Write(kStoreNamespace, kActiveKey, *good);
}

}  // namespace iotcore
