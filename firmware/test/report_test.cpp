#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "../lib/iotcore/report.h"

using iotcore::Applied;
using iotcore::BuildReport;
using iotcore::Owned;

namespace {

struct Fixture {
  iotcore::State state;
  iotcore::Vitals vitals;
  iotcore::Identity id;
  char buf[4096];

  Fixture() {
    state.led = true;
    state.setpoint = 22.5;
    state.intervalS = 5;
    vitals.temp = 23.45;
    vitals.rssi = -61;
    vitals.heapFree = 181234;
    vitals.heapMinFree = 150002;
    vitals.heapLargestBlock = 110580;
    id.fw = "iotwatch-fw/test";
    id.resetReason = "TASK_WDT";
  }

  // Build returns the parsed report; the test owns it.
  cJSON* Build(const Applied* applied, size_t cap = sizeof(buf)) {
    size_t n = BuildReport(state, vitals, id, {42, 3600, 0, 0}, applied, buf, cap);
    if (n == 0) return nullptr;
    CHECK(n == strlen(buf));
    CHECK(n < cap);
    return cJSON_Parse(buf);
  }
};

const cJSON* At(const cJSON* doc, const char* section, const char* key) {
  return cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "state"), section), key);
}

}  // namespace

TEST_CASE("the report carries every field of DESIGN.md, the drop count, and nothing else") {
  Fixture f;
  Owned doc(f.Build(nullptr));
  REQUIRE(doc.get() != nullptr);
  CHECK(At(doc.get(), "reported", "temp")->valuedouble == 23.45);
  CHECK(At(doc.get(), "reported", "seq")->valuedouble == 42);
  CHECK(At(doc.get(), "reported", "uptime_s")->valuedouble == 3600);
  CHECK(At(doc.get(), "reported", "interval_s")->valuedouble == 5);
  CHECK(cJSON_IsTrue(At(doc.get(), "reported", "led")));
  CHECK(At(doc.get(), "reported", "setpoint")->valuedouble == 22.5);
  CHECK(At(doc.get(), "reported", "rssi")->valuedouble == -61);
  CHECK(At(doc.get(), "reported", "heap_free")->valuedouble == 181234);
  CHECK(std::string(At(doc.get(), "reported", "fw")->valuestring) == "iotwatch-fw/test");
  CHECK(std::string(At(doc.get(), "reported", "reset_reason")->valuestring) == "TASK_WDT");
  CHECK(At(doc.get(), "reported", "dropped")->valuedouble == 0);
  CHECK(At(doc.get(), "reported", "heap_min_free")->valuedouble == 150002);
  CHECK(At(doc.get(), "reported", "heap_largest_block")->valuedouble == 110580);
  CHECK(At(doc.get(), "reported", "get_unanswered")->valuedouble == 0);
  CHECK(At(doc.get(), "reported", "heap_used") == nullptr);  // the board does not report it
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(doc.get(), "state"), "reported")) == 14);
  CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(doc.get(), "state"), "desired") == nullptr);
}

// fw-host has no fixed heap: its free, minimum and largest-block figures
// are null (issue 21 saw 4.294967295e+09 there, a clamp of the host's free
// RAM), and the bytes its process holds go in heap_used instead.
TEST_CASE("a heap figure the platform does not have is null, and heap_used appears when known") {
  Fixture f;
  f.vitals.heapFree.reset();
  f.vitals.heapMinFree.reset();
  f.vitals.heapLargestBlock.reset();
  f.vitals.heapUsed = 5000000000ULL;  // past 32 bits, printed exactly
  REQUIRE(BuildReport(f.state, f.vitals, f.id, {1, 1, 0, 2}, nullptr, f.buf, sizeof f.buf) > 0);
  std::string text = f.buf;
  CHECK(text.find("\"heap_free\":null,\"heap_min_free\":null,\"heap_largest_block\":null,"
                  "\"heap_used\":5000000000,") != std::string::npos);
  CHECK(text.find("\"get_unanswered\":2") != std::string::npos);
  CHECK(text.find("e+09") == std::string::npos);
}

