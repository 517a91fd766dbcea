#include "json.h"

#include <cctype>

namespace iotcore {

bool WithinDepth(const char* payload, size_t len, int maxDepth) {
  int depth = 0;
  bool inString = false;
  for (size_t i = 0; i < len; i++) {
    char c = payload[i];
    if (inString) {
      if (c == '\\') {
        i++;
      } else if (c == '"') {
        inString = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        inString = true;
        break;
      case '{':
      case '[':
        if (++depth > maxDepth) return false;
        break;
      case '}':
      case ']':
        depth--;
        break;
      default:
        break;
    }
  }
  return true;
}

cJSON* ParseObject(const char* payload, size_t len) {
  const char* end = payload;
  cJSON* doc = WithinDepth(payload, len, kMaxJsonDepth)
                   ? cJSON_ParseWithLengthOpts(payload, len, &end, false)
                   : nullptr;
  while (doc != nullptr && end < payload + len && isspace(static_cast<unsigned char>(*end))) end++;
  if (!cJSON_IsObject(doc) || end != payload + len) {
    cJSON_Delete(doc);
    return nullptr;
  }
  return doc;
}

}  // namespace iotcore
