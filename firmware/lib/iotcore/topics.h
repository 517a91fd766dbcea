// Shadow topic names of one thing's classic or named shadow (PROTOCOL.md):
// $aws/things/<thing>/shadow/<op> or $aws/things/<thing>/shadow/name/<shadow>/<op>.
#pragma once

#include <cstddef>

namespace iotcore {

constexpr size_t kMaxThingName = 128;
constexpr size_t kMaxShadowName = 64;
// The longest topic: prefix, names and "/update/documents".
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

  // The topics a device subscribes to on every connect, before its get.
  static constexpr size_t kSubscriptions = 4;
  const char* subscription(size_t i) const;

 private:
  char get_[kMaxTopic] = "";
  char getAccepted_[kMaxTopic] = "";
  char getRejected_[kMaxTopic] = "";
  char update_[kMaxTopic] = "";
  char updateDelta_[kMaxTopic] = "";
  char updateRejected_[kMaxTopic] = "";
};

// ValidName reports whether s is 1..max characters of a-zA-Z0-9:_- (the
// rule for thing names, max 128, and shadow names, max 64).
bool ValidName(const char* s, size_t max);

}  // namespace iotcore
