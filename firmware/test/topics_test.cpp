#include <doctest/doctest.h>

#include <string>

#include "../lib/iotcore/topics.h"

using iotcore::Topics;

TEST_CASE("classic shadow topics") {
  Topics t;
  REQUIRE(t.Build("pico-01", ""));
  CHECK(std::string(t.get()) == "$aws/things/pico-01/shadow/get");
  CHECK(std::string(t.getAccepted()) == "$aws/things/pico-01/shadow/get/accepted");
  CHECK(std::string(t.getRejected()) == "$aws/things/pico-01/shadow/get/rejected");
  CHECK(std::string(t.update()) == "$aws/things/pico-01/shadow/update");
  CHECK(std::string(t.updateDelta()) == "$aws/things/pico-01/shadow/update/delta");
  CHECK(std::string(t.updateRejected()) == "$aws/things/pico-01/shadow/update/rejected");
}

TEST_CASE("named shadow topics") {
  Topics t;
  REQUIRE(t.Build("pico-01", "env"));
  CHECK(std::string(t.update()) == "$aws/things/pico-01/shadow/name/env/update");
  CHECK(std::string(t.updateDelta()) == "$aws/things/pico-01/shadow/name/env/update/delta");
  REQUIRE(t.Build("pico-01", nullptr));
  CHECK(std::string(t.update()) == "$aws/things/pico-01/shadow/update");
}

TEST_CASE("subscriptions are delta, get/accepted, get/rejected and update/rejected") {
  Topics t;
  REQUIRE(t.Build("a", ""));
  CHECK(std::string(t.subscription(0)) == t.updateDelta());
  CHECK(std::string(t.subscription(1)) == t.getAccepted());
  CHECK(std::string(t.subscription(2)) == t.getRejected());
  CHECK(std::string(t.subscription(3)) == t.updateRejected());
  CHECK(t.subscription(Topics::kSubscriptions) == nullptr);
}

TEST_CASE("names follow AWS's rules, and the longest names fit") {
  std::string thing128(128, 'T'), shadow64(64, 's');
  struct {
    std::string thing, shadow;
    bool ok;
  } const cases[] = {
      {"pico-01", "", true},
      {"a:b_c-D9", "x:y_z-0", true},
      {thing128, shadow64, true},
      {"", "", false},
      {thing128 + "T", "", false},
      {"pico", shadow64 + "s", false},
      {"pico 01", "", false},
      {"pico/01", "", false},
      {"pico+", "", false},
      {"pico#", "", false},
      {"pico", "env/x", false},
      {"pic\xc3\xb6", "", false},
  };
  for (const auto& c : cases) {
    CAPTURE(c.thing);
    CAPTURE(c.shadow);
    Topics t;
    CHECK(t.Build(c.thing.c_str(), c.shadow.c_str()) == c.ok);
    if (c.ok) {
      std::string want = "$aws/things/" + c.thing + "/shadow/" +
                         (c.shadow.empty() ? "" : "name/" + c.shadow + "/") + "update/rejected";
      CHECK(std::string(t.updateRejected()) == want);
    } else {
      CHECK(std::string(t.update()).empty());
    }
  }
}
