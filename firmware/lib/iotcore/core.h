// Core is the firmware's behaviour, independent of Arduino: after each
// connect it asks for the shadow, applies desired state from get/accepted
// and deltas, reports every interval and at once after applying, and counts
// what it refused. The ESP32 sketch and the Linux host program give it a
// Port and call it from their loops; neither holds any shadow logic.
#pragma once

#include <cstdarg>
#include <cstddef>
#include <cstdint>

#include "jobs.h"
#include "report.h"
#include "state.h"
#include "topics.h"

namespace iotcore {

// kMaxDocument is AWS IoT's limit on one MQTT payload (128 KB), which
// bounds every shadow document the service can send. Measured against the
// emulator's shadow service (shadow.Update/Get) with the 8 KB state full and
// a 64-byte client token, the largest documents are, by shape of the state:
//   one long string               get/accepted  16,638 B   delta   8,351 B
//   ~1,000 keys with small values get/accepted  48,127 B   delta  39,998 B
//   one array of ~4,000 zeros     get/accepted 118,605 B   delta 110,474 B
// as metadata gives every leaf and array element {"timestamp":...}. The
// string's get/accepted is largest with a device's reported section beside
// it (16,483 B without); the others with desired alone. firmware_test.go
// checks these against the limits and sends the array through `serve`
// (118,466 B received).
constexpr size_t kMaxDocument = 128 * 1024;
// Reports are built here, a few hundred bytes; the limit only bounds the
// buffer.
constexpr size_t kMaxReport = 4096;

// Port is what the core needs from the device it runs on.
class Port {
 public:
  virtual ~Port() = default;
  // Publish sends payload at QoS 1; false when it could not be sent.
  virtual bool Publish(const char* topic, const char* payload, size_t len) = 0;
  // Subscribe subscribes to topic at QoS 1 on the open connection (the
  // core asks only to take update/delta back, see Core::Subscribes).
  virtual bool Subscribe(const char* topic) = 0;
  virtual Vitals ReadVitals(uint64_t uptimeMs) = 0;
  virtual void SetLed(bool on) = 0;
  // Log takes one line of what happened, for the serial console or stderr.
  virtual void Log(const char* line) = 0;
};

// VLogf formats one line for port.Log (the core's and the job client's).
void VLogf(Port& port, const char* format, va_list args);

struct Settings {
  const char* thing = "";
  const char* shadow = "";  // empty: the classic shadow
  Identity id;
  int intervalS = 10;
  // Documents longer than this are dropped and the shadow is asked for
  // again: the device's own buffer limit (src/main.cpp, fw-host --max-payload).
  size_t maxPayload = kMaxDocument;
  // The device's OTA half (jobs.h); null: it takes no jobs. id.fw is the
  // version a job's document is compared with.
  Updater* updater = nullptr;
};

// Stats count what the core did; refusals never stop it.
struct Stats {
  uint32_t reports = 0;
  uint32_t publishFailures = 0;
  uint32_t reportsTooLarge = 0;
  uint32_t deltasApplied = 0;
  uint32_t valuesRefused = 0;
  uint32_t keysIgnored = 0;
  uint32_t dropped = 0;      // messages lost: over maxPayload or no room (reported)
  uint32_t malformed = 0;    // not JSON, too deep, or not the expected shape
  uint32_t unexpected = 0;   // topics the core did not subscribe to
  uint32_t rejected = 0;     // get/update rejected by the service
  uint32_t getUnanswered = 0; // connections in a row lost before the get's answer (reported)
};

class Core {
 public:
  static constexpr uint32_t kMaxUnansweredGets = 2;
  static constexpr uint32_t kDeltaOnlyMs = 3600000;  // between full gets while they fail

  Core(Port& port, const Settings& settings);

  // Begin checks the names; false (with a log line) when the thing or
  // shadow name is invalid, in which case the core must not be used.
  bool Begin();
  const Topics& topics() const { return topics_; }

  // Subscribes is whether the device subscribes to Topics::subscription(i)
  // on a connect at uptimeMs: all of them, but update/delta while the
  // shadow is too large for the device (see getOutstanding_).
  bool Subscribes(size_t i, uint64_t uptimeMs) const;
  // OnConnected is called once those subscriptions are in place: it
  // requests the shadow, whose answer applies desired state and sends a
  // report. After kMaxUnansweredGets connections in a row lost with a get
  // unanswered, it reports at once instead, and asks for the whole shadow
  // again once an hour.
  void OnConnected(uint64_t uptimeMs);
  void OnDisconnected(uint64_t uptimeMs);
  void OnMessage(const char* topic, const char* payload, size_t len, uint64_t uptimeMs);
  // OnDropped counts messages the transport lost (too large for its buffer,
  // or no room to queue them) and asks for the shadow again, as they may
  // have carried desired state.
  void OnDropped(uint32_t count, uint64_t uptimeMs);
  // Poll sends the periodic report, and a get a drop asked for, when they
  // are due; call it often.
  void Poll(uint64_t uptimeMs);

  const State& state() const { return state_; }
  const JobRunner& jobs() const { return jobs_; }
  const Stats& stats() const { return stats_; }
  uint64_t seq() const { return seq_; }

 private:
  cJSON* Parse(const char* what, const char* payload, size_t len);
  void OnDelta(const char* payload, size_t len, uint64_t uptimeMs);
  void OnGetAccepted(const char* payload, size_t len, uint64_t uptimeMs);
  void OnRejected(const char* op, const char* payload, size_t len, uint64_t uptimeMs);
  void ApplyAndReport(const cJSON* desired, uint64_t uptimeMs);
  void Report(const Applied* applied, uint64_t uptimeMs);
  void RequestShadow(uint64_t uptimeMs);
  bool FullGetAllowed(uint64_t uptimeMs) const;
  void Logf(const char* format, ...) __attribute__((format(printf, 2, 3)));

  Port& port_;
  Settings settings_;
  Topics topics_;
  JobRunner jobs_;
  State state_;
  Stats stats_;
  uint64_t seq_ = 0;
  bool connected_ = false;
  uint64_t nextReportMs_ = 0;
  // A dropped message asks for a get; while the answer is itself too large,
  // the gets are spaced out (doubling up to a minute) rather than repeated
  // as fast as the answers come back.
  bool getWanted_ = false;
  uint64_t lastGetMs_ = 0;
  uint32_t getGapMs_ = kMinGetGapMs;
  static constexpr uint32_t kMinGetGapMs = 1000;
  static constexpr uint32_t kMaxGetGapMs = 60000;
  // A get whose answer never arrives before the connection ends is how a
  // document too large for the link shows on the board: lwmqtt must drain
  // an oversized packet within one 5 s command window, which a slow link
  // cannot do for ~118 KB through the ESP32's 5,760-byte TCP window, so the
  // connection closes, and re-getting on every connect would loop forever
  // (no connection lasting the 60 s that resets the backoff). After two
  // such connections the device stops asking for the whole shadow on
  // connect and reports instead (get_unanswered says why). It does not
  // subscribe to update/delta either: AWS answers every report that leaves
  // desired and reported apart with a delta of every differing desired key,
  // as large as the document that could not be taken. Once an hour it tries
  // a full get; the first that is answered takes update/delta back.
  bool getOutstanding_ = false;
  bool deltaSubscribed_ = true;
  uint64_t fullGetAfterMs_ = 0;
  char buf_[kMaxReport + 1];
};

}  // namespace iotcore
