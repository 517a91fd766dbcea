#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "../host/options.h"

namespace {

bool ParseArgs(std::vector<const char*> args, fwhost::Options* o, std::string* error) {
  args.insert(args.begin(), "fw-host");
  return fwhost::Parse(static_cast<int>(args.size()), args.data(), o, error);
}

const std::vector<const char*> kRequired = {"--endpoint", "localhost", "--thing", "pico-01", "--cert",
                                            "d.crt",      "--key",     "d.key",   "--ca",    "ca.crt"};

}  // namespace

TEST_CASE("fw-host flags") {
  fwhost::Options o;
  std::string error;
  auto args = kRequired;
  args.insert(args.end(), {"--port", "18883", "--interval", "2", "--shadow", "env", "--keepalive", "10",
                          "--max-payload", "20480", "--alpn", "x-amzn-mqtt-ca", "--clock", "ntp-blocked",
                          "--clock-fallback", "2", "--oversize", "disconnect", "--leak-per-reconnect",
                          "65536", "--command-timeout", "300", "--backoff", "100:400:2000"});
  REQUIRE(ParseArgs(args, &o, &error));
  CHECK(o.endpoint == "localhost");
  CHECK(o.port == 18883);
  CHECK(o.thing == "pico-01");
  CHECK(o.shadow == "env");
  CHECK(o.cert == "d.crt");
  CHECK(o.key == "d.key");
  CHECK(o.ca == "ca.crt");
  CHECK(o.intervalS == 2);
  CHECK(o.keepAliveS == 10);
  CHECK(o.maxPayload == 20480);
  CHECK(o.alpn == "x-amzn-mqtt-ca");
  CHECK(o.clock == "ntp-blocked");
  CHECK(o.clockFallbackS == 2);
  CHECK(o.oversize == "disconnect");
  CHECK(o.leakPerReconnect == 65536);
  CHECK(o.commandTimeoutMs == 300);
  CHECK(o.backoff.floorMs == 100);
  CHECK(o.backoff.baseMs == 400);
  CHECK(o.backoff.capMs == 2000);

  fwhost::Options defaults;
  REQUIRE(ParseArgs(kRequired, &defaults, &error));
  CHECK(defaults.port == 8883);
  CHECK(defaults.intervalS == 10);
  CHECK(defaults.shadow.empty());
  CHECK(defaults.maxPayload == 131072);
  CHECK(defaults.alpn.empty());
  CHECK(defaults.clock == "system");
  CHECK(defaults.clockFallbackS == 30);
  CHECK(defaults.oversize == "drop");
  CHECK(defaults.leakPerReconnect == 0);
  CHECK(defaults.commandTimeoutMs == 5000);  // the board's lwmqtt timeout
  CHECK(defaults.backoff.baseMs == iotcore::BackoffPolicy().baseMs);
}

TEST_CASE("bad fw-host flags name the flag") {
  struct {
    std::vector<const char*> extra;
    const char* want;
  } const cases[] = {
      {{"--port", "0"}, "--port 0: must be a whole number from 1 to 65535"},
      {{"--port", "88x"}, "--port 88x: must be"},
      {{"--interval", "3601"}, "--interval 3601: must be a whole number from 1 to 3600"},
      {{"--interval", ""}, "--interval : must be"},
      {{"--keepalive", "1"}, "--keepalive 1: must be"},
      {{"--verbose"}, "unknown flag --verbose"},
      {{"--max-payload", "1000"}, "--max-payload 1000: must be a whole number from 1024 to 131072"},
      {{"--clock", "gps"}, "--clock gps: must be system or ntp-blocked"},
      {{"--clock-fallback", "0"}, "--clock-fallback 0: must be"},
      {{"--oversize", "close"}, "--oversize close: must be drop or disconnect"},
      {{"--leak-per-reconnect", "-1"}, "--leak-per-reconnect -1: must be a whole number from 0"},
      {{"--command-timeout", "50"}, "--command-timeout 50: must be a whole number from 100"},
      {{"--backoff", "500:100:2000"}, "--backoff 500:100:2000: must be FLOOR:BASE:CAP"},
      {{"--backoff", "1:2:3x"}, "--backoff 1:2:3x: must be"},
      {{"--backoff", "0:2:3"}, "--backoff 0:2:3: must be"},
      {{"--interval"}, "--interval needs a value"},
      {{"--thing", "my pico"}, "--thing must be 1 to 128"},
      {{"--shadow", "a/b"}, "--shadow must be"},
      {{"--endpoint", "mqtts://x.example.com"}, "--endpoint must be a host name only"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.want);
    auto args = kRequired;
    args.insert(args.end(), c.extra.begin(), c.extra.end());
    fwhost::Options o;
    std::string error;
    CHECK_FALSE(ParseArgs(args, &o, &error));
    CHECK(error.rfind(c.want, 0) == 0);
  }
  for (size_t drop = 0; drop < kRequired.size(); drop += 2) {
    auto args = kRequired;
    std::string flag = args[drop];
    args.erase(args.begin() + static_cast<long>(drop), args.begin() + static_cast<long>(drop) + 2);
    fwhost::Options o;
    std::string error;
    CHECK_FALSE(ParseArgs(args, &o, &error));
    CHECK(error == flag + " is required");
  }
}

TEST_CASE("--help wins") {
  fwhost::Options o;
  std::string error;
  REQUIRE(ParseArgs({"--help"}, &o, &error));
  CHECK(o.help);
}
