// The iotwatch firmware for the ESP32-PICO-KIT on arduino-esp32 3.x: Wi-Fi,
// SNTP, MQTT over mutual TLS to AWS IoT Core, the configuration web page and
// the task watchdog. What the device does with its shadow lives in
// lib/iotcore, shared with the Linux port in host/ and tested there; this
// file only connects that core to the hardware.
#include <Arduino.h>
#include <MQTT.h>
#include <NetworkClientSecure.h>
#include <Preferences.h>
#include <WebServer.h>
#include <WiFi.h>
#include <esp_random.h>
#include <esp_system.h>
#include <esp_task_wdt.h>
#include <esp_timer.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <iterator>
#include <memory>
#include <new>
#include <optional>

#include "../lib/iotcore/backoff.h"
#include "../lib/iotcore/config.h"
#include "../lib/iotcore/core.h"
#include "../lib/iotcore/ramp.h"
#include "../lib/iotcore/version.h"

#if !__has_include("secrets.h")
#error "include/secrets.h is missing: create it with `iotwatch certs header` (see README.md)"
#endif
#include "secrets.h"

// The ESP32-PICO-KIT has no LED that software can drive: build with
// -DLED_PIN=<gpio> to show the shadow's led on one you wired.
#ifndef LED_PIN
#define LED_PIN -1
#endif

// A lab without Internet access can point this at a local NTP server.
#ifndef NTP_SERVER
#define NTP_SERVER "pool.ntp.org"
#endif

// The TLS handshake and cJSON both run on the loop task; the default 8 KB
// stack leaves them little margin.
SET_LOOP_TASK_STACK_SIZE(16 * 1024);

namespace {

constexpr int kBootButtonPin = 0;  // pulled up, LOW while pressed
constexpr uint64_t kButtonHoldMs = 3000;
constexpr uint16_t kMqttPort = 8883;
constexpr int kKeepAliveS = 30;
constexpr int kMqttCommandMs = 5000;      // each wait for a CONNACK, SUBACK or PUBACK
constexpr int32_t kTcpConnectMs = 10000;  // also bounds every socket write
constexpr unsigned long kTlsHandshakeS = 10;
constexpr uint32_t kWatchdogMs = 30000;         // longer than any one blocking step below
constexpr time_t kFirstValidTime = 1704067200;  // 2024-01-01T00:00:00Z
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
// A Wi-Fi join takes seconds: re-beginning sooner would cut short one the
// driver is still making.
const iotcore::BackoffPolicy kWifiBackoff{10000, 60000, 60000};
constexpr const char* kPrefsNamespace = "iotwatch";
// NVS keys are at most 15 characters.
constexpr const char* kPrefsKeys[] = {"ssid", "password", "thing", "endpoint"};
constexpr const char* kHtml = "text/html; charset=utf-8";

NetworkClientSecure tls;
MQTTClient mqtt(kMqttReadBuffer, kMqttWriteBuffer);
WebServer web(80);
iotcore::Config deviceConfig;

std::atomic<uint8_t> lastDisconnectReason{0};  // written by the network event task
bool wifiUp = false;
bool sntpStarted = false;
bool mqttUp = false;
bool buttonDown = false;
uint64_t buttonDownSinceMs = 0;
uint64_t nextWifiBeginMs = 0;
uint64_t nextClockLogMs = 0;
uint64_t nextMqttAttemptMs = 0;
uint64_t restartAtMs = 0;  // configuration page: restart once "saved" has gone out

uint64_t UptimeMs() { return static_cast<uint64_t>(esp_timer_get_time()) / 1000; }

void Logf(const char* format, ...) __attribute__((format(printf, 1, 2)));
void Logf(const char* format, ...) {
  char line[256];
  va_list args;
  va_start(args, format);
  vsnprintf(line, sizeof line, format, args);
  va_end(args);
  unsigned long long ms = UptimeMs();
  Serial.printf("[%6llu.%03llu] %s\n", ms / 1000, ms % 1000, line);
}

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
    return mqtt.publish(topic, payload, static_cast<int>(len), false, 1);
  }
  iotcore::Vitals ReadVitals(uint64_t uptimeMs) override {
    iotcore::Vitals v;
    v.temp = ReadTemperature(uptimeMs);
    v.rssi = WiFi.RSSI();
    v.heapFree = ESP.getFreeHeap();
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
      : port(seed),
        core(port, settings),
        wifiBackoff(kWifiBackoff, seed * 31 + 7),
        mqttBackoff(iotcore::BackoffPolicy(), seed * 17 + 3) {}
  DevicePort port;
  iotcore::Core core;
  iotcore::Backoff wifiBackoff;
  iotcore::Backoff mqttBackoff;
};

