// RecordingPort is a Port that keeps what the core did, so tests can read
// every publish back as JSON.
#pragma once

#include <string>
#include <vector>

#include "../lib/iotcore/core.h"

struct Publication {
  std::string topic;
  std::string payload;
};

class RecordingPort : public iotcore::Port {
 public:
  bool Publish(const char* topic, const char* payload, size_t len) override {
    published.push_back({topic, std::string(payload, len)});
    return online;
  }
  bool Subscribe(const char* topic) override {
    subscribed.emplace_back(topic);
    return online;
  }
  iotcore::Vitals ReadVitals(uint64_t uptimeMs) override {
    iotcore::Vitals v;
    v.temp = 20 + static_cast<double>(uptimeMs % 1000) / 100;
    v.rssi = -61;
    v.heapFree = 123456;
    return v;
  }
  void SetLed(bool on) override { leds.push_back(on); }
  void Log(const char* line) override { logs.emplace_back(line); }

  bool online = true;
  std::vector<Publication> published;
  std::vector<std::string> subscribed;
  std::vector<bool> leds;
  std::vector<std::string> logs;
};
