// Command-line options of fw-host, the firmware core as a Linux program.
#pragma once

#include <string>

namespace fwhost {

struct Options {
  std::string endpoint;
  int port = 8883;
  std::string thing;
  std::string shadow;
  std::string cert, key, ca;
  int intervalS = 10;
  int keepAliveS = 30;
  bool help = false;
};

extern const char* const kUsage;

// Parse reads argv into opts; on a bad or missing flag it returns false and
// sets error to a sentence naming the flag and how to fix it.
bool Parse(int argc, const char* const* argv, Options* opts, std::string* error);

}  // namespace fwhost
