// Core is the firmware's behaviour, independent of Arduino: after each
// connect it asks for the shadow, applies desired state from get/accepted
// and deltas, reports every interval and at once after applying, and counts
// what it refused. The ESP32 sketch and the Linux host program give it a
// Port and call it from their loops; neither holds any shadow logic.
#pragma once

#include <cstddef>
#include <cstdint>

#include "report.h"
#include "state.h"
#include "topics.h"

namespace iotcore {

// The MQTT buffer of the device: shadow documents larger than this are
// refused, and reports must fit in it.
constexpr size_t kMaxPayload = 4096;

// Port is what the core needs from the device it runs on.
class Port {
 public:
  virtual ~Port() = default;
  // Publish sends payload at QoS 1; false when it could not be sent.
  virtual bool Publish(const char* topic, const char* payload, size_t len) = 0;
  virtual Vitals ReadVitals(uint64_t uptimeMs) = 0;
  virtual void SetLed(bool on) = 0;
  // Log takes one line of what happened, for the serial console or stderr.
  virtual void Log(const char* line) = 0;
};

struct Settings {
  const char* thing = "";
  const char* shadow = "";  // empty: the classic shadow
  Identity id;
  int intervalS = 10;
};

// Stats count what the core did; refusals never stop it.
struct Stats {
  uint32_t reports = 0;
  uint32_t publishFailures = 0;
  uint32_t reportsTooLarge = 0;
  uint32_t deltasApplied = 0;
  uint32_t valuesRefused = 0;
  uint32_t keysIgnored = 0;
  uint32_t tooLarge = 0;     // payloads over kMaxPayload
  uint32_t malformed = 0;    // not JSON, too deep, or not the expected shape
  uint32_t unexpected = 0;   // topics the core did not subscribe to
  uint32_t rejected = 0;     // get/update rejected by the service
};

class Core {
 public:
  Core(Port& port, const Settings& settings);

  // Begin checks the names; false (with a log line) when the thing or
  // shadow name is invalid, in which case the core must not be used.
  bool Begin();
  const Topics& topics() const { return topics_; }

  // OnConnected is called once the subscriptions are in place: it requests
  // the shadow, whose answer applies desired state and sends a report.
  void OnConnected(uint64_t uptimeMs);
  void OnDisconnected();
  void OnMessage(const char* topic, const char* payload, size_t len, uint64_t uptimeMs);
  // Poll sends the periodic report when it is due; call it often.
  void Poll(uint64_t uptimeMs);

  const State& state() const { return state_; }
  const Stats& stats() const { return stats_; }
  uint64_t seq() const { return seq_; }

 private:
  cJSON* Parse(const char* what, const char* payload, size_t len);
  void OnDelta(const char* payload, size_t len, uint64_t uptimeMs);
  void OnGetAccepted(const char* payload, size_t len, uint64_t uptimeMs);
  void OnRejected(const char* op, const char* payload, size_t len, uint64_t uptimeMs);
  void ApplyAndReport(const cJSON* desired, uint64_t uptimeMs);
  void Report(const Applied* applied, uint64_t uptimeMs);
  void Logf(const char* format, ...) __attribute__((format(printf, 2, 3)));

  Port& port_;
  Settings settings_;
  Topics topics_;
  State state_;
  Stats stats_;
  uint64_t seq_ = 0;
  bool connected_ = false;
  uint64_t nextReportMs_ = 0;
  char buf_[kMaxPayload + 1];
};

}  // namespace iotcore