TEST_CASE("numbers are printed with the fewest digits that read back exactly") {
  Fixture f;
  for (double v : {84.24604046849538, 0.1, 22.5, -40.0, 1.0 / 3, 124.99999999999999}) {
    CAPTURE(v);
    f.state.setpoint = v;
    Owned doc(f.Build(nullptr));
    REQUIRE(doc.get() != nullptr);
    CHECK(At(doc.get(), "reported", "setpoint")->valuedouble == v);
  }
  f.state.setpoint = 0.1;
  REQUIRE(BuildReport(f.state, f.vitals, f.id, {1, 1, 0, 0}, nullptr, f.buf, sizeof f.buf) > 0);
  CHECK(std::string(f.buf).find("\"setpoint\":0.1,") != std::string::npos);
}

TEST_CASE("the exact bytes of a report") {
  Fixture f;
  REQUIRE(BuildReport(f.state, f.vitals, f.id, {7, 70, 3, 0}, nullptr, f.buf, sizeof f.buf) > 0);
  CHECK(std::string(f.buf) ==
        R"({"state":{"reported":{"temp":23.45,"seq":7,"uptime_s":70,"interval_s":5,"led":true,)"
        R"("setpoint":22.5,"rssi":-61,"heap_free":181234,"heap_min_free":150002,"heap_largest_block":110580,)"
        R"("fw":"iotwatch-fw/test","reset_reason":"TASK_WDT","dropped":3,"get_unanswered":0}}})");
}

TEST_CASE("refused values set desired to the value in use; unknown keys are deleted") {
  Fixture f;
  Applied a;
  a.refusedSetpoint = true;
  a.refusedInterval = true;
  strcpy(a.ignored[0], "colour");
  a.ignoredCount = a.ignoredTotal = 1;
  Owned doc(f.Build(&a));
  REQUIRE(doc.get() != nullptr);
  CHECK(At(doc.get(), "desired", "setpoint")->valuedouble == 22.5);
  CHECK(At(doc.get(), "desired", "interval_s")->valuedouble == 5);
  CHECK(At(doc.get(), "desired", "led") == nullptr);
  CHECK(cJSON_IsNull(At(doc.get(), "desired", "colour")));
  const cJSON* ignored = At(doc.get(), "reported", "ignored");
  REQUIRE(cJSON_GetArraySize(ignored) == 1);
  CHECK(std::string(cJSON_GetArrayItem(ignored, 0)->valuestring) == "colour");
}

TEST_CASE("an applied delta with nothing refused adds no desired section") {
  Fixture f;
  Applied a;
  a.changedLed = true;
  Owned doc(f.Build(&a));
  REQUIRE(doc.get() != nullptr);
  CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(doc.get(), "state"), "desired") == nullptr);
}

TEST_CASE("a report that does not fit is refused, never truncated") {
  Fixture f;
  size_t full = BuildReport(f.state, f.vitals, f.id, {42, 3600, 0, 0}, nullptr, f.buf, sizeof f.buf);
  REQUIRE(full > 0);
  size_t smallest = 0;
  for (size_t cap = 0; cap < full + 64; cap++) {
    CAPTURE(cap);
    size_t n = BuildReport(f.state, f.vitals, f.id, {42, 3600, 0, 0}, nullptr, f.buf, cap);
    if (n == 0) {
      CHECK(smallest == 0);  // once it fits, every larger buffer fits
      CHECK((cap == 0 || f.buf[0] == '\0'));
      continue;
    }
    smallest = smallest == 0 ? cap : smallest;
    CHECK(n == full);
  }
  CHECK(smallest > full);
  CHECK(smallest <= full + 32);
}

TEST_CASE("when the ignored keys do not fit they are left out, the report still goes") {
  Fixture f;
  Applied a;
  for (size_t i = 0; i < iotcore::kMaxIgnored; i++) {
    std::string key = std::to_string(i) + std::string(iotcore::kMaxKeyLen - 1, 'k');
    strcpy(a.ignored[i], key.c_str());
  }
  a.ignoredCount = a.ignoredTotal = iotcore::kMaxIgnored;
  size_t plain = BuildReport(f.state, f.vitals, f.id, {42, 3600, 0, 0}, nullptr, f.buf, sizeof f.buf);
  size_t withKeys = BuildReport(f.state, f.vitals, f.id, {42, 3600, 0, 0}, &a, f.buf, sizeof f.buf);
  REQUIRE(withKeys > plain + iotcore::kMaxIgnored * iotcore::kMaxKeyLen);
  Owned doc(f.Build(&a, plain + 16));
  REQUIRE(doc.get() != nullptr);
  CHECK(At(doc.get(), "reported", "ignored") == nullptr);
  CHECK(At(doc.get(), "reported", "seq")->valuedouble == 42);
}
