// The iotwatch firmware for the ESP32-PICO-KIT on arduino-esp32 3.x: MQTT
// over mutual TLS to AWS IoT Core, the core's message handling and the task
// watchdog; Wi-Fi and time are in network.cpp, the configuration in
// config_store.cpp and portal.cpp. What the device does with its shadow
// lives in lib/iotcore, shared with the Linux port in host/ and tested
// there; these files only connect that core to the hardware.
#include <Arduino.h>
#include <MQTT.h>
#include <NetworkClientSecure.h>
#include <WiFi.h>
#include <bootloader_random.h>
#include <esp_heap_caps.h>
#include <esp_random.h>
#include <esp_system.h>
#include <esp_task_wdt.h>
#include <esp_timer.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <new>
#include <optional>
#include <utility>

#include "../lib/iotcore/backoff.h"
#include "../lib/iotcore/button.h"
#include "../lib/iotcore/cert_validity.h"
#include "../lib/iotcore/config.h"
#include "../lib/iotcore/core.h"
#include "../lib/iotcore/ramp.h"
#include "../lib/iotcore/timing.h"
#include "../lib/iotcore/version.h"
#include "board.h"
#include "config_store.h"
#include "network.h"
#include "ota.h"
#include "portal.h"

// The ESP32-PICO-KIT has no LED that software can drive: build with
// -DLED_PIN=<gpio> to show the shadow's led on one you wired.
#ifndef LED_PIN
#define LED_PIN -1
#endif

// The TLS handshake and cJSON both run on the loop task; the default 8 KB
// stack leaves them little margin.
SET_LOOP_TASK_STACK_SIZE(16 * 1024);

namespace {

constexpr int kBootButtonPin = 0;  // pulled up, LOW while pressed
constexpr uint32_t kButtonHoldMs = 3000;
constexpr int kKeepAliveS = 30;
// The bounds of each blocking step and the watchdog's timeout, whose
// arithmetic lib/iotcore/timing.h checks: the watchdog is fed before every
// step (StillOnline, DevicePort::Publish, loop()), never only once a loop.
using iotcore::timing::kMqttCommandMs;
using iotcore::timing::kWatchdogMs;
constexpr int32_t kTcpConnectMs = iotcore::timing::kSocketMs;  // also bounds every socket write
constexpr unsigned long kTlsHandshakeS = iotcore::timing::kTlsHandshakeMs / 1000;
// The largest shadow document the board takes. An 8 KB state held in a few
// long values gives a get/accepted of 16,638 bytes (measured against the
// emulator, lib/iotcore/core.h lists the shapes); the same state as ~1,000
// small keys (48 KB) or a long array (118 KB) would also need a cJSON tree
// several times its size, more heap than the board has. Those are dropped
// by lwmqtt, counted, reported as "dropped", and the shadow is asked for
// again (with growing gaps while the answer is still too large).
constexpr size_t kMaxPayload = 20 * 1024;
// Incoming packets carry a topic and up to kMaxPayload; outgoing ones only
// need room for their header, as payloads go straight to the socket.
constexpr int kMqttReadBuffer = kMaxPayload + iotcore::kMaxTopic + 16;
constexpr int kMqttWriteBuffer = 512;
// setAlpnProtocols keeps the pointer: a null-terminated list.
const char* kAlpnProtocols[] = {iotcore::kAlpnAws, nullptr};

NetworkClientSecure tls;
// Made once a valid configuration is loaded: its 20 KB read buffer is not
// taken from the heap the configuration page runs on.
std::optional<MQTTClient> mqtt;
iotcore::Config deviceConfig;

bool mqttUp = false;
bool markedGood = false;  // this boot's configuration has reached the broker
uint64_t nextMqttAttemptMs = 0;
iotcore::HoldDetector bootButton(kButtonHoldMs);

using board::Logf;
using board::UptimeMs;

const char* ResetReasonName(esp_reset_reason_t reason) {
  switch (reason) {
    case ESP_RST_POWERON: return "POWERON";
    case ESP_RST_SW: return "SW";
    case ESP_RST_PANIC: return "PANIC";
    case ESP_RST_INT_WDT: return "INT_WDT";
    case ESP_RST_TASK_WDT: return "TASK_WDT";
    case ESP_RST_WDT: return "WDT";
    case ESP_RST_DEEPSLEEP: return "DEEPSLEEP";
    case ESP_RST_BROWNOUT: return "BROWNOUT";
    case ESP_RST_EXT: return "EXT";
    case ESP_RST_SDIO: return "SDIO";
    default: return "UNKNOWN";
  }
}

class DevicePort : public iotcore::Port {
 public:
  explicit DevicePort(uint64_t seed) : ramp_(seed) {}

