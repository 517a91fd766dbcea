#include <doctest/doctest.h>

#include <map>
#include <string>

#include "../lib/iotcore/config_store.h"
#include "../lib/iotcore/random.h"

using iotcore::Config;
using iotcore::ConfigStore;

namespace {

// FlashStore is NVS in memory, with the faults the board meets: every
// operation from number failAt on fails (a full partition or a power cut
// from there on), and a write may be cut short while reporting success
// (what putString("") or a short putBytes look like to a caller that does
// not read back). One-entry values are not cut: NVS writes an entry whole or
// not at all across a power loss (ESP-IDF's NVS documentation), which is
// what the one-byte switch relies on.
class FlashStore : public iotcore::KeyValueStore {
 public:
  bool Write(const char* ns, const char* key, const std::string& value) override {
    if (Fails()) return false;
    bool cut = index == truncateAt && value.size() > 1;
    data[ns][key] = cut ? value.substr(0, value.size() / 2) : value;
    return true;
  }
  std::optional<std::string> Read(const char* ns, const char* key) override {
    if (Fails()) return std::nullopt;
    auto n = data.find(ns);
    if (n == data.end()) return std::nullopt;
    auto k = n->second.find(key);
    if (k == n->second.end()) return std::nullopt;
    return k->second;
  }
  bool Clear(const char* ns) override {
    if (Fails()) return false;
    data[ns].clear();
    return true;
  }

  std::map<std::string, std::map<std::string, std::string>> data;
  long failAt = -1, truncateAt = -1;
  long ops = 0;

 private:
  // Fails counts one operation and says whether it fails.
  bool Fails() {
    index = ops++;
    return failAt >= 0 && index >= failAt;
  }
  long index = -1;  // of the operation under way
};

Config Make(const char* thing, size_t pemBytes) {
  Config c;
  c.ssid = "lab";
  c.password = "";  // an open network: an empty value must survive
  c.thing = thing;
  c.endpoint = "192.168.1.20";
  c.port = 443;
  c.cert = std::string(pemBytes, 'c');
  c.key = std::string(pemBytes, 'k');
  c.ca = std::string(pemBytes, 'a');
  return c;
}

bool Same(const Config& a, const Config& b) {
  return a.ssid == b.ssid && a.password == b.password && a.thing == b.thing &&
         a.endpoint == b.endpoint && a.port == b.port && a.cert == b.cert && a.key == b.key &&
         a.ca == b.ca;
}

}  // namespace

TEST_CASE("a saved configuration loads back whole, three 8 KB PEMs and an empty password included") {
  FlashStore flash;
  ConfigStore store(flash);
  std::string why;
  Config big = Make("pico-01", 8192);
  REQUIRE(store.Save(big, &why));
  CHECK(Same(store.Load(Config()), big));
  Config next = Make("pico-02", 100);
  REQUIRE(store.Save(next, &why));
  CHECK(Same(store.Load(Config()), next));
}

// The oracle: whatever step of a save fails, the board restarts into the
// old configuration or the new one, never a mixture, and Save says which.
TEST_CASE("a save cut off at any step leaves the old configuration or the new one, never half") {
  Config old = Make("old-thing", 3000), fresh = Make("new-thing", 8192);
  for (int mode = 0; mode < 2; mode++) {
    for (long at = 0; at < 40; at++) {
      CAPTURE(mode);
      CAPTURE(at);
      FlashStore flash;
      ConfigStore setup(flash);
      std::string why;
      REQUIRE(setup.Save(old, &why));
      flash.ops = 0;
      (mode == 0 ? flash.failAt : flash.truncateAt) = at;
      ConfigStore store(flash);
      bool saved = store.Save(fresh, &why);
      flash.failAt = flash.truncateAt = -1;  // the board restarts
      Config loaded = ConfigStore(flash).Load(Config());
      CHECK(Same(loaded, saved ? fresh : old));
      if (!saved) CHECK_FALSE(why.empty());
    }
  }
}

TEST_CASE("the last configuration that reached the broker is kept for the page to go back to") {
  FlashStore flash;
  ConfigStore store(flash);
  std::string why;
  Config good = Make("good", 100), bad = Make("bad", 100);
  REQUIRE(store.Save(good, &why));
  CHECK_FALSE(store.LastGood());  // nothing has connected yet
  CHECK_FALSE(store.ActiveIsGood());
  store.MarkGood(good);
  CHECK(store.ActiveIsGood());
  CHECK_FALSE(store.LastGood());  // it is the active one
  REQUIRE(store.Save(bad, &why));
  CHECK_FALSE(store.ActiveIsGood());
  REQUIRE(store.LastGood());
  CHECK(Same(*store.LastGood(), good));
  REQUIRE(store.RevertToGood());
  CHECK(Same(store.Load(Config()), good));
  // Saving over the good slot forgets it rather than pointing at other bytes.
  REQUIRE(store.Save(bad, &why));
  REQUIRE(store.Save(Make("third", 10), &why));  // lands in good's slot
  CHECK_FALSE(store.LastGood());
}

TEST_CASE("a slot in use that no longer reads whole gives way to the previous configuration") {
  FlashStore flash;
  ConfigStore store(flash);
  std::string why;
  Config first = Make("first", 100), second = Make("second", 100);
  REQUIRE(store.Save(first, &why));
  REQUIRE(store.Save(second, &why));
  flash.data["iotwatch2"].erase("ca");  // the active slot loses a key
  CHECK(Same(store.Load(Config()), first));
}

TEST_CASE("a board saved before the slots keeps its configuration") {
  FlashStore flash;
  flash.data["iotwatch"]["ssid"] = "home";
  flash.data["iotwatch"]["thing"] = "pico-07";
  Config defaults = Make("", 50);
  ConfigStore store(flash);
  Config c = store.Load(defaults);
  CHECK(c.ssid == "home");
  CHECK(c.thing == "pico-07");
  CHECK(c.cert == defaults.cert);
  // Once it reaches the broker it moves into a slot, marked good.
  store.MarkGood(c);
  CHECK(store.ActiveIsGood());
  CHECK(Same(store.Load(Config()), c));
}
