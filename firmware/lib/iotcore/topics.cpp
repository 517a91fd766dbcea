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
  return true;
}

const char* Topics::subscription(size_t i) const {
  const char* const subs[kSubscriptions] = {updateDelta_, getAccepted_, getRejected_,
                                            updateRejected_};
  return i < kSubscriptions ? subs[i] : nullptr;
}

}  // namespace iotcore