  bool Publish(const char* topic, const char* payload, size_t len) override {
    esp_task_wdt_reset();  // a write (10 s) and its PUBACK (5 s): one step of timing.h
    return mqtt->publish(topic, payload, static_cast<int>(len), false, 1);
  }
  bool Subscribe(const char* topic) override {
    esp_task_wdt_reset();  // a write (10 s) and its SUBACK (5 s)
    return mqtt->subscribe(topic, 1);
  }
  // The heap malloc() draws from: its free bytes, the lowest they have been
  // since boot, and the largest block one allocation can get (a TLS
  // handshake needs ~16 KB in one piece however much is free in total).
  iotcore::Vitals ReadVitals(uint64_t uptimeMs) override {
    iotcore::Vitals v;
    v.temp = ReadTemperature(uptimeMs);
    v.rssi = WiFi.RSSI();
    v.heapFree = static_cast<uint32_t>(heap_caps_get_free_size(MALLOC_CAP_DEFAULT));
    v.heapMinFree = static_cast<uint32_t>(heap_caps_get_minimum_free_size(MALLOC_CAP_DEFAULT));
    v.heapLargestBlock = static_cast<uint32_t>(heap_caps_get_largest_free_block(MALLOC_CAP_DEFAULT));
    return v;
  }
  void SetLed(bool on) override {
#if LED_PIN >= 0
    digitalWrite(LED_PIN, on ? HIGH : LOW);
#endif
    Logf("led %s", on ? "on" : "off");
  }
  void Log(const char* line) override { Logf("%s", line); }

 private:
  // The one place a real sensor goes. None is fitted, so this reports the
  // same 10 → 40 °C ramp as iotwatch's simulated device.
  double ReadTemperature(uint64_t uptimeMs) { return ramp_.At(uptimeMs); }

