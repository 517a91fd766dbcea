// 100k random and mutated delta and get/accepted documents through the core
// (run under ASan/UBSan by make test): none may crash it, leave the state
// out of range, or make it publish anything but a well-formed report with
// the next seq; every unmutated document must apply exactly as the rules say.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include "../lib/iotcore/core.h"
#include "../lib/iotcore/random.h"
#include "recording_port.h"

using iotcore::Owned;
using iotcore::Random;

namespace {

std::string Number(double v) {
  char b[40];
  snprintf(b, sizeof b, "%.17g", v);
  return b;
}

std::string RandomString(Random& r) {
  static const char* const pieces[] = {"a", "led", "\\\"", "\\\\", "\\n", "\\u00e9", "\\ud83d\\ude00",
                                       "{", "]", ":", ",", " ", "\xc3\xa9", "setpoint", "%s%n"};
  std::string s = "\"";
  for (uint64_t n = r.Below(6); n > 0; n--) s += pieces[r.Below(sizeof pieces / sizeof *pieces)];
  return s + "\"";
}

std::string RandomValue(Random& r, int depth) {
  switch (r.Below(depth > 3 ? 6 : 8)) {
    case 0: return "null";
    case 1: return r.Below(2) ? "true" : "false";
    case 2: return std::to_string(static_cast<int64_t>(r.Next()) >> r.Below(64));
    case 3: return Number((r.Unit() - 0.5) * std::pow(10, static_cast<double>(r.Below(40))));
    case 4: return RandomString(r);
    case 5: return r.Below(2) ? "1e999" : "-0.0";
    case 6: {
      std::string s = "[";
      for (uint64_t n = r.Below(4); n > 0; n--) s += RandomValue(r, depth + 1) + (n > 1 ? "," : "");
      return s + "]";
    }
    default: {
      std::string s = "{";
      for (uint64_t n = r.Below(4); n > 0; n--) {
        s += RandomString(r) + ":" + RandomValue(r, depth + 1) + (n > 1 ? "," : "");
      }
      return s + "}";
    }
  }
}

// A desired section with the values it must leave in the state.
struct Desired {
  std::string json;
  iotcore::State want;
  bool refused = false;
  size_t unknown = 0;
};

Desired RandomDesired(Random& r, const iotcore::State& before) {
  Desired d;
  d.want = before;
  std::string fields;
  auto add = [&fields](const std::string& key, const std::string& value) {
    fields += (fields.empty() ? "" : ",") + key + ":" + value;
  };
  if (r.Below(2)) {
    static const char* const invalid[] = {"1", "0", "\"true\"", "null", "{}", "[true]"};
    bool valid = r.Below(3) != 0, on = r.Below(2);
    add("\"led\"", valid ? (on ? "true" : "false") : invalid[r.Below(6)]);
    if (valid) d.want.led = on;
    d.refused = d.refused || !valid;
  }
  if (r.Below(2)) {
    static const double edges[] = {-40, 125, -40.000001, 125.000001, 1e300, -1e300};
    double v = r.Below(4) ? -40 + r.Unit() * 165 : edges[r.Below(6)];
    bool valid = v >= -40 && v <= 125;
    add("\"setpoint\"", Number(v));
    if (valid) d.want.setpoint = v;
    d.refused = d.refused || !valid;
  }
  if (r.Below(2)) {
    static const char* const invalid[] = {"0", "3601", "2.5", "-1", "\"5\"", "true", "1e9", "null"};
    int v = 1 + static_cast<int>(r.Below(3600));
    bool valid = r.Below(3) != 0;
    add("\"interval_s\"", valid ? (r.Below(2) ? std::to_string(v) : std::to_string(v) + ".0")
                                : invalid[r.Below(8)]);
    if (valid) d.want.intervalS = v;
    d.refused = d.refused || !valid;
  }
  for (uint64_t n = r.Below(3); n > 0; n--) {
    add("\"x" + std::to_string(d.unknown++) + "\"", RandomValue(r, 1));
  }
  d.json = "{" + fields + "}";
  return d;
}

void Mutate(Random& r, std::string& s) {
  for (uint64_t n = 1 + r.Below(4); n > 0 && !s.empty(); n--) {
    size_t at = r.Below(s.size());
    switch (r.Below(5)) {
      case 0: s[at] = static_cast<char>(r.Next()); break;
      case 1: s.insert(at, 1, "{}[]\":,\\0e-"[r.Below(11)]); break;
      case 2: s.erase(at, 1 + r.Below(8)); break;
      case 3: s.insert(at, s.substr(at, r.Below(32))); break;
      default: s.resize(at); break;
    }
  }
}

const cJSON* Section(const cJSON* doc, const char* name) {
  return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "state"), name);
}

