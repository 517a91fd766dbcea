#include "network.h"

#include <Arduino.h>
#include <WiFi.h>
#include <esp_sntp.h>
#include <sys/time.h>

#include <atomic>
#include <optional>

#include "../lib/iotcore/backoff.h"
#include "../lib/iotcore/clock.h"
#include "board.h"

// A lab without Internet access can point the first at a local NTP server.
#ifndef NTP_SERVER
#define NTP_SERVER "pool.ntp.org"
#endif
#ifndef NTP_SERVER_2
#define NTP_SERVER_2 "time.google.com"
#endif
#ifndef NTP_SERVER_3
#define NTP_SERVER_3 "time.cloudflare.com"
#endif

namespace board {
namespace {

// A Wi-Fi join takes seconds: re-beginning sooner than 10 s would cut short
// one the driver is still making. The first re-join is spread over 10-20 s.
const iotcore::BackoffPolicy kWifiBackoff{10000, 20000, 60000, 60000};

const iotcore::Config* joined = nullptr;
std::optional<iotcore::Backoff> backoff;
std::atomic<uint8_t> lastDisconnectReason{0};  // written by the network event task
// Our own WiFi.disconnect() may raise a disconnect event (ASSOC_LEAVE) that
// would hide the reason the station went down. Only an ASSOC_LEAVE within
// 2 s of our own disconnect is taken for it: a flag alone stayed set when
// our disconnect raised no event (the station was already down) and then
// hid the next real ASSOC_LEAVE, however much later.
constexpr uint32_t kOwnLeaveMs = 2000;
std::atomic<uint32_t> ownLeaveAtMs{0};
std::atomic<bool> ownLeavePending{false};
std::atomic<bool> sntpSynced{false};  // set by the SNTP task
iotcore::ClockKeeper clockKeeper;
bool syncLogged = false;
bool wifiUp = false;
uint64_t nextBeginMs = 0;

// Runs in the network event task, so it only records the reason for loop().
void OnWifiDisconnected(WiFiEvent_t, WiFiEventInfo_t info) {
  uint8_t reason = info.wifi_sta_disconnected.reason;
  uint32_t now = static_cast<uint32_t>(UptimeMs());
  bool ours = ownLeavePending.exchange(false) && now - ownLeaveAtMs.load() <= kOwnLeaveMs;
  if (reason == WIFI_REASON_ASSOC_LEAVE && ours) return;
  lastDisconnectReason = reason;
}

void JoinWifi() { WiFi.begin(joined->ssid.c_str(), joined->password.c_str()); }

// Runs in the SNTP task.
void OnTimeSynced(struct timeval*) { sntpSynced = true; }

void StartSntp() {
  sntp_set_time_sync_notification_cb(OnTimeSynced);
  configTime(0, 0, NTP_SERVER, NTP_SERVER_2, NTP_SERVER_3);
}

}  // namespace

void StartWifi(const iotcore::Config* config, uint64_t seed) {
  joined = config;
  backoff.emplace(kWifiBackoff, seed);
  WiFi.persistent(false);  // the credentials live in our own namespace
  WiFi.mode(WIFI_STA);
  WiFi.setSleep(false);  // modem sleep adds latency and drops links in long soaks
  WiFi.setAutoReconnect(true);
  // The 3.x core refuses anything below WPA2 once a password is set; plenty
  // of access points still offer WPA (TKIP) only. Must precede begin().
  WiFi.setMinSecurity(WIFI_AUTH_WPA_PSK);
  WiFi.onEvent(OnWifiDisconnected, ARDUINO_EVENT_WIFI_STA_DISCONNECTED);
  JoinWifi();
  Logf("joining Wi-Fi \"%s\"%s", joined->ssid.c_str(),
       joined->password.empty() ? " (open network)" : "");
  nextBeginMs = UptimeMs() + backoff->NextDelay();
  StartSntp();
}

// MaintainWifi reports whether the station has an IP address. The core's
// auto-reconnect retries only some disconnect reasons, from a private list
// that differs between releases, so a station still down once its backoff
// delay has passed is re-begun whatever the reason.
bool MaintainWifi(uint64_t now) {
  bool up = WiFi.status() == WL_CONNECTED;
  unsigned reason = lastDisconnectReason.load();
  auto reasonName = [reason] {
    return WiFi.disconnectReasonName(static_cast<wifi_err_reason_t>(reason));
  };
  if (up && !wifiUp) {
    Logf("Wi-Fi up: IP %s, RSSI %d dBm", WiFi.localIP().toString().c_str(), WiFi.RSSI());
    backoff->Connected(now);
  } else if (!up && wifiUp) {
    Logf("Wi-Fi lost: reason %u %s", reason, reasonName());
    backoff->Disconnected(now);
    nextBeginMs = now + backoff->NextDelay();
  } else if (!up && now >= nextBeginMs) {
    Logf("Wi-Fi still down (last reason %u %s): joining \"%s\" again", reason, reasonName(),
         joined->ssid.c_str());
    ownLeaveAtMs = static_cast<uint32_t>(now);
    ownLeavePending = true;
    WiFi.disconnect();
    JoinWifi();
    nextBeginMs = now + backoff->NextDelay();
  }
  wifiUp = up;
  return up;
}

// ClockUsable is whether TLS may go ahead, as certificate dates can only be
// judged against a clock. Without an NTP answer within 30 s the build time
// is set instead; SNTP keeps running and corrects it when a server answers.
bool ClockUsable(uint64_t now) {
  switch (clockKeeper.Poll(now, sntpSynced.load())) {
    case iotcore::ClockKeeper::Action::kRestartSntp:
      Logf("no answer from NTP (%s, %s, %s); asking again, next in %u s", NTP_SERVER,
           NTP_SERVER_2, NTP_SERVER_3, static_cast<unsigned>(clockKeeper.retryGapMs() / 1000));
      configTime(0, 0, NTP_SERVER, NTP_SERVER_2, NTP_SERVER_3);
      break;
    case iotcore::ClockKeeper::Action::kFallBack: {
      timeval tv{};
      tv.tv_sec = static_cast<time_t>(iotcore::BuildTime(__DATE__, __TIME__));
      settimeofday(&tv, nullptr);
      Logf("no NTP answer in %u s: clock set from the firmware's build time (%s %s) so TLS can "
           "proceed; a certificate that expired since the build is refused only once SNTP answers",
           static_cast<unsigned>(iotcore::kClockFallbackMs / 1000), __DATE__, __TIME__);
      break;
    }
    case iotcore::ClockKeeper::Action::kNone:
      break;
  }
  if (sntpSynced.load() && !syncLogged) Logf("clock set by SNTP");
  syncLogged = syncLogged || sntpSynced.load();
  return clockKeeper.usable();
}

}  // namespace board