std::optional<Device> device;

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

// ---- Configuration: flash and the access-point web page ----

bool SaveConfig(const iotcore::Config& c) {
  const char* values[] = {c.ssid, c.password, c.thing, c.endpoint};
  Preferences prefs;
  bool ok = prefs.begin(kPrefsNamespace, false);
  for (size_t i = 0; ok && i < std::size(values); i++) {
    ok = prefs.putString(kPrefsKeys[i], values[i]) == strlen(values[i]);
  }
  return ok;
}

// LoadConfig is false on first boot and when what was saved no longer
// passes validation.
bool LoadConfig(iotcore::Config* out) {
  Preferences prefs;
  // Read-write, as opening a namespace never written read-only logs an error.
  if (!prefs.begin(kPrefsNamespace, false) || !prefs.isKey(kPrefsKeys[0])) return false;
  String v[std::size(kPrefsKeys)];
  for (size_t i = 0; i < std::size(v); i++) v[i] = prefs.getString(kPrefsKeys[i]);
  iotcore::ConfigError error =
      iotcore::MakeConfig(v[0].c_str(), v[1].c_str(), v[2].c_str(), v[3].c_str(), out);
  if (!error.ok()) Logf("saved configuration refused: %s %s", error.field, error.problem);
  return error.ok();
}

String HtmlEscape(const char* s) {
  String out;
  for (; *s != '\0'; s++) {
    switch (*s) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += *s;
    }
  }
  return out;
}

String FormField(const char* label, const char* name, const char* type, const char* value,
                 size_t maxLength) {
  return String("<label>") + label + "<input name=" + name + " type=" + type +
         " maxlength=" + static_cast<int>(maxLength) + " value=\"" + HtmlEscape(value) +
         "\"></label>";
}

// The password is never echoed back, not even after a refusal.
String ConfigPage(const char* ssid, const char* thing, const char* endpoint,
                  const iotcore::ConfigError* error) {
  String html =
      "<!doctype html><meta name=viewport content=\"width=device-width\">"
      "<title>iotwatch setup</title><style>"
      "body{font-family:sans-serif;max-width:32em;margin:1em auto;padding:0 1em}"
      "label{display:block;margin:.8em 0}input{display:block;width:100%}.error{color:#b00}"
      "</style><h1>iotwatch setup</h1>";
  if (error != nullptr) {
    html += String("<p class=error>") + HtmlEscape(error->field) + ": " +
            HtmlEscape(error->problem) + "</p>";
  }
  html += "<form method=post action=\"/\">";
  html += FormField("Wi-Fi network (SSID)", "ssid", "text", ssid, iotcore::kMaxSsid);
  html += FormField("Wi-Fi password (empty for an open network)", "password", "password", "",
                    iotcore::kMaxPassword);
  html += FormField("Thing name (also the MQTT client id)", "thing", "text", thing,
                    iotcore::kMaxThingName);
  html += FormField("Endpoint: xxxx-ats.iot.REGION.amazonaws.com, or the PC running iotwatch serve",
                    "endpoint", "text", endpoint, iotcore::kMaxHost);
  return html + "<button>Save and restart</button></form>";
}

