// AWS IoT Jobs as the firmware runs them, the same as iotwatch sim
// (devicesim/jobs.go, devicesim/ota.go): it asks for the next job
// (start-next, stepTimeoutInMinutes 10) at every connect and when
// notify-next names one, rejects a document it cannot act on with the
// reason, and for an "ota" document downloads the image over HTTPS, checks
// its size and SHA-256 while writing it to the other slot, reports
// progress in statusDetails, reboots into it once the service has taken
// step=rebooting, and reports SUCCEEDED only when the new image is up and
// connected (FAILED when the device came back on another image).
//
// The pure parts (documents, the decision after a reboot, the payloads, the
// image check) are free functions and ImageCheck; JobRunner does the
// talking, through the Port and the Updater the device gives it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "json.h"
#include "topics.h"

namespace iotcore {

class Port;

constexpr size_t kMaxJobId = 64;       // AWS's limit on a job id
constexpr size_t kMaxFwVersion = 64;   // a version the device reports as fw
constexpr size_t kMaxImageUrl = 2048;  // a presigned S3 URL is ~1,300 characters
constexpr int kJobStepMinutes = 10;    // a hung update is TIMED_OUT after it
constexpr size_t kSha256Hex = 64;

// OtaJob is an "ota" job document: the image to download and check.
struct OtaJob {
  char version[kMaxFwVersion + 1] = "";
  char url[kMaxImageUrl + 1] = "";
  char sha256[kSha256Hex + 1] = "";
  uint32_t size = 0;
};

// ParseJobDocument reads an execution's jobDocument: true with the OTA, or
// false with the reason the device rejects the job (a sentence for
// statusDetails.reason). capacity is the largest image the device can
// write.
bool ParseJobDocument(const cJSON* document, uint32_t capacity, OtaJob* ota, char* reason,
                      size_t reasonLen);

// JobStep is what the device does with an execution it was handed.
enum class JobStep {
  kDownload,    // fetch, check and write the image, then reboot into it
  kConfirm,     // booted the new image: SUCCEEDED
  kRolledBack,  // came back on another image: FAILED
};

// kStepRebooting is the statusDetails step reported before the reboot; the
// execution carries it across, so that the next boot knows what it was
// meant to run.
constexpr const char* kStepRebooting = "rebooting";

// NextStep decides from the execution's statusDetails.step (null when
// absent) and the firmware running: an execution that was rebooting into
// target is confirmed when target runs, failed when it does not; any other
// starts (or restarts, after a reboot mid-download) the download.
JobStep NextStep(const char* step, const char* running, const char* target);

// Detail is one statusDetails member.
struct Detail {
  const char* key;
  const char* value;
};

// BuildStartNext writes the start-next request; BuildJobUpdate a JOB/update
// (clientToken tells its answer apart: the reboot waits for the one of the
// rebooting step). Each returns the length, or 0 when buf is too small.
size_t BuildStartNext(char* buf, size_t len);
size_t BuildJobUpdate(const char* status, const Detail* details, size_t count,
                      const char* clientToken, char* buf, size_t len);

// Sha256 is the port's streaming hash (mbedTLS on the ESP32, OpenSSL on
// Linux).
class Sha256 {
 public:
  virtual ~Sha256() = default;
  virtual void Begin() = 0;
  virtual void Update(const uint8_t* data, size_t len) = 0;
  virtual void Finish(uint8_t digest[32]) = 0;
};

// ImageSink takes a download chunk by chunk; false stops it.
class ImageSink {
 public:
  virtual ~ImageSink() = default;
  virtual bool Take(const uint8_t* data, size_t len) = 0;
};

// Updater is the device's half of an update: the transport, the other image
// slot and the reboot. Errors come back as a sentence in error.
class Updater {
 public:
  virtual ~Updater() = default;
  // Capacity is the largest image the other slot holds.
  virtual uint32_t Capacity() = 0;
  virtual Sha256& Hash() = 0;
  // Download GETs url over HTTPS, trusting the MQTT connection's CA and
  // checking the server's name as MQTT does, and hands the body to sink;
  // false when the transfer fails or sink stops it.
  virtual bool Download(const char* url, ImageSink& sink, char* error, size_t errorLen) = 0;
  // Open readies the other slot for size bytes; Write appends; Close
  // completes it (the image is checked by then); Abort discards it.
  virtual bool Open(uint32_t size, char* error, size_t errorLen) = 0;
  virtual bool Write(const uint8_t* data, size_t len, char* error, size_t errorLen) = 0;
  virtual bool Close(char* error, size_t errorLen) = 0;
  virtual void Abort() = 0;
  // Reboot restarts into the closed image (the board's next boot falls
  // back to the running one if the new one does not come up); it returns
  // only when it could not, the reason logged.
  virtual void Reboot() = 0;
};

// ImageCheck measures a download against the job: its size, its SHA-256
// and the quarters of progress to report.
class ImageCheck {
 public:
  ImageCheck(const OtaJob& job, Sha256& hash);
  // Add takes the next chunk; false (with reason()) once the image is
  // larger than the job says.
  bool Add(const uint8_t* data, size_t len);
  // NextProgress returns the next quarter (25, 50, 75) passed since it was
  // last asked, or -1.
  int NextProgress();
  // Finish checks size and sum once the download ended.
  bool Finish();
  const char* reason() const { return reason_; }
  uint32_t received() const { return received_; }

 private:
  const OtaJob& job_;
  Sha256& hash_;
  uint32_t received_ = 0;
  int reported_ = 0;  // the last quarter handed out
  char reason_[200] = "";
};

// JobRunner is the device's job client. The core gives it the Jobs topics'
// messages and calls Poll from its loop, where the download runs: never
// inside a message callback, whose publishes a transport may only queue.
class JobRunner : private ImageSink {
 public:
  // updater null: a device without an update slot takes no jobs (it never
  // asks for one). running is the firmware version it reports as fw.
  JobRunner(Port& port, const Topics& topics, Updater* updater, const char* running);

  void OnConnected();
  void OnDisconnected();
  // OnMessage takes a message on one of the Jobs topics (Topics::IsJobs).
  void OnMessage(const char* topic, const char* payload, size_t len);
  void Poll();

  // busy is the job being run ("" when none).
  const char* busy() const { return busy_; }

 private:
  enum class Phase { kIdle, kDownloadDue, kAwaitingReboot, kRebootDue };

  void StartNext();
  void Run(const cJSON* execution);
  void Download();
  bool Take(const uint8_t* data, size_t len) override;
  void Fail(const char* reason);
  void Update(const char* status, const Detail* details, size_t count, const char* token);
  void OnUpdateAnswer(const char* topic, const cJSON* doc);
  void Logf(const char* format, ...) __attribute__((format(printf, 2, 3)));

  Port& port_;
  const Topics& topics_;
  Updater* updater_;
  const char* running_;
  bool connected_ = false;
  Phase phase_ = Phase::kIdle;
  char busy_[kMaxJobId + 1] = "";
  OtaJob ota_;
  // The version whose image is written and closed, waiting for the reboot:
  // if the answer to step=rebooting was lost with the connection, the next
  // start-next finds the execution rebooting and the device reboots then.
  char staged_[kMaxFwVersion + 1] = "";
  ImageCheck* check_ = nullptr;  // while downloading
  char error_[160] = "";
  char buf_[768];
};

}  // namespace iotcore
