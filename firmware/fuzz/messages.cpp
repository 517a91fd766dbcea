// libFuzzer target (make fuzz): the first byte's low two bits pick the topic
// the core receives the rest on, its next bits the session events around it
// (connections lost before the get's answer, drops, an hour later). Any
// crash, sanitizer report, out-of-range state or malformed report aborts.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "../lib/iotcore/core.h"

namespace {

class CheckingPort : public iotcore::Port {
 public:
  bool Publish(const char*, const char* payload, size_t len) override {
    if (len > iotcore::kMaxReport) abort();
    iotcore::Owned doc(cJSON_ParseWithLength(payload, len));
    if (!cJSON_IsObject(doc.get())) abort();
    return true;
  }
  iotcore::Vitals ReadVitals(uint64_t) override { return iotcore::Vitals(); }
  bool Subscribe(const char*) override { return true; }
  void SetLed(bool) override {}
  void Log(const char*) override {}
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  CheckingPort port;
  iotcore::Settings settings;
  settings.thing = "fuzz";
  iotcore::Core core(port, settings);
  if (!core.Begin()) abort();
  core.OnConnected(0);
  unsigned events = data[0] >> 2;
  for (unsigned i = 0; i < (events & 3); i++) {  // gets lost with their connection
    core.OnDisconnected(100 + i);
    core.OnConnected(200 + i);
  }
  if (events & 4) core.OnDropped(1, 300);
  const iotcore::Topics& t = core.topics();
  const char* topics[] = {t.updateDelta(), t.getAccepted(), t.getRejected(), t.updateRejected()};
  core.OnMessage(topics[data[0] % 4], reinterpret_cast<const char*>(data + 1), size - 1, 1000);
  if (events & 8) core.Poll(1000 + iotcore::Core::kDeltaOnlyMs);
  const iotcore::State& s = core.state();
  if (s.intervalS < iotcore::kMinIntervalS || s.intervalS > iotcore::kMaxIntervalS) abort();
  if (!(s.setpoint >= iotcore::kMinSetpoint && s.setpoint <= iotcore::kMaxSetpoint)) abort();
  return 0;
}
