// libFuzzer target (make fuzz): the first byte's low two bits and bit 6
// pick the topic the core receives the rest on (the shadow's, or the jobs
// client's, whose download of an ota job then runs from Poll), bits 2-5 the
// session events around it (connections lost before the get's answer,
// drops, an hour later). Any crash, sanitizer report, out-of-range state or
// malformed report or job update aborts.
#include <cstdint>
#include <cstdlib>
#include <cstring>
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

// FuzzUpdater serves the URL's own bytes as the image: what the document
// says of size and sum then decides the job, and every path runs.
class FuzzUpdater : public iotcore::Updater {
 public:
  class Sum : public iotcore::Sha256 {
   public:
    void Begin() override { x_ = 0; }
    void Update(const uint8_t* d, size_t n) override {
      for (size_t i = 0; i < n; i++) x_ = x_ * 31 + d[i];
    }
    void Finish(uint8_t digest[32]) override {
      for (int i = 0; i < 32; i++) digest[i] = static_cast<uint8_t>(x_ >> (i % 8));
    }

   private:
    uint64_t x_ = 0;
  };
  uint32_t Capacity() override { return 4096; }
  iotcore::Sha256& Hash() override { return sum_; }
  bool Download(const char* url, iotcore::ImageSink& sink, char*, size_t) override {
    return sink.Take(reinterpret_cast<const uint8_t*>(url), strlen(url));
  }
  bool Open(uint32_t, char*, size_t) override { return true; }
  bool Write(const uint8_t*, size_t, char*, size_t) override { return true; }
  bool Close(char*, size_t) override { return true; }
  void Abort() override {}
  void Reboot() override {}

 private:
  Sum sum_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  CheckingPort port;
  FuzzUpdater updater;
  iotcore::Settings settings;
  settings.thing = "fuzz";
  settings.id.fw = "fw-1";
  settings.updater = &updater;
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
  const char* topics[] = {t.updateDelta(),      t.getAccepted(),       t.getRejected(),
                          t.updateRejected(),   t.startNextAccepted(), t.notifyNext(),
                          t.startNextRejected(), "$aws/things/fuzz/jobs/j/update/accepted"};
  unsigned topic = (data[0] & 3u) | ((data[0] >> 4) & 4u);
  core.OnMessage(topics[topic], reinterpret_cast<const char*>(data + 1), size - 1, 1000);
  core.Poll(2000);
  if (events & 8) core.Poll(1000 + iotcore::Core::kDeltaOnlyMs);
  const iotcore::State& s = core.state();
  if (s.intervalS < iotcore::kMinIntervalS || s.intervalS > iotcore::kMaxIntervalS) abort();
  if (!(s.setpoint >= iotcore::kMinSetpoint && s.setpoint <= iotcore::kMaxSetpoint)) abort();
  return 0;
}