  iotcore::Ramp ramp_;
};

// Device is what needs the saved configuration or a random seed, so it is
// built in setup().
struct Device {
  Device(const iotcore::Settings& settings, uint64_t seed)
      : port(seed), core(port, settings), mqttBackoff(iotcore::BackoffPolicy(), seed * 17 + 3) {}
  DevicePort port;
  iotcore::Core core;
  iotcore::Backoff mqttBackoff;
};

std::optional<Device> device;
// AWS IoT Jobs' OTA (ota.cpp): made once the configuration's CA is loaded.
std::optional<board::DeviceUpdater> updater;
board::BootImage bootImage;

// Messages wait here until loop() gives them to the core: arduino-mqtt also
// calls back from inside publish() and subscribe() while it waits for their
// acknowledgement, and the core answers a message by publishing, which must
// not nest inside another publish. A slot is freed only once the core has
// handled it, so messages arriving meanwhile cannot overwrite it. Payloads
// are copied to the heap, within a budget of two full-size documents.
struct InboxMessage {
  char topic[iotcore::kMaxTopic];
  std::unique_ptr<char[]> payload;
  size_t len;
};
constexpr size_t kInboxSlots = 4;
constexpr size_t kInboxBytes = 2 * kMaxPayload;
InboxMessage inbox[kInboxSlots];
size_t inboxHead = 0;
size_t inboxCount = 0;
size_t inboxBytes = 0;
// Messages lost since the core was last told: too large for the read
// buffer (lwmqtt's count) or for the inbox.
uint32_t pendingDrops = 0;
uint32_t lwmqttDropsSeen = 0;

// ---- The configuration page and the BOOT button ----

// The session ends and the TLS socket closes before the page opens: the
// broker sees a clean disconnect, not a half-open socket for as long as
// the page stays up.
void EndMqttSession() {
  if (mqtt && mqtt->connected()) mqtt->disconnect();
  tls.stop();
}

[[noreturn]] void RunConfigPortal(const char* reason) {
  EndMqttSession();
  board::RunConfigPortal(deviceConfig, reason);
}

// Each edge of the BOOT pin is timed here, so a hold made while loop() is
// blocked in a step is seen once it returns (lib/iotcore/button.h).
void IRAM_ATTR OnBootButtonEdge() {
  bootButton.Edge(digitalRead(kBootButtonPin) == LOW,
                  static_cast<uint32_t>(esp_timer_get_time() / 1000));
}

bool BootButtonHeld(uint64_t now) { return bootButton.Held(static_cast<uint32_t>(now)); }

// ---- MQTT ----

void OnMqttMessage(MQTTClient*, char topic[], char bytes[], int length) {
  size_t len = static_cast<size_t>(length);
  if (len > kMaxPayload || strlen(topic) >= iotcore::kMaxTopic) {
    Logf("dropped a %d-byte message on %s: over the size limit", length, topic);
    pendingDrops++;
    return;
  }
  std::unique_ptr<char[]> copy;
  if (inboxCount < kInboxSlots && inboxBytes + len <= kInboxBytes) {
    copy.reset(new (std::nothrow) char[len + 1]);
  }
  if (!copy) {
    Logf("dropped a %d-byte message on %s: no room to queue it", length, topic);
    pendingDrops++;
    return;
  }
  InboxMessage& m = inbox[(inboxHead + inboxCount) % kInboxSlots];
  m.payload = std::move(copy);
  inboxCount++;
  inboxBytes += len;
  snprintf(m.topic, sizeof m.topic, "%s", topic);
  if (len > 0) memcpy(m.payload.get(), bytes, len);
  m.payload[len] = '\0';
  m.len = len;
}

// DeliverMessages gives queued messages to the core, then the drops, which
// make it ask for the whole shadow again: its desired section carries
// whatever the lost messages did.
void DeliverMessages() {
  for (; inboxCount > 0; inboxHead = (inboxHead + 1) % kInboxSlots, inboxCount--) {
    esp_task_wdt_reset();  // the core's answer may be a publish waiting for its PUBACK
    InboxMessage& m = inbox[inboxHead];
    device->core.OnMessage(m.topic, m.payload.get(), m.len, UptimeMs());
    m.payload.reset();
    inboxBytes -= m.len;
  }
  uint32_t lwmqttDrops = mqtt->droppedMessages();
  if (lwmqttDrops != lwmqttDropsSeen) {
    Logf("lwmqtt dropped %u message(s) larger than its %d-byte buffer",
         static_cast<unsigned>(lwmqttDrops - lwmqttDropsSeen), kMqttReadBuffer);
  }
  pendingDrops += lwmqttDrops - lwmqttDropsSeen;
  lwmqttDropsSeen = lwmqttDrops;
  if (pendingDrops > 0) device->core.OnDropped(pendingDrops, UptimeMs());
  pendingDrops = 0;
}

void ConfigureMqtt() {
  mqtt.emplace(kMqttReadBuffer, kMqttWriteBuffer);
  // NetworkClientSecure keeps the pointers: deviceConfig lives until restart.
  tls.setCACert(deviceConfig.ca.c_str());
  tls.setCertificate(deviceConfig.cert.c_str());
  tls.setPrivateKey(deviceConfig.key.c_str());
  tls.setConnectionTimeout(kTcpConnectMs);
  tls.setHandshakeTimeout(kTlsHandshakeS);
  // AWS IoT takes MQTT on 443 only when the client asks for it by ALPN.
  if (deviceConfig.port == iotcore::kPortHttps) tls.setAlpnProtocols(kAlpnProtocols);
  mqtt->begin(tls);
  mqtt->setKeepAlive(kKeepAliveS);
  mqtt->setCleanSession(true);
  mqtt->setTimeout(kMqttCommandMs);
  mqtt->dropOverflow(true);  // skip an oversized message rather than close the link
  mqtt->onMessageAdvanced(OnMqttMessage);
}

// Between the blocking steps of a connect: feed the watchdog, honour the
// BOOT button, and give up when Wi-Fi went down meanwhile.
bool StillOnline(const char* next) {
  esp_task_wdt_reset();
  if (BootButtonHeld(UptimeMs())) RunConfigPortal("BOOT button held");
  if (WiFi.status() == WL_CONNECTED) return true;
  Logf("Wi-Fi went down before %s; connect abandoned", next);
  return false;
}

// PeerDatesValid checks the validity dates of the chain the server sent,
// which this mbedTLS never does (built without MBEDTLS_HAVE_TIME_DATE). It
// runs once the clock is usable: set by SNTP, or from the build time when
// NTP is blocked, which catches a certificate expired before the build but
// not one expired since, until SNTP answers.
bool PeerDatesValid() {
  constexpr size_t kMaxChain = 6;
  iotcore::CertDates chain[kMaxChain];
  char names[kMaxChain][40];
  size_t n = 0;
  for (const mbedtls_x509_crt* c = tls.getPeerCertificate(); c != nullptr && n < kMaxChain;
       c = c->next, n++) {
    const mbedtls_x509_time& f = c->valid_from;
    const mbedtls_x509_time& t = c->valid_to;
    chain[n].notBefore = {f.year, f.mon, f.day, f.hour, f.min, f.sec};
    chain[n].notAfter = {t.year, t.mon, t.day, t.hour, t.min, t.sec};
    snprintf(names[n], sizeof names[n], n == 0 ? "the server's certificate" : "its issuer %u",
             static_cast<unsigned>(n));
    chain[n].name = names[n];
  }
  char why[160];
  if (iotcore::CheckChain(chain, n, static_cast<int64_t>(time(nullptr)), why, sizeof why)) {
    return true;
  }
  Logf("TLS connection refused: %s", why);
  return false;
}

// ConnectAndSubscribe opens the session in steps, each fed to the watchdog
// first and bounded by its own timeout (lib/iotcore/timing.h): DNS (lwIP's
// bound), TCP 10 s, TLS 10 s, CONNACK and each SUBACK 10 s + 5 s. Errors
// are lwmqtt's numbers (README.md).
bool ConnectAndSubscribe() {
  const char* host = deviceConfig.endpoint.c_str();
  Logf("connecting to %s:%u as %s", host, deviceConfig.port, deviceConfig.thing.c_str());
  if (!StillOnline("the DNS lookup")) return false;
  // Resolved here, not inside connect(host, ...): that one tests the
  // result with `!`, but hostByName returns 1 for success and lwIP's
  // EAI_* codes for failure, which are positive (EAI_NONAME is 200), so it
  // went on to connect to 0.0.0.0.
  IPAddress address;
  int dns = WiFi.hostByName(host, address);
  if (dns != 1) {
    Logf("DNS lookup of %s failed (%d): check the endpoint and the network's DNS", host, dns);
    return false;
  }
  if (!StillOnline("the TLS connection")) return false;
  // The address and the name: the name is for SNI and the certificate check.
  if (!tls.connect(address, deviceConfig.port, host, deviceConfig.ca.c_str(),
                   deviceConfig.cert.c_str(), deviceConfig.key.c_str())) {
    char reason[100];
    int code = tls.lastError(reason, sizeof reason);
    Logf("TLS connection to %s (%s) failed: %d %s", host, address.toString().c_str(), code, reason);
    return false;
  }
  if (!PeerDatesValid()) return false;
  if (!StillOnline("MQTT CONNECT")) return false;
  constexpr bool kTlsAlreadyOpen = true;
  if (!mqtt->connect(deviceConfig.thing.c_str(), kTlsAlreadyOpen)) {
    Logf(
        "MQTT connect failed: lwmqtt error %d, CONNACK code %d (AWS closes the connection when "
        "the policy does not allow this client id)",
        static_cast<int>(mqtt->lastError()), static_cast<int>(mqtt->returnCode()));
    return false;
  }
  const iotcore::Topics& topics = device->core.topics();
  for (size_t i = 0; i < iotcore::Topics::kSubscriptions; i++) {
    if (!device->core.Subscribes(i, UptimeMs())) continue;
    if (!StillOnline("subscribing")) return false;
    if (!mqtt->subscribe(topics.subscription(i), 1)) {
      Logf("subscribing to %s failed: lwmqtt error %d (check the policy's iot:Subscribe)",
           topics.subscription(i), static_cast<int>(mqtt->lastError()));
      return false;
    }
  }
  Logf("connected and subscribed; requesting the shadow");
  return true;
}

// ServiceDuringDownload runs between the chunks of an OTA download: the
// watchdog is fed and the MQTT session kept alive (its messages wait in the
// inbox until the download is over).
void ServiceDuringDownload() {
  esp_task_wdt_reset();
  if (mqttUp) mqtt->loop();
}

void ScheduleMqttAttempt(uint64_t now) {
  uint32_t delayMs = device->mqttBackoff.NextDelay();
  nextMqttAttemptMs = now + delayMs;
  Logf("MQTT retry %u in %.1f s", static_cast<unsigned>(device->mqttBackoff.attempts()),
       delayMs / 1000.0);
}

// LogLostConnection says why the session ended. loop() also returns false
// when the socket had already closed, leaving lastError() from an earlier
// call, so that case is told apart first.
void LogLostConnection(bool online, bool socketOpen) {
  if (!online) {
    Logf("MQTT connection dropped: Wi-Fi down");
  } else if (!socketOpen) {
    Logf("MQTT connection closed by the server or the network (AWS closes it when the policy "
         "denies a publish or subscribe)");
  } else {
    Logf("MQTT connection lost: lwmqtt error %d", static_cast<int>(mqtt->lastError()));
  }
}

void MaintainMqtt(uint64_t now, bool online) {
  if (mqttUp) {
    bool socketOpen = mqtt->connected();
    if (online && socketOpen && mqtt->loop()) return;
    LogLostConnection(online, socketOpen);
    tls.stop();
    mqttUp = false;
    device->mqttBackoff.Disconnected(now);
    device->core.OnDisconnected(now);
    ScheduleMqttAttempt(now);
  } else if (online && now >= nextMqttAttemptMs) {
    if (ConnectAndSubscribe()) {
      mqttUp = true;
      // Kept as the configuration the page can go back to (portal_rules.h).
      if (!markedGood) board::MarkConfigGood(deviceConfig);
      markedGood = true;
      bootImage.Confirm();  // an image on trial has reached the broker
      device->mqttBackoff.Connected(UptimeMs());
      device->core.OnConnected(UptimeMs());
    } else {
      tls.stop();
      ScheduleMqttAttempt(UptimeMs());
    }
  }
}

void StartWatchdog() {
  esp_task_wdt_config_t wdt = {};
  wdt.timeout_ms = kWatchdogMs;
  wdt.idle_core_mask = 1 << 0;  // CPU0's idle task, as in the core's default configuration
  wdt.trigger_panic = true;     // reboot, reported next boot as TASK_WDT, rather than hang
  // The core has normally started the watchdog before setup(); init is the fallback.
  esp_err_t err = esp_task_wdt_reconfigure(&wdt);
  if (err == ESP_ERR_INVALID_STATE) err = esp_task_wdt_init(&wdt);
  if (err == ESP_OK && esp_task_wdt_status(nullptr) == ESP_ERR_NOT_FOUND) {
    err = esp_task_wdt_add(nullptr);
  }
  if (err != ESP_OK) Logf("task watchdog not armed: %s", esp_err_to_name(err));
}

}  // namespace

