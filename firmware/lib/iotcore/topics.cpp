#include "topics.h"

#include <cstdio>
#include <cstring>

namespace iotcore {

bool ValidName(const char* s, size_t max) {
  if (s == nullptr) return false;
  size_t n = strlen(s);
  if (n == 0 || n > max) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == ':' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool Topics::Build(const char* thing, const char* shadow) {
  *this = Topics();
  bool named = shadow != nullptr && shadow[0] != '\0';
  if (!ValidName(thing, kMaxThingName) || (named && !ValidName(shadow, kMaxShadowName))) {
    return false;
  }
  char prefix[kMaxTopic];
  if (named) {
    snprintf(prefix, sizeof prefix, "$aws/things/%s/shadow/name/%s/", thing, shadow);
  } else {
    snprintf(prefix, sizeof prefix, "$aws/things/%s/shadow/", thing);
  }
  struct {
    char* out;
    const char* op;
  } const all[] = {
      {get_, "get"},       {getAccepted_, "get/accepted"}, {getRejected_, "get/rejected"},
      {update_, "update"}, {updateDelta_, "update/delta"}, {updateRejected_, "update/rejected"},
  };
  for (const auto& t : all) snprintf(t.out, kMaxTopic, "%s%s", prefix, t.op);
  snprintf(jobsPrefix_, sizeof jobsPrefix_, "$aws/things/%s/jobs/", thing);
  struct {
    char* out;
    const char* op;
  } const jobs[] = {
      {notifyNext_, "notify-next"},
      {startNext_, "start-next"},
      {startNextAccepted_, "start-next/accepted"},
      {startNextRejected_, "start-next/rejected"},
      {jobUpdateAnswers_, "+/update/+"},
  };
  for (const auto& t : jobs) snprintf(t.out, kMaxTopic, "%s%s", jobsPrefix_, t.op);
  return true;
}

bool Topics::IsJobs(const char* topic) const {
  return jobsPrefix_[0] != '\0' && strncmp(topic, jobsPrefix_, strlen(jobsPrefix_)) == 0;
}

bool Topics::JobUpdate(const char* jobId, char* out, size_t len) const {
  // AWS's job ids: 1-64 of a-zA-Z0-9_- (the thing-name rule without ':').
  if (!ValidName(jobId, 64) || strchr(jobId, ':') != nullptr) return false;
  return static_cast<size_t>(snprintf(out, len, "%s%s/update", jobsPrefix_, jobId)) < len;
}

bool Topics::JobUpdateAnswer(const char* topic, char* jobId, size_t len, bool* accepted) const {
  if (!IsJobs(topic)) return false;
  const char* id = topic + strlen(jobsPrefix_);
  const char* slash = strchr(id, '/');
  if (slash == nullptr || slash == id || static_cast<size_t>(slash - id) >= len) return false;
  if (strcmp(slash, "/update/accepted") == 0) {
    *accepted = true;
  } else if (strcmp(slash, "/update/rejected") == 0) {
    *accepted = false;
  } else {
    return false;
  }
  snprintf(jobId, len, "%.*s", static_cast<int>(slash - id), id);
  return true;
}

const char* Topics::subscription(size_t i) const {
  const char* const subs[kSubscriptions] = {updateDelta_,       getAccepted_,
                                            getRejected_,       updateRejected_,
                                            notifyNext_,        startNextAccepted_,
                                            startNextRejected_, jobUpdateAnswers_};
  return i < kSubscriptions ? subs[i] : nullptr;
}

}  // namespace iotcore
