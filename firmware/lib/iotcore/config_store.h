// The saved configuration, kept so that no failure can leave half of it:
// two slots (NVS namespaces iotwatch1 and iotwatch2) and a switch. Save
// writes the slot not in use, reads every key back and compares, and only
// then flips the switch, one small write; a full partition, a failed write
// (Preferences' putString returns 0 for a failure and for "" alike) or a
// power cut anywhere before the flip leaves the active configuration as it
// was. The slot that last reached the broker is remembered, so the
// configuration page can time out back to it (issue 23, items 7 and 8).
#pragma once

#include <optional>
#include <string>

#include "config.h"

namespace iotcore {

// KeyValueStore is the board's key-value flash (Preferences/NVS on the
// ESP32): byte strings by namespace and key, each call complete in itself.
class KeyValueStore {
 public:
  virtual ~KeyValueStore() = default;
  virtual bool Write(const char* ns, const char* key, const std::string& value) = 0;
  // Read returns the value, or nothing when the key is missing or the
  // namespace cannot be opened.
  virtual std::optional<std::string> Read(const char* ns, const char* key) = 0;
  virtual bool Clear(const char* ns) = 0;
};

// kStoreNamespace holds the switch ("slot", "good") and the access point's
// password; a board flashed before the slots has its configuration there
// too, which Load still reads.
constexpr const char* kStoreNamespace = "iotwatch";

class ConfigStore {
 public:
  explicit ConfigStore(KeyValueStore& kv) : kv_(kv) {}

  // Load returns the active slot's configuration, else the other slot's
  // (the previous one), else defaults with what a pre-slot board saved over
  // them, else defaults alone.
  Config Load(const Config& defaults);
  // Save stores c as described above; on failure why names the step and
  // the active configuration is unchanged.
  bool Save(const Config& c, std::string* why);
  // MarkGood records the active slot as one that reached the broker; a
  // configuration loaded from before the slots (inUse) is saved to a slot
  // first, so that it can be marked.
  void MarkGood(const Config& inUse);
  // ActiveIsGood is whether the configuration in use has reached the broker
  // before: one that a newer firmware's checks refuse is still worth trying
  // rather than leaving the board an access point.
  bool ActiveIsGood();
  // LastGood is the configuration that last reached the broker when it is
  // not the active one (the page can go back to it), else nothing.
  std::optional<Config> LastGood();
  // RevertToGood makes the last good slot the active one.
  bool RevertToGood();

 private:
  std::optional<Config> ReadSlot(const char* ns);
  int Active();

  KeyValueStore& kv_;
};

}  // namespace iotcore
