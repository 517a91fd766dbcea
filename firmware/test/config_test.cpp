#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "../lib/iotcore/config.h"
#include "../lib/iotcore/ramp.h"

using iotcore::ConfigError;
using iotcore::ValidateNetwork;

namespace {

const char* kEndpoint = "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com";

std::string FieldOf(const char* ssid, const char* password, const char* thing, const char* endpoint) {
  ConfigError err = ValidateNetwork(ssid, password, thing, endpoint);
  return err.ok() ? "" : err.field;
}

}  // namespace

TEST_CASE("a valid configuration passes") {
  CHECK(FieldOf("home", "correct horse", "pico-01", kEndpoint) == "");
  CHECK(FieldOf("open cafe", "", "pico-01", "192.168.1.20") == "");
  CHECK(FieldOf("x", std::string(64, 'a').c_str(), "p", "localhost") == "");
  CHECK(FieldOf(std::string(32, 's').c_str(), std::string(63, '~').c_str(), std::string(128, 't').c_str(),
                kEndpoint) == "");
}

TEST_CASE("each field names itself when wrong") {
  struct {
    std::string ssid, password, thing, endpoint, field;
  } const cases[] = {
      {"", "password", "pico", kEndpoint, "ssid"},
      {std::string(33, 's'), "password", "pico", kEndpoint, "ssid"},
      {"home", "short", "pico", kEndpoint, "password"},
      {"home", std::string(65, 'a'), "pico", kEndpoint, "password"},
      {"home", std::string(64, 'g'), "pico", kEndpoint, "password"},
      {"home", "tab\there!", "pico", kEndpoint, "password"},
      {"home", "password", "", kEndpoint, "thing"},
      {"home", "password", "my pico", kEndpoint, "thing"},
      {"home", "password", std::string(129, 't'), kEndpoint, "thing"},
      {"home", "password", "pico", "", "endpoint"},
      {"home", "password", "pico", "https://example.com", "endpoint"},
      {"home", "password", "pico", "example.com:8883", "endpoint"},
      {"home", "password", "pico", "example.com/mqtt", "endpoint"},
      {"home", "password", "pico", "-bad.example.com", "endpoint"},
      {"home", "password", "pico", "bad-.example.com", "endpoint"},
      {"home", "password", "pico", "two..dots", "endpoint"},
      {"home", "password", "pico", "trailing.", "endpoint"},
      {"home", "password", "pico", "under_score.com", "endpoint"},
      {"home", "password", "pico", (std::string(63, 'a') + "b.com").c_str(), "endpoint"},
      {"home", "password", "pico", "256.1.1.1", "endpoint"},
      {"home", "password", "pico", "1.2.3.1000", "endpoint"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.ssid);
    CAPTURE(c.password);
    CAPTURE(c.thing);
    CAPTURE(c.endpoint);
    ConfigError err = ValidateNetwork(c.ssid.c_str(), c.password.c_str(), c.thing.c_str(), c.endpoint.c_str());
    REQUIRE_FALSE(err.ok());
    CHECK(std::string(err.field) == c.field);
    CHECK(std::string(err.problem).size() > 5);
  }
}

TEST_CASE("null fields count as empty") {
  CHECK(FieldOf(nullptr, nullptr, "pico", kEndpoint) == "ssid");
  CHECK(FieldOf("home", nullptr, "pico", kEndpoint) == "");
  CHECK(FieldOf("home", nullptr, nullptr, kEndpoint) == "thing");
}

TEST_CASE("the ramp climbs from 10 to 40 every ten minutes, with noise under 0.2") {
  iotcore::Ramp ramp(3);
  for (uint64_t ms = 0; ms < 1200000; ms += 15000) {
    double ideal = 10 + 30 * static_cast<double>(ms % 600000) / 600000;
    double t = ramp.At(ms);
    CAPTURE(ms);
    CHECK(t >= ideal - 0.21);
    CHECK(t <= ideal + 0.21);
    CHECK(std::fabs(t * 100 - std::round(t * 100)) < 1e-6);
  }
}

TEST_CASE("pasted PEM text is trimmed, CRLF becomes LF, and it ends with one newline") {
  struct {
    std::string in, want;
  } const cases[] = {
      {"", ""},
      {" \r\n\t ", ""},
      {"-----BEGIN X-----\r\nAAAA\r\n-----END X-----", "-----BEGIN X-----\nAAAA\n-----END X-----\n"},
      {"\n\n  -----BEGIN X-----\nAAAA\n-----END X-----\n\n\n", "-----BEGIN X-----\nAAAA\n-----END X-----\n"},
      {"-----BEGIN X----- \r\nAA AA\t\r\n-----END X-----  ", "-----BEGIN X-----\nAA AA\n-----END X-----\n"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.in);
    CHECK(iotcore::NormalizePem(c.in) == c.want);
  }
}