namespace board {

uint64_t UptimeMs() { return static_cast<uint64_t>(esp_timer_get_time()) / 1000; }

// Before the radio is on, esp_random() on the ESP32 is only pseudo-random
// (ESP-IDF, "Random Number Generation"): the SAR ADC's noise is switched on
// around the draw. With the radio on, RF noise feeds it, and
// bootloader_random_enable() must not be called (it shares the ADC).
uint64_t Random64() {
  bool radioOff = WiFi.getMode() == WIFI_MODE_NULL;
  if (radioOff) bootloader_random_enable();
  uint64_t r = (static_cast<uint64_t>(esp_random()) << 32) | esp_random();
  if (radioOff) bootloader_random_disable();
  return r;
}

void Logf(const char* format, ...) {
  char line[256];
  va_list args;
  va_start(args, format);
  vsnprintf(line, sizeof line, format, args);
  va_end(args);
  unsigned long long ms = UptimeMs();
  Serial.printf("[%6llu.%03llu] %s\n", ms / 1000, ms % 1000, line);
}

}  // namespace board

void setup() {
  Serial.begin(115200);
  StartWatchdog();
  pinMode(kBootButtonPin, INPUT_PULLUP);
  attachInterrupt(kBootButtonPin, OnBootButtonEdge, CHANGE);
#if LED_PIN >= 0
  pinMode(LED_PIN, OUTPUT);
#endif
  const char* resetReason = ResetReasonName(esp_reset_reason());
  Logf("%s starting, reset reason %s", iotcore::kVersion, resetReason);
  bootImage.NoteBoot();
  Logf("configuration page: hold BOOT for 3 s, then join Wi-Fi \"%s\" with password %s",
       board::ApName().c_str(), board::ApPassword().c_str());
  deviceConfig = board::LoadConfig();
  iotcore::ConfigError error = iotcore::ValidateConfig(deviceConfig, board::CredentialCheck());
  if (!error.ok() && board::ConfigReachedBroker()) {
    // A newer firmware's check refuses what worked: try it rather than
    // strand a field board as an access point (BOOT still opens the page).
    Logf("the saved configuration fails this firmware's check (%s %s) but has reached the "
         "broker before: using it",
         error.field, error.problem);
  } else if (!error.ok()) {
    Logf("configuration incomplete: %s %s", error.field, error.problem);
    RunConfigPortal("no valid configuration");
  }

  // True random (Random64), so boards that boot together still spread
  // their reconnects apart.
  uint64_t seed = board::Random64();
  board::StartWifi(&deviceConfig, seed * 31 + 7);
  iotcore::Settings settings;
  settings.thing = deviceConfig.thing.c_str();
  settings.id.fw = iotcore::kVersion;
  settings.id.resetReason = resetReason;
  settings.maxPayload = kMaxPayload;
  updater.emplace(deviceConfig.ca.c_str(), ServiceDuringDownload, EndMqttSession);
  settings.updater = &*updater;
  device.emplace(settings, seed);
  if (!device->core.Begin()) RunConfigPortal("thing name refused");
  ConfigureMqtt();
}

// Each step is fed to the watchdog before it blocks: mqtt->loop() here,
// each publish in DevicePort::Publish, each connect step in StillOnline.
void loop() {
  esp_task_wdt_reset();
  uint64_t now = UptimeMs();
  if (BootButtonHeld(now)) RunConfigPortal("BOOT button held");
  bootImage.CheckDeadline(now);
  bool online = board::MaintainWifi(now) && board::ClockUsable(now);
  MaintainMqtt(now, online);
  esp_task_wdt_reset();
  if (BootButtonHeld(UptimeMs())) RunConfigPortal("BOOT button held");
  DeliverMessages();
  device->core.Poll(UptimeMs());
  delay(10);  // lets lower-priority tasks run
}
