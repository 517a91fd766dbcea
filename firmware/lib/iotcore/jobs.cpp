#include "jobs.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "core.h"

namespace iotcore {

namespace {

const char* StringItem(const cJSON* object, const char* key) {
  const cJSON* item = cJSON_GetObjectItemCaseSensitive(object, key);
  return cJSON_IsString(item) ? item->valuestring : nullptr;
}

bool IsSha256Hex(const char* s) {
  if (s == nullptr || strlen(s) != kSha256Hex) return false;
  for (const char* c = s; *c != '\0'; c++) {
    if (!((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'))) return false;
  }
  return true;
}

constexpr const char* kRebootToken = "rebooting";

}  // namespace

bool ParseJobDocument(const cJSON* document, uint32_t capacity, OtaJob* ota, char* reason,
                      size_t reasonLen) {
  *ota = OtaJob();
  if (!cJSON_IsObject(document)) {
    snprintf(reason, reasonLen, "the job document is not a JSON object");
    return false;
  }
  const char* operation = StringItem(document, "operation");
  if (operation == nullptr || strcmp(operation, "ota") != 0) {
    snprintf(reason, reasonLen, "unknown operation \"%.40s\" (this firmware runs \"ota\")",
             operation == nullptr ? "" : operation);
    return false;
  }
  const char* version = StringItem(document, "version");
  const char* url = StringItem(document, "url");
  const char* sha256 = StringItem(document, "sha256");
  const cJSON* size = cJSON_GetObjectItemCaseSensitive(document, "size");
  if (version == nullptr || url == nullptr || version[0] == '\0' || url[0] == '\0') {
    snprintf(reason, reasonLen, "an ota job needs version and url");
  } else if (strlen(version) > kMaxFwVersion || strlen(url) > kMaxImageUrl) {
    snprintf(reason, reasonLen, "an ota job's version (at most %u characters) or url (%u) is too long",
             static_cast<unsigned>(kMaxFwVersion), static_cast<unsigned>(kMaxImageUrl));
  } else if (strncmp(url, "https://", 8) != 0) {
    snprintf(reason, reasonLen, "the image url must be https:// (the device checks the server)");
  } else if (!IsSha256Hex(sha256)) {
    snprintf(reason, reasonLen, "an ota job needs the image's sha256 (64 lower-case hex digits)");
  } else if (capacity == 0) {
    snprintf(reason, reasonLen, "this device has no slot to write an image to (its partition table)");
  } else if (!cJSON_IsNumber(size) || !(size->valuedouble >= 1) ||
             size->valuedouble > static_cast<double>(capacity) ||
             size->valuedouble != static_cast<double>(static_cast<uint32_t>(size->valuedouble))) {
    snprintf(reason, reasonLen, "image size %.0f: give 1 to %" PRIu32 " bytes",
             cJSON_IsNumber(size) ? size->valuedouble : 0.0, capacity);
  } else {
    snprintf(ota->version, sizeof ota->version, "%s", version);
    snprintf(ota->url, sizeof ota->url, "%s", url);
    snprintf(ota->sha256, sizeof ota->sha256, "%s", sha256);
    ota->size = static_cast<uint32_t>(size->valuedouble);
    return true;
  }
  return false;
}

JobStep NextStep(const char* step, const char* running, const char* target) {
  if (step == nullptr || strcmp(step, kStepRebooting) != 0) return JobStep::kDownload;
  return strcmp(running, target) == 0 ? JobStep::kConfirm : JobStep::kRolledBack;
}

size_t BuildStartNext(char* buf, size_t len) {
  int n = snprintf(buf, len, "{\"clientToken\":\"start-next\",\"stepTimeoutInMinutes\":%d}",
                   kJobStepMinutes);
  return n > 0 && static_cast<size_t>(n) < len ? static_cast<size_t>(n) : 0;
}

size_t BuildJobUpdate(const char* status, const Detail* details, size_t count,
                      const char* clientToken, char* buf, size_t len) {
  Owned doc(cJSON_CreateObject());
  cJSON_AddStringToObject(doc.get(), "status", status);
  cJSON* d = cJSON_AddObjectToObject(doc.get(), "statusDetails");
  for (size_t i = 0; i < count; i++) cJSON_AddStringToObject(d, details[i].key, details[i].value);
  cJSON_AddStringToObject(doc.get(), "clientToken", clientToken);
  if (!cJSON_PrintPreallocated(doc.get(), buf, static_cast<int>(len), false)) return 0;
  return strlen(buf);
}

ImageCheck::ImageCheck(const OtaJob& job, Sha256& hash) : job_(job), hash_(hash) { hash_.Begin(); }

bool ImageCheck::Add(const uint8_t* data, size_t len) {
  if (len > job_.size - received_) {
    snprintf(reason_, sizeof reason_, "the image is larger than the job's %" PRIu32 " bytes",
             job_.size);
    return false;
  }
  received_ += static_cast<uint32_t>(len);
  hash_.Update(data, len);
  return true;
}

int ImageCheck::NextProgress() {
  int next = reported_ + 25;
  if (next >= 100 || static_cast<uint64_t>(received_) * 100 < static_cast<uint64_t>(next) * job_.size) {
    return -1;
  }
  reported_ = next;
  return next;
}

bool ImageCheck::Finish() {
  if (received_ != job_.size) {
    snprintf(reason_, sizeof reason_, "the image is %" PRIu32 " bytes; the job says %" PRIu32,
             received_, job_.size);
    return false;
  }
  uint8_t digest[32];
  hash_.Finish(digest);
  char hex[kSha256Hex + 1];
  for (size_t i = 0; i < sizeof digest; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  if (strcmp(hex, job_.sha256) != 0) {
    snprintf(reason_, sizeof reason_, "sha256 mismatch: the image is %s, the job says %s", hex,
             job_.sha256);
    return false;
  }
  return true;
}

JobRunner::JobRunner(Port& port, const Topics& topics, Updater* updater, const char* running)
    : port_(port), topics_(topics), updater_(updater), running_(running) {
  buf_[0] = '\0';
}

void JobRunner::OnConnected() {
  connected_ = true;
  if (updater_ != nullptr) StartNext();
}

void JobRunner::OnDisconnected() {
  connected_ = false;
  // The answer to step=rebooting is lost: start-next says where it stands.
  if (phase_ == Phase::kAwaitingReboot) {
    phase_ = Phase::kIdle;
    busy_[0] = '\0';
  }
}

void JobRunner::StartNext() {
  size_t n = BuildStartNext(buf_, sizeof buf_);
  if (!port_.Publish(topics_.startNext(), buf_, n)) Logf("jobs: start-next could not be sent");
}

void JobRunner::OnMessage(const char* topic, const char* payload, size_t len) {
  if (updater_ == nullptr) return;
  Owned doc(ParseObject(payload, len));
  if (doc.get() == nullptr) {
    Logf("jobs: %s: not a JSON object; ignored", topic);
    return;
  }
  const cJSON* execution = cJSON_GetObjectItemCaseSensitive(doc.get(), "execution");
  if (!cJSON_IsObject(execution)) execution = nullptr;
  if (strcmp(topic, topics_.notifyNext()) == 0) {
    // The service moved on from the job the device was busy with (it timed
    // out or was canceled): drop it.
    const char* next = StringItem(execution, "jobId");
    if (busy_[0] != '\0' && (next == nullptr || strcmp(next, busy_) != 0)) {
      Logf("job %s is no longer the next (canceled or timed out): dropped", busy_);
      busy_[0] = '\0';
      phase_ = Phase::kIdle;
    }
    if (execution != nullptr && busy_[0] == '\0') StartNext();
  } else if (strcmp(topic, topics_.startNextAccepted()) == 0) {
    if (execution != nullptr) Run(execution);
  } else if (strcmp(topic, topics_.startNextRejected()) == 0) {
    const char* code = StringItem(doc.get(), "code");
    const char* message = StringItem(doc.get(), "message");
    Logf("jobs: start-next rejected: %s %s", code ? code : "", message ? message : "");
  } else {
    OnUpdateAnswer(topic, doc.get());
  }
}

void JobRunner::OnUpdateAnswer(const char* topic, const cJSON* doc) {
  char jobId[kMaxJobId + 1];
  bool accepted = false;
  if (!topics_.JobUpdateAnswer(topic, jobId, sizeof jobId, &accepted)) return;
  bool ours = phase_ == Phase::kAwaitingReboot && strcmp(jobId, busy_) == 0;
  const char* token = StringItem(doc, "clientToken");
  if (accepted) {
    if (ours && token != nullptr && strcmp(token, kRebootToken) == 0) phase_ = Phase::kRebootDue;
    return;
  }
  const char* code = StringItem(doc, "code");
  const char* message = StringItem(doc, "message");
  Logf("job %s: update rejected: %s %s", jobId, code ? code : "", message ? message : "");
  if (ours && token != nullptr && strcmp(token, kRebootToken) == 0) {
    Logf("job %s: not rebooting into %s", jobId, staged_);
    busy_[0] = '\0';
    phase_ = Phase::kIdle;
  }
}

void JobRunner::Run(const cJSON* execution) {
  const char* jobId = StringItem(execution, "jobId");
  char topic[kMaxTopic];
  if (jobId == nullptr || !topics_.JobUpdate(jobId, topic, sizeof topic)) {
    Logf("jobs: an execution without a valid jobId; ignored");
    return;
  }
  if (strcmp(jobId, busy_) == 0 && phase_ != Phase::kIdle) return;  // already on it
  snprintf(busy_, sizeof busy_, "%s", jobId);
  phase_ = Phase::kIdle;
  const cJSON* details = cJSON_GetObjectItemCaseSensitive(execution, "statusDetails");
  char reason[256];
  if (!ParseJobDocument(cJSON_GetObjectItemCaseSensitive(execution, "jobDocument"),
                        updater_->Capacity(), &ota_,
                        reason, sizeof reason)) {
    Logf("job %s: rejected: %s", busy_, reason);
    Detail d[] = {{"reason", reason}};
    Update("REJECTED", d, 1, "REJECTED");
    busy_[0] = '\0';
    return;
  }
  switch (NextStep(StringItem(details, "step"), running_, ota_.version)) {
    case JobStep::kConfirm: {
      Logf("job %s: running %s after the update: SUCCEEDED", busy_, ota_.version);
      Detail d[] = {{"fw", ota_.version}};
      Update("SUCCEEDED", d, 1, "SUCCEEDED");
      busy_[0] = '\0';
      return;
    }
    case JobStep::kRolledBack:
      if (strcmp(staged_, ota_.version) == 0) {
        Logf("job %s: the image of %s is written; rebooting into it", busy_, ota_.version);
        phase_ = Phase::kRebootDue;
        return;
      }
      snprintf(reason, sizeof reason, "rebooted into %s, not %s: rolled back", running_, ota_.version);
      Logf("job %s: %s", busy_, reason);
      Fail(reason);
      return;
    case JobStep::kDownload:
      Logf("job %s: updating to %s (%" PRIu32 " bytes)", busy_, ota_.version, ota_.size);
      phase_ = Phase::kDownloadDue;
      return;
  }
}

void JobRunner::Poll() {
  if (phase_ == Phase::kDownloadDue && connected_) {
    Download();
  } else if (phase_ == Phase::kRebootDue) {
    Logf("job %s: rebooting into %s", busy_, ota_.version);
    updater_->Reboot();
    Fail("the device could not boot the new image (its log says why)");
  }
}

void JobRunner::Download() {
  phase_ = Phase::kIdle;
  staged_[0] = '\0';
  Detail progress[] = {{"step", "download"}, {"progress", "0%"}};
  Update("IN_PROGRESS", progress, 2, "download");
  char error[160] = "";
  char reason[256];
  if (!updater_->Open(ota_.size, error, sizeof error)) {
    snprintf(reason, sizeof reason, "cannot write the image: %s", error);
    Fail(reason);
    return;
  }
  ImageCheck check(ota_, updater_->Hash());
  check_ = &check;
  error_[0] = '\0';
  bool fetched = updater_->Download(ota_.url, *this, error, sizeof error);
  check_ = nullptr;
  bool ok = fetched && check.Finish();
  if (!ok) {
    updater_->Abort();
    if (check.reason()[0] != '\0') {
      snprintf(reason, sizeof reason, "%s", check.reason());
    } else if (error_[0] != '\0') {
      snprintf(reason, sizeof reason, "cannot write the image: %s", error_);
    } else {
      snprintf(reason, sizeof reason, "download: %s", error);
    }
    Fail(reason);
    return;
  }
  if (!updater_->Close(error, sizeof error)) {
    snprintf(reason, sizeof reason, "the image was refused: %s", error);
    Fail(reason);
    return;
  }
  snprintf(staged_, sizeof staged_, "%s", ota_.version);
  Logf("job %s: image %s checked (%" PRIu32 " bytes, sha256 %.12s…); rebooting into it once the "
       "service has the step",
       busy_, ota_.version, ota_.size, ota_.sha256);
  Detail rebooting[] = {{"step", kStepRebooting}, {"target", ota_.version}};
  Update("IN_PROGRESS", rebooting, 2, kRebootToken);
  phase_ = Phase::kAwaitingReboot;
}

bool JobRunner::Take(const uint8_t* data, size_t len) {
  if (!check_->Add(data, len)) return false;
  if (!updater_->Write(data, len, error_, sizeof error_)) return false;
  for (int p; (p = check_->NextProgress()) > 0;) {
    char percent[12];
    snprintf(percent, sizeof percent, "%d%%", p);
    Detail progress[] = {{"step", "download"}, {"progress", percent}};
    Update("IN_PROGRESS", progress, 2, "download");
  }
  return true;
}

void JobRunner::Fail(const char* reason) {
  Logf("job %s: FAILED: %s", busy_, reason);
  Detail d[] = {{"reason", reason}};
  Update("FAILED", d, 1, "FAILED");
  busy_[0] = '\0';
  phase_ = Phase::kIdle;
}

void JobRunner::Update(const char* status, const Detail* details, size_t count, const char* token) {
  char topic[kMaxTopic];
  size_t n = BuildJobUpdate(status, details, count, token, buf_, sizeof buf_);
  if (!topics_.JobUpdate(busy_, topic, sizeof topic) || n == 0 || !port_.Publish(topic, buf_, n)) {
    Logf("job %s: the %s update could not be sent", busy_, status);
  }
}

void JobRunner::Logf(const char* format, ...) {
  va_list args;
  va_start(args, format);
  VLogf(port_, format, args);
  va_end(args);
}

}  // namespace iotcore
