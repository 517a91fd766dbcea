#include "options.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../lib/iotcore/config.h"
#include "../lib/iotcore/state.h"
#include "../lib/iotcore/topics.h"

namespace fwhost {

const char* const kUsage =
    "usage: fw-host --endpoint HOST [--port 8883] --thing NAME [--shadow NAME]\n"
    "               --cert FILE --key FILE --ca FILE [--interval SECONDS] [--keepalive SECONDS]\n"
    "               [--max-payload BYTES] [--alpn PROTOCOL] [--clock system|ntp-blocked]\n"
    "               [--clock-fallback SECONDS] [--oversize drop|disconnect]\n"
    "               [--leak-per-reconnect BYTES] [--command-timeout MS]\n"
    "               [--backoff FLOOR:BASE:CAP]\n"
    "\n"
    "Runs the iotwatch firmware core on Linux: it connects to AWS IoT Core (or\n"
    "iotwatch serve) with the device certificate, reports to the thing's shadow\n"
    "every interval, applies desired state, and reconnects forever until SIGTERM.\n"
    "\n"
    "  --max-payload  larger messages are dropped and the shadow fetched again\n"
    "                 (default 131072, AWS's limit; the ESP32 build takes 20480)\n"
    "  --alpn         TLS ALPN protocol: x-amzn-mqtt-ca for AWS IoT on port 443\n"
    "  --clock        ntp-blocked: wait for a time that never comes, then fall back\n"
    "                 to the build time after --clock-fallback seconds (default 30)\n"
    "  --oversize     what a message over --max-payload does: drop (default; it is\n"
    "                 counted and the shadow fetched again) or disconnect (as the ESP32\n"
    "                 on a slow link, whose lwmqtt cannot drain it in time)\n"
    "  --leak-per-reconnect  for tests: hold BYTES more heap on every connect and\n"
    "                 never free them, as a leaking firmware would (soak's vitals\n"
    "                 trend FAILs it); reported in heap_used\n"
    "  --command-timeout  ms to wait for a CONNACK, SUBACK or PUBACK before closing the\n"
    "                 connection, as the board does (default 5000)\n"
    "  --backoff      reconnect delays in ms: a random wait in [FLOOR, ceiling], the\n"
    "                 ceiling BASE doubling up to CAP (default 250:2000:60000, the\n"
    "                 board's); tests shorten it\n";

namespace {

bool ParseInt(const char* flag, const char* text, int min, int max, int* out, std::string* error) {
  errno = 0;
  char* end = nullptr;
  long v = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || v < min || v > max) {
    *error = std::string(flag) + " " + text + ": must be a whole number from " +
             std::to_string(min) + " to " + std::to_string(max);
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

bool ParseBackoff(const std::string& text, iotcore::BackoffPolicy* p) {
  unsigned long floor = 0, base = 0, cap = 0;
  char end = '\0';
  if (sscanf(text.c_str(), "%lu:%lu:%lu%c", &floor, &base, &cap, &end) != 3 || floor < 1 ||
      floor > base || base > cap || cap > 3600000) {
    return false;
  }
  p->floorMs = static_cast<uint32_t>(floor);
  p->baseMs = static_cast<uint32_t>(base);
  p->capMs = static_cast<uint32_t>(cap);
  return true;
}

bool Check(Options& o, std::string* error) {
  struct {
    const char* flag;
    const std::string& value;
  } const required[] = {{"--endpoint", o.endpoint}, {"--thing", o.thing}, {"--cert", o.cert},
                        {"--key", o.key},           {"--ca", o.ca}};
  for (const auto& r : required) {
    if (r.value.empty()) {
      *error = std::string(r.flag) + " is required";
      return false;
    }
  }
  iotcore::ConfigError err = iotcore::ValidateNetwork("host", "", o.thing.c_str(), o.endpoint.c_str());
  if (!err.ok()) {
    *error = std::string("--") + err.field + " " + err.problem;
    return false;
  }
  if (o.clock != "system" && o.clock != "ntp-blocked") {
    *error = "--clock " + o.clock + ": must be system or ntp-blocked";
    return false;
  }
  if (!o.backoffText.empty() && !ParseBackoff(o.backoffText, &o.backoff)) {
    *error = "--backoff " + o.backoffText +
             ": must be FLOOR:BASE:CAP in ms, 1 <= FLOOR <= BASE <= CAP <= 3600000";
    return false;
  }
  if (o.oversize != "drop" && o.oversize != "disconnect") {
    *error = "--oversize " + o.oversize + ": must be drop or disconnect";
    return false;
  }
  if (!o.shadow.empty() && !iotcore::ValidName(o.shadow.c_str(), iotcore::kMaxShadowName)) {
    *error = "--shadow must be 1 to 64 of the characters a-z A-Z 0-9 : _ -";
    return false;
  }
  return true;
}

}  // namespace

bool Parse(int argc, const char* const* argv, Options* o, std::string* error) {
  constexpr int kMaxPayload = static_cast<int>(iotcore::kMaxDocument);
  struct {
    const char* flag;
    std::string* value;
  } const texts[] = {{"--endpoint", &o->endpoint}, {"--thing", &o->thing}, {"--shadow", &o->shadow},
                     {"--cert", &o->cert},         {"--key", &o->key},     {"--ca", &o->ca},
                     {"--alpn", &o->alpn},         {"--clock", &o->clock},
                     {"--oversize", &o->oversize}, {"--backoff", &o->backoffText}};
  struct {
    const char* flag;
    int* value;
    int min, max;
  } const numbers[] = {{"--port", &o->port, 1, 65535},
                       {"--interval", &o->intervalS, iotcore::kMinIntervalS, iotcore::kMaxIntervalS},
                       {"--keepalive", &o->keepAliveS, 5, 1200},
                       {"--max-payload", &o->maxPayload, 1024, kMaxPayload},
                       {"--clock-fallback", &o->clockFallbackS, 1, 300},
                       {"--leak-per-reconnect", &o->leakPerReconnect, 0, 16 << 20},
                       {"--command-timeout", &o->commandTimeoutMs, 100, 60000}};
  for (int i = 1; i < argc; i++) {
    const char* flag = argv[i];
    if (strcmp(flag, "--help") == 0 || strcmp(flag, "-h") == 0) {
      o->help = true;
      return true;
    }
    bool known = false;
    for (const auto& t : texts) known = known || strcmp(flag, t.flag) == 0;
    for (const auto& n : numbers) known = known || strcmp(flag, n.flag) == 0;
    if (!known) {
      *error = std::string("unknown flag ") + flag + " (see --help)";
      return false;
    }
    if (i + 1 >= argc) {
      *error = std::string(flag) + " needs a value";
      return false;
    }
    const char* value = argv[++i];
    for (const auto& t : texts) {
      if (strcmp(flag, t.flag) == 0) *t.value = value;
    }
    for (const auto& n : numbers) {
      if (strcmp(flag, n.flag) == 0 && !ParseInt(flag, value, n.min, n.max, n.value, error)) {
        return false;
      }
    }
  }
  return Check(*o, error);
}

}  // namespace fwhost