void ServeConfigPage() {
  web.send(200, kHtml,
           ConfigPage(deviceConfig.ssid, deviceConfig.thing, deviceConfig.endpoint, nullptr));
}

void SaveSubmittedConfig() {
  String ssid = web.arg("ssid");
  String password = web.arg("password");
  String thing = web.arg("thing");
  String endpoint = web.arg("endpoint");
  thing.trim();  // pasted names often bring a trailing space or newline along
  endpoint.trim();
  iotcore::Config submitted;
  iotcore::ConfigError error = iotcore::MakeConfig(ssid.c_str(), password.c_str(), thing.c_str(),
                                                   endpoint.c_str(), &submitted);
  if (!error.ok()) {
    web.send(400, kHtml, ConfigPage(ssid.c_str(), thing.c_str(), endpoint.c_str(), &error));
  } else if (!SaveConfig(submitted)) {
    web.send(500, kHtml, "<p>Writing the configuration to flash failed. Go back and try again.");
  } else {
    web.send(200, kHtml,
             String("<p>Saved. The device restarts and joins ") + HtmlEscape(submitted.ssid) + ".");
    Logf("configuration saved (thing %s, endpoint %s); restarting", submitted.thing,
         submitted.endpoint);
    restartAtMs = UptimeMs() + 1000;
  }
}

[[noreturn]] void RunConfigPortal(const char* reason) {
  if (mqtt.connected()) mqtt.disconnect();
  uint64_t mac = ESP.getEfuseMac();  // MAC byte 0 is the lowest byte
  char apName[24];
  snprintf(apName, sizeof apName, "iotwatch-%02X%02X", static_cast<unsigned>((mac >> 32) & 0xff),
           static_cast<unsigned>((mac >> 40) & 0xff));
  WiFi.mode(WIFI_AP);
  WiFi.softAP(apName);
  web.on("/", HTTP_GET, ServeConfigPage);
  web.on("/", HTTP_POST, SaveSubmittedConfig);
  web.begin();
  Logf("configuration mode (%s): join Wi-Fi \"%s\" and open http://%s/", reason, apName,
       WiFi.softAPIP().toString().c_str());
  for (;;) {
    esp_task_wdt_reset();
    web.handleClient();
    if (restartAtMs != 0 && UptimeMs() >= restartAtMs) ESP.restart();
    delay(2);
  }
}

bool BootButtonHeld(uint64_t now) {
  bool down = digitalRead(kBootButtonPin) == LOW;
  if (down && !buttonDown) buttonDownSinceMs = now;
  buttonDown = down;
  return down && now - buttonDownSinceMs >= kButtonHoldMs;
}

// ---- Wi-Fi and time ----

// Runs in the network event task, so it only records the reason for loop().
void OnWifiDisconnected(WiFiEvent_t, WiFiEventInfo_t info) {
  lastDisconnectReason = info.wifi_sta_disconnected.reason;
}

void StartWifi() {
  WiFi.persistent(false);  // the credentials live in our own namespace
  WiFi.mode(WIFI_STA);
  WiFi.setSleep(false);  // modem sleep adds latency and drops links in long soaks
  WiFi.setAutoReconnect(true);
  WiFi.onEvent(OnWifiDisconnected, ARDUINO_EVENT_WIFI_STA_DISCONNECTED);
  WiFi.begin(deviceConfig.ssid, deviceConfig.password);
  Logf("joining Wi-Fi \"%s\"", deviceConfig.ssid);
}

