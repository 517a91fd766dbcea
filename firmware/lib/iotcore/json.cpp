#include "json.h"

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

}  // namespace iotcore
