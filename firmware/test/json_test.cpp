#include <doctest/doctest.h>

#include <cstring>
#include <string>

#include "../lib/iotcore/json.h"

TEST_CASE("nesting depth is measured outside strings") {
  struct {
    const char* json;
    int max;
    bool ok;
  } const cases[] = {
      {"{}", 1, true},
      {"{\"a\":{}}", 1, false},
      {"{\"a\":[{}]}", 3, true},
      {"{\"a\":[{}]}", 2, false},
      {"{\"a\":\"{{{{[[[[\"}", 1, true},
      {"{\"a\":\"\\\"{{{{\"}", 1, true},
      {"]]]]{}", 1, true},
      {"{\"unterminated", 1, true},
  };
  for (const auto& c : cases) {
    CAPTURE(c.json);
    CHECK(iotcore::WithinDepth(c.json, strlen(c.json), c.max) == c.ok);
  }
  std::string deep(100000, '[');
  CHECK_FALSE(iotcore::WithinDepth(deep.data(), deep.size(), iotcore::kMaxJsonDepth));
}