// MaintainWifi reports whether the station has an IP address. The core's
// auto-reconnect retries only some disconnect reasons, from a private list
// that differs between releases, so a station still down once its backoff
// delay has passed is re-begun whatever the reason.
bool MaintainWifi(uint64_t now) {
  iotcore::Backoff& backoff = device->wifiBackoff;
  bool up = WiFi.status() == WL_CONNECTED;
  unsigned reason = lastDisconnectReason.load();
  auto reasonName = [reason] {
    return WiFi.disconnectReasonName(static_cast<wifi_err_reason_t>(reason));
  };
  if (up && !wifiUp) {
    Logf("Wi-Fi up: IP %s, RSSI %d dBm", WiFi.localIP().toString().c_str(), WiFi.RSSI());
    backoff.Connected(now);
    if (!sntpStarted) configTime(0, 0, NTP_SERVER);
    sntpStarted = true;
  } else if (!up && wifiUp) {
    Logf("Wi-Fi lost: reason %u %s", reason, reasonName());
    backoff.Disconnected(now);
    nextWifiBeginMs = now + backoff.NextDelay();
  } else if (!up && now >= nextWifiBeginMs) {
    Logf("Wi-Fi still down (last reason %u %s): joining \"%s\" again", reason, reasonName(),
         deviceConfig.ssid);
    WiFi.disconnect();
    WiFi.begin(deviceConfig.ssid, deviceConfig.password);
    nextWifiBeginMs = now + backoff.NextDelay();
  }
  wifiUp = up;
  return up;
}

// TLS waits for SNTP, as certificate validity can only be judged against a
// real clock.
bool ClockIsSet(uint64_t now) {
  if (time(nullptr) >= kFirstValidTime) return true;
  if (now >= nextClockLogMs) {
    Logf("waiting for the time from %s before connecting", NTP_SERVER);
    nextClockLogMs = now + 10000;
  }
  return false;
}

// ---- MQTT ----

void OnMqttMessage(MQTTClient*, char topic[], char bytes[], int length) {
  size_t len = static_cast<size_t>(length);
  if (len > kMaxPayload || strlen(topic) >= iotcore::kMaxTopic) {
    Logf("dropped a %d-byte message on %s: over the size limit", length, topic);
    pendingDrops++;
    return;
  }
  InboxMessage& m = inbox[(inboxHead + inboxCount) % kInboxSlots];
  if (inboxCount == kInboxSlots || inboxBytes + len > kInboxBytes ||
      !(m.payload = std::unique_ptr<char[]>(new (std::nothrow) char[len + 1]))) {
    Logf("dropped a %d-byte message on %s: no room to queue it", length, topic);
    pendingDrops++;
    return;
  }
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
  uint32_t lwmqttDrops = mqtt.droppedMessages();
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
  // NetworkClientSecure keeps the pointers: the PEMs are static arrays.
  tls.setCACert(AWS_CERT_CA);
  tls.setCertificate(AWS_CERT_CRT);
  tls.setPrivateKey(AWS_CERT_PRIVATE);
  tls.setHandshakeTimeout(kTlsHandshakeS);
  mqtt.begin(tls);
  mqtt.setKeepAlive(kKeepAliveS);
  mqtt.setCleanSession(true);
  mqtt.setTimeout(kMqttCommandMs);
  mqtt.dropOverflow(true);  // skip an oversized message rather than close the link
  mqtt.onMessageAdvanced(OnMqttMessage);
}

