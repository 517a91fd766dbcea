// Shadow topic names of one thing's classic or named shadow (PROTOCOL.md):
// $aws/things/<thing>/shadow/<op> or $aws/things/<thing>/shadow/name/<shadow>/<op>,
// and the thing's AWS IoT Jobs topics: $aws/things/<thing>/jobs/<op>.
#pragma once

#include <cstddef>

namespace iotcore {

constexpr size_t kMaxThingName = 128;
constexpr size_t kMaxShadowName = 64;
// The longest topic: prefix, names and "/update/documents" (a job's
// "$aws/things/<thing>/jobs/<64-character id>/update/rejected" is shorter).
constexpr size_t kMaxTopic = 12 + kMaxThingName + 13 + kMaxShadowName + 18 + 1;

class Topics {
 public:
  // Build fills every topic; it returns false (leaving them empty) when the
  // thing or shadow name breaks AWS's naming rules. shadow may be "" or
  // nullptr for the classic shadow.
  bool Build(const char* thing, const char* shadow);

  const char* get() const { return get_; }
  const char* getAccepted() const { return getAccepted_; }
  const char* getRejected() const { return getRejected_; }
  const char* update() const { return update_; }
  const char* updateDelta() const { return updateDelta_; }
  const char* updateRejected() const { return updateRejected_; }

  // Jobs: the requests and answers of the device's job client (jobs.h).
  const char* notifyNext() const { return notifyNext_; }
  const char* startNext() const { return startNext_; }
  const char* startNextAccepted() const { return startNextAccepted_; }
  const char* startNextRejected() const { return startNextRejected_; }
  const char* jobUpdateAnswers() const { return jobUpdateAnswers_; }  // a filter: +/update/+
  // JobUpdate writes the topic of job jobId's update request; false when
  // the id is not one AWS gives (1-64 of a-zA-Z0-9_-).
  bool JobUpdate(const char* jobId, char* out, size_t len) const;
  // JobUpdateAnswer reads the job id out of a .../jobs/<id>/update/accepted
  // or /rejected topic; false for any other topic.
  bool JobUpdateAnswer(const char* topic, char* jobId, size_t len, bool* accepted) const;
  bool IsJobs(const char* topic) const;

  // The topics a device subscribes to on every connect, before its get.
  static constexpr size_t kSubscriptions = 8;
  const char* subscription(size_t i) const;

 private:
  char get_[kMaxTopic] = "";
  char getAccepted_[kMaxTopic] = "";
  char getRejected_[kMaxTopic] = "";
  char update_[kMaxTopic] = "";
  char updateDelta_[kMaxTopic] = "";
  char updateRejected_[kMaxTopic] = "";
  char jobsPrefix_[kMaxTopic] = "";  // $aws/things/<thing>/jobs/
  char notifyNext_[kMaxTopic] = "";
  char startNext_[kMaxTopic] = "";
  char startNextAccepted_[kMaxTopic] = "";
  char startNextRejected_[kMaxTopic] = "";
  char jobUpdateAnswers_[kMaxTopic] = "";
};

// ValidName reports whether s is 1..max characters of a-zA-Z0-9:_- (the
// rule for thing names, max 128, and shadow names, max 64).
bool ValidName(const char* s, size_t max);

}  // namespace iotcore