// CheckReport verifies one published update against the core's state.
void CheckReport(const Publication& p, const iotcore::Core& core, uint64_t seq) {
  REQUIRE(p.topic == core.topics().update());
  REQUIRE(p.payload.size() <= iotcore::kMaxReport);
  Owned doc(cJSON_Parse(p.payload.c_str()));
  REQUIRE(doc.get() != nullptr);
  const cJSON* rep = Section(doc.get(), "reported");
  CHECK(cJSON_GetObjectItem(rep, "seq")->valuedouble == seq);
  CHECK(cJSON_IsTrue(cJSON_GetObjectItem(rep, "led")) == core.state().led);
  CHECK(cJSON_GetObjectItem(rep, "setpoint")->valuedouble == core.state().setpoint);
  CHECK(cJSON_GetObjectItem(rep, "interval_s")->valuedouble == core.state().intervalS);
  for (const cJSON* c = Section(doc.get(), "desired") ? Section(doc.get(), "desired")->child : nullptr;
       c != nullptr; c = c->next) {
    std::string key = c->string;
    if (key == "led") CHECK(cJSON_IsTrue(c) == core.state().led);
    else if (key == "setpoint") CHECK(c->valuedouble == core.state().setpoint);
    else if (key == "interval_s") CHECK(c->valuedouble == core.state().intervalS);
    else CHECK(cJSON_IsNull(c));
  }
}

}  // namespace

TEST_CASE("100k random and mutated delta and get/accepted documents") {
  RecordingPort port;
  iotcore::Settings settings;
  settings.thing = "fuzz-01";
  iotcore::Core core(port, settings);
  REQUIRE(core.Begin());
  core.OnConnected(0);
  port.published.clear();

  Random r(20261128);
  uint64_t seq = 0;
  size_t applied = 0, mutated = 0;
  for (int i = 0; i < 100000; i++) {
    bool delta = r.Below(2);
    Desired d = RandomDesired(r, core.state());
    std::string doc = delta ? R"({"version":)" + std::to_string(i) + R"(,"state":)" + d.json + "}"
                            : R"({"state":{"desired":)" + d.json + R"(,"reported":)" + RandomValue(r, 1) +
                                  R"(},"version":)" + std::to_string(i) + "}";
    bool mutate = r.Below(2);
    if (mutate && r.Below(25) == 0) {
      doc = RandomValue(r, 0);
    } else if (mutate) {
      Mutate(r, doc);
    }
    size_t before = port.published.size();
    core.OnMessage(delta ? core.topics().updateDelta() : core.topics().getAccepted(), doc.data(),
                   doc.size(), static_cast<uint64_t>(i) * 10);
    CAPTURE(doc);
    const iotcore::State& s = core.state();
    REQUIRE(s.intervalS >= iotcore::kMinIntervalS);
    REQUIRE(s.intervalS <= iotcore::kMaxIntervalS);
    REQUIRE(s.setpoint >= iotcore::kMinSetpoint);
    REQUIRE(s.setpoint <= iotcore::kMaxSetpoint);
    REQUIRE(port.published.size() <= before + 1);
    if (port.published.size() == before + 1) CheckReport(port.published.back(), core, ++seq);
    if (mutate) {
      mutated++;
      continue;
    }
    applied++;
    REQUIRE(port.published.size() == before + 1);
    REQUIRE(s.led == d.want.led);
    REQUIRE(s.setpoint == d.want.setpoint);
    REQUIRE(s.intervalS == d.want.intervalS);
  }
  CHECK(core.seq() == seq);
  CHECK(applied > 40000);
  CHECK(mutated > 40000);
  CHECK(core.stats().malformed > 10000);
  CHECK(core.stats().valuesRefused > 10000);
  MESSAGE(applied, " applied as generated, ", mutated, " mutated, ", core.stats().malformed,
          " refused as malformed");
}
