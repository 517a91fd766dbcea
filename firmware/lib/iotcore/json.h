// cJSON comes with the ESP32 Arduino core as <cJSON.h> and with Debian's
// libcjson-dev as <cjson/cJSON.h>.
#pragma once

#if __has_include(<cjson/cJSON.h>)
#include <cjson/cJSON.h>
#else
#include <cJSON.h>
#endif

#include <cstddef>

namespace iotcore {

// Shadow documents are at most 6 levels deep inside desired/reported; a
// payload nested deeper than this is hostile and is refused before cJSON's
// recursive parser can spend the device's small stack on it.
constexpr int kMaxJsonDepth = 12;

// WithinDepth reports whether no object or array in payload nests deeper
// than maxDepth (strings are skipped, so brackets in them do not count).
bool WithinDepth(const char* payload, size_t len, int maxDepth);

// ParseObject parses payload when it is exactly one JSON object (spaces
// around it allowed) nested no deeper than kMaxJsonDepth; otherwise null.
// The caller owns the result.
cJSON* ParseObject(const char* payload, size_t len);

// Owned frees a cJSON tree when it goes out of scope.
class Owned {
 public:
  explicit Owned(cJSON* root) : root_(root) {}
  ~Owned() { cJSON_Delete(root_); }
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  cJSON* get() const { return root_; }

 private:
  cJSON* root_;
};

}  // namespace iotcore
