#include <doctest/doctest.h>

#include <string>

#include "../lib/iotcore/state.h"

using iotcore::Applied;
using iotcore::Owned;
using iotcore::State;

namespace {

Applied ApplyJson(const char* json, State& s) {
  Owned doc(cJSON_Parse(json));
  REQUIRE(doc.get() != nullptr);
  return iotcore::Apply(doc.get(), s);
}

}  // namespace

TEST_CASE("valid desired values are applied") {
  State s;
  Applied a = ApplyJson(R"({"led":true,"setpoint":22.5,"interval_s":5})", s);
  CHECK(s.led);
  CHECK(s.setpoint == 22.5);
  CHECK(s.intervalS == 5);
  CHECK_FALSE(a.anyRefused());
  CHECK(a.changedLed);
  CHECK(a.changedInterval);
  CHECK(a.ignoredTotal == 0);
}

TEST_CASE("each value is checked against its type and range") {
  struct {
    const char* json;
    bool refused;
    bool led;
    double setpoint;
    int interval;
  } const cases[] = {
      {R"({"led":false})", false, false, 21, 10},
      {R"({"led":1})", true, false, 21, 10},
      {R"({"led":"true"})", true, false, 21, 10},
      {R"({"led":null})", true, false, 21, 10},
      {R"({"led":{"on":true}})", true, false, 21, 10},
      {R"({"setpoint":-40})", false, false, -40, 10},
      {R"({"setpoint":125})", false, false, 125, 10},
      {R"({"setpoint":-40.01})", true, false, 21, 10},
      {R"({"setpoint":125.5})", true, false, 21, 10},
      {R"({"setpoint":1e400})", true, false, 21, 10},
      {R"({"setpoint":"22"})", true, false, 21, 10},
      {R"({"setpoint":[22]})", true, false, 21, 10},
      {R"({"interval_s":1})", false, false, 21, 1},
      {R"({"interval_s":3600})", false, false, 21, 3600},
      {R"({"interval_s":3600.0})", false, false, 21, 3600},
      {R"({"interval_s":0})", true, false, 21, 10},
      {R"({"interval_s":3601})", true, false, 21, 10},
      {R"({"interval_s":2.5})", true, false, 21, 10},
      {R"({"interval_s":-5})", true, false, 21, 10},
      {R"({"interval_s":1e30})", true, false, 21, 10},
      {R"({"interval_s":true})", true, false, 21, 10},
  };
  for (const auto& c : cases) {
    CAPTURE(c.json);
    State s;
    Applied a = ApplyJson(c.json, s);
    CHECK(a.anyRefused() == c.refused);
    CHECK(s.led == c.led);
    CHECK(s.setpoint == c.setpoint);
    CHECK(s.intervalS == c.interval);
  }
}

TEST_CASE("a refused value leaves the others applied") {
  State s;
  Applied a = ApplyJson(R"({"led":true,"setpoint":500,"interval_s":30})", s);
  CHECK(s.led);
  CHECK(s.setpoint == 21);
  CHECK(s.intervalS == 30);
  CHECK(a.refusedSetpoint);
  CHECK_FALSE(a.refusedLed);
  CHECK_FALSE(a.refusedInterval);
}

TEST_CASE("unknown keys are listed, up to a bound") {
  State s;
  Applied a = ApplyJson(R"({"colour":"red","fan":{"speed":3},"led":true})", s);
  CHECK(s.led);
  REQUIRE(a.ignoredCount == 2);
  CHECK(std::string(a.ignored[0]) == "colour");
  CHECK(std::string(a.ignored[1]) == "fan");

  std::string many = "{";
  for (int i = 0; i < 20; i++) many += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":1";
  many += ",\"" + std::string(iotcore::kMaxKeyLen + 1, 'x') + "\":1}";
  a = ApplyJson(many.c_str(), s);
  CHECK(a.ignoredTotal == 21);
  CHECK(a.ignoredCount == iotcore::kMaxIgnored);
  CHECK(std::string(a.ignored[7]) == "k7");
}

TEST_CASE("a key longer than the bound is counted but not listed") {
  State s;
  std::string json = "{\"" + std::string(iotcore::kMaxKeyLen + 1, 'x') + "\":1,\"short\":2}";
  Applied a = ApplyJson(json.c_str(), s);
  CHECK(a.ignoredTotal == 2);
  REQUIRE(a.ignoredCount == 1);
  CHECK(std::string(a.ignored[0]) == "short");
}

TEST_CASE("a desired section that is not an object applies nothing") {
  for (const char* json : {"[]", "null", "42", "\"led\"", "true"}) {
    CAPTURE(json);
    State s;
    Applied a = ApplyJson(json, s);
    CHECK_FALSE(a.anyRefused());
    CHECK(a.ignoredTotal == 0);
    CHECK(s.intervalS == State().intervalS);
  }
  State s;
  CHECK(iotcore::Apply(nullptr, s).ignoredTotal == 0);
}