// ConnectAndSubscribe opens the session in steps that each block for at
// most their own timeout, feeding the watchdog in between. Errors are
// lwmqtt's numbers (firmware/README.md lists them).
bool ConnectAndSubscribe() {
  Logf("connecting to %s:%u as %s", deviceConfig.endpoint, kMqttPort, deviceConfig.thing);
  // DNS can take ~20 s on a bad network; resolving first gives it its own
  // watchdog window, and the TLS connect then finds the address in lwIP's cache.
  IPAddress address;
  if (WiFi.hostByName(deviceConfig.endpoint, address) != 1) {
    Logf("DNS lookup of %s failed", deviceConfig.endpoint);
    return false;
  }
  esp_task_wdt_reset();
  if (!tls.connect(deviceConfig.endpoint, kMqttPort, kTcpConnectMs)) {
    char reason[100];
    int code = tls.lastError(reason, sizeof reason);
    Logf("TLS connection failed: %d %s", code, reason);
    return false;
  }
  esp_task_wdt_reset();
  constexpr bool kTlsAlreadyOpen = true;
  if (!mqtt.connect(deviceConfig.thing, kTlsAlreadyOpen)) {
    Logf(
        "MQTT connect failed: lwmqtt error %d, CONNACK code %d (AWS closes the connection when "
        "the policy does not allow this client id)",
        static_cast<int>(mqtt.lastError()), static_cast<int>(mqtt.returnCode()));
    return false;
  }
  const iotcore::Topics& topics = device->core.topics();
  for (size_t i = 0; i < iotcore::Topics::kSubscriptions; i++) {
    esp_task_wdt_reset();
    if (!mqtt.subscribe(topics.subscription(i), 1)) {
      Logf("subscribing to %s failed: lwmqtt error %d (check the policy's iot:Subscribe)",
           topics.subscription(i), static_cast<int>(mqtt.lastError()));
      return false;
    }
  }
  Logf("connected and subscribed; requesting the shadow");
  return true;
}

void ScheduleMqttAttempt(uint64_t now) {
  uint32_t delayMs = device->mqttBackoff.NextDelay();
  nextMqttAttemptMs = now + delayMs;
  Logf("MQTT retry %u in %.1f s", static_cast<unsigned>(device->mqttBackoff.attempts()),
       delayMs / 1000.0);
}

void MaintainMqtt(uint64_t now, bool online) {
  if (mqttUp) {
    if (online && mqtt.loop()) return;
    if (online) {
      Logf("MQTT connection lost (lwmqtt error %d)", static_cast<int>(mqtt.lastError()));
    } else {
      Logf("MQTT connection dropped: network down");
    }
    tls.stop();
    mqttUp = false;
    device->mqttBackoff.Disconnected(now);
    device->core.OnDisconnected();
    ScheduleMqttAttempt(now);
  } else if (online && now >= nextMqttAttemptMs) {
    if (ConnectAndSubscribe()) {
      mqttUp = true;
      device->mqttBackoff.Connected(UptimeMs());
      device->core.OnConnected(UptimeMs());
    } else {
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

void setup() {
  Serial.begin(115200);
  StartWatchdog();
  pinMode(kBootButtonPin, INPUT_PULLUP);
#if LED_PIN >= 0
  pinMode(LED_PIN, OUTPUT);
#endif
  const char* resetReason = ResetReasonName(esp_reset_reason());
  Logf("%s starting, reset reason %s", iotcore::kVersion, resetReason);
  if (!LoadConfig(&deviceConfig)) RunConfigPortal("no valid saved configuration");

  StartWifi();
  // With the radio on, esp_random() draws on RF noise, so boards that boot
  // together still spread their reconnects apart.
  uint64_t seed = (static_cast<uint64_t>(esp_random()) << 32) | esp_random();
  iotcore::Settings settings;
  settings.thing = deviceConfig.thing;
  settings.id.fw = iotcore::kVersion;
  settings.id.resetReason = resetReason;
  settings.maxPayload = kMaxPayload;
  device.emplace(settings, seed);
  if (!device->core.Begin()) RunConfigPortal("thing name refused");
  nextWifiBeginMs = UptimeMs() + device->wifiBackoff.NextDelay();
  ConfigureMqtt();
}

void loop() {
  esp_task_wdt_reset();
  uint64_t now = UptimeMs();
  if (BootButtonHeld(now)) RunConfigPortal("BOOT button held");
  bool online = MaintainWifi(now) && ClockIsSet(now);
  MaintainMqtt(now, online);
  DeliverMessages();
  device->core.Poll(UptimeMs());
  delay(10);  // lets lower-priority tasks run
}
