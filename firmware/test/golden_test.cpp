// Replays the delta and get/accepted documents of the emulator's golden
// file (shadow/testdata/golden.json, the shadow service's exact output)
// through Core::OnMessage: each must parse, apply what the firmware knows,
// and list and clear what it does not.
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "../lib/iotcore/core.h"
#include "recording_port.h"

using iotcore::Owned;

namespace {

struct Replayed {
  std::string name, topic, payload;
};

std::string GoldenPath() {
  std::string here = __FILE__;
  return here.substr(0, here.find_last_of('/') + 1) + "../../shadow/testdata/golden.json";
}

// Golden lists the documents a device receives: every delta, and the
// accepted answer of every get.
std::vector<Replayed> Golden(const iotcore::Topics& topics) {
  std::ifstream in(GoldenPath());
  REQUIRE_MESSAGE(in.good(), "cannot read " << GoldenPath());
  std::stringstream text;
  text << in.rdbuf();
  Owned cases(cJSON_Parse(text.str().c_str()));
  REQUIRE(cJSON_IsArray(cases.get()));
  std::vector<Replayed> out;
  const cJSON* c = nullptr;
  cJSON_ArrayForEach(c, cases.get()) {
    const cJSON* step = nullptr;
    cJSON_ArrayForEach(step, cJSON_GetObjectItem(c, "steps")) {
      std::string name = cJSON_GetObjectItem(c, "name")->valuestring;
      const cJSON* delta = cJSON_GetObjectItem(step, "delta");
      const cJSON* accepted = cJSON_GetObjectItem(step, "accepted");
      if (cJSON_IsString(delta)) out.push_back({name, topics.updateDelta(), delta->valuestring});
      if (std::string(cJSON_GetObjectItem(step, "op")->valuestring) == "get" &&
          cJSON_IsString(accepted)) {
        out.push_back({name, topics.getAccepted(), accepted->valuestring});
      }
    }
  }
  return out;
}

bool Listed(const cJSON* array, const char* key) {
  const cJSON* e = nullptr;
  cJSON_ArrayForEach(e, array) {
    if (cJSON_IsString(e) && std::string(e->valuestring) == key) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("the golden deltas and get/accepted documents apply through Core::OnMessage") {
  RecordingPort port;
  iotcore::Settings settings;
  settings.thing = "thing1";
  iotcore::Core probe(port, settings);
  REQUIRE(probe.Begin());
  std::vector<Replayed> docs = Golden(probe.topics());
  CHECK(docs.size() >= 8);
  for (const Replayed& d : docs) {
    CAPTURE(d.name);
    CAPTURE(d.payload);
    RecordingPort p;
    iotcore::Core core(p, settings);
    REQUIRE(core.Begin());
    core.OnConnected(0);
    core.OnMessage(d.topic.c_str(), d.payload.data(), d.payload.size(), 10);
    CHECK(core.stats().malformed == 0);
    CHECK(core.stats().dropped == 0);
    REQUIRE(p.published.size() == 2);  // the connect's get, then the report
    Owned report(cJSON_Parse(p.published[1].payload.c_str()));
    const cJSON* reportState = cJSON_GetObjectItem(report.get(), "state");
    const cJSON* reported = cJSON_GetObjectItem(reportState, "reported");
    const cJSON* corrections = cJSON_GetObjectItem(reportState, "desired");
    REQUIRE(cJSON_IsObject(reported));

    Owned doc(cJSON_Parse(d.payload.c_str()));
    const cJSON* state = cJSON_GetObjectItem(doc.get(), "state");
    const cJSON* desired =
        d.topic == probe.topics().updateDelta() ? state : cJSON_GetObjectItem(state, "desired");
    const cJSON* key = nullptr;
    cJSON_ArrayForEach(key, desired) {
      CAPTURE(std::string(key->string));
      if (std::string(key->string) == "led") {
        if (cJSON_IsBool(key)) {
          CHECK(core.state().led == cJSON_IsTrue(key));
        } else {  // refused: desired is set back to the value in use
          CHECK(cJSON_IsFalse(cJSON_GetObjectItem(corrections, "led")));
        }
      } else {  // golden has no other key the firmware knows
        CHECK(Listed(cJSON_GetObjectItem(reported, "ignored"), key->string));
        CHECK(cJSON_IsNull(cJSON_GetObjectItem(corrections, key->string)));
      }
    }
    if (desired == nullptr) CHECK(corrections == nullptr);
  }
}
