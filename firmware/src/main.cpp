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
#include <esp_sntp.h>
#include <esp_system.h>
#include <esp_task_wdt.h>
#include <esp_timer.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <sys/time.h>

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <memory>
#include <new>
#include <optional>

#include "../lib/iotcore/backoff.h"
#include "../lib/iotcore/clock.h"
#include "../lib/iotcore/config.h"
#include "../lib/iotcore/config_page.h"
#include "../lib/iotcore/core.h"
#include "../lib/iotcore/ramp.h"
#include "../lib/iotcore/version.h"

// secrets.h holds the build-time default credentials; the configuration
// page can replace them, and what it saves (in NVS) wins.
#if !__has_include("secrets.h")
#error "include/secrets.h is missing: create it with `iotwatch certs header` (see README.md)"
#endif
#include "secrets.h"

// The ESP32-PICO-KIT has no LED that software can drive: build with
// -DLED_PIN=<gpio> to show the shadow's led on one you wired.
#ifndef LED_PIN
#define LED_PIN -1
#endif

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

// The TLS handshake and cJSON both run on the loop task; the default 8 KB
// stack leaves them little margin.
SET_LOOP_TASK_STACK_SIZE(16 * 1024);

namespace {

constexpr int kBootButtonPin = 0;  // pulled up, LOW while pressed
constexpr uint64_t kButtonHoldMs = 3000;
constexpr int kKeepAliveS = 30;
constexpr int kMqttCommandMs = 5000;      // each wait for a CONNACK, SUBACK or PUBACK
constexpr int32_t kTcpConnectMs = 10000;  // also bounds every socket write
constexpr unsigned long kTlsHandshakeS = 10;
constexpr uint32_t kWatchdogMs = 30000;  // longer than any one blocking step below
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
constexpr const char* kHtml = "text/html; charset=utf-8";
// setAlpnProtocols keeps the pointer: a null-terminated list.
const char* kAlpnProtocols[] = {iotcore::kAlpnAws, nullptr};

NetworkClientSecure tls;
MQTTClient mqtt(kMqttReadBuffer, kMqttWriteBuffer);
WebServer web(80);
iotcore::Config deviceConfig;

std::atomic<uint8_t> lastDisconnectReason{0};  // written by the network event task
// Our own WiFi.disconnect() raises a disconnect event (ASSOC_LEAVE) that
// would hide the reason the station went down.
std::atomic<bool> leavingOnPurpose{false};
std::atomic<bool> sntpSynced{false};  // set by the SNTP task
iotcore::ClockKeeper clockKeeper;
bool wifiUp = false;
bool mqttUp = false;
bool buttonDown = false;
uint64_t buttonDownSinceMs = 0;
uint64_t nextWifiBeginMs = 0;
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

// ---- Configuration: NVS and the access-point web page ----

// The page's credential check, with the mbedTLS the TLS client uses.
int FillRandom(void*, unsigned char* out, size_t len) {
  esp_fill_random(out, len);
  return 0;
}

class MbedTlsCheck : public iotcore::CredentialCheck {
 public:
  iotcore::ConfigError Check(const iotcore::Config& c) const override {
    mbedtls_x509_crt cert, ca;
    mbedtls_pk_context key;
    mbedtls_x509_crt_init(&cert);
    mbedtls_x509_crt_init(&ca);
    mbedtls_pk_init(&key);
    iotcore::ConfigError err;
    // mbedTLS takes PEM with its terminating NUL counted in the length.
    if (mbedtls_x509_crt_parse(&cert, Bytes(c.cert), c.cert.size() + 1) != 0) {
      err = {"cert", "is not an X.509 certificate mbedTLS can read"};
    } else if (mbedtls_pk_parse_key(&key, Bytes(c.key), c.key.size() + 1, nullptr, 0, FillRandom,
                                    nullptr) != 0) {
      err = {"key", "is not a private key mbedTLS can read"};
    } else if (mbedtls_pk_check_pair(&cert.pk, &key, FillRandom, nullptr) != 0) {
      err = {"key", "does not belong to the device certificate"};
    } else if (mbedtls_x509_crt_parse(&ca, Bytes(c.ca), c.ca.size() + 1) != 0) {
      err = {"ca", "holds a certificate mbedTLS cannot read"};
    }
    mbedtls_pk_free(&key);
    mbedtls_x509_crt_free(&ca);
    mbedtls_x509_crt_free(&cert);
    return err;
  }

 private:
  static const unsigned char* Bytes(const std::string& s) {
    return reinterpret_cast<const unsigned char*>(s.c_str());
  }
};

const MbedTlsCheck credentialCheck;

// NVS keys (at most 15 characters). The PEMs are blobs, as NVS strings stop
// at 4000 bytes.
struct TextKey {
  const char* key;
  std::string iotcore::Config::*field;
  bool blob;
};
constexpr TextKey kTextKeys[] = {
    {"ssid", &iotcore::Config::ssid, false},      {"password", &iotcore::Config::password, false},
    {"thing", &iotcore::Config::thing, false},    {"endpoint", &iotcore::Config::endpoint, false},
    {"cert", &iotcore::Config::cert, true},       {"key", &iotcore::Config::key, true},
    {"ca", &iotcore::Config::ca, true},
};
constexpr const char* kPortKey = "port";
constexpr const char* kApPasswordKey = "ap_password";

bool SaveConfig(const iotcore::Config& c) {
  Preferences prefs;
  bool ok = prefs.begin(kPrefsNamespace, false);
  for (const TextKey& k : kTextKeys) {
    const std::string& v = c.*k.field;
    if (!ok) break;
    ok = k.blob ? prefs.putBytes(k.key, v.data(), v.size()) == v.size()
                : prefs.putString(k.key, v.c_str()) == v.size();
  }
  return ok && prefs.putUShort(kPortKey, c.port) == sizeof(uint16_t);
}

// LoadConfig starts from the build-time credentials of secrets.h and takes
// whatever NVS holds over them.
iotcore::Config LoadConfig() {
  iotcore::Config c;
  c.cert = AWS_CERT_CRT;
  c.key = AWS_CERT_PRIVATE;
  c.ca = AWS_CERT_CA;
  Preferences prefs;
  // Read-write, as opening a namespace never written read-only logs an error.
  if (!prefs.begin(kPrefsNamespace, false)) return c;
  for (const TextKey& k : kTextKeys) {
    if (!prefs.isKey(k.key)) continue;
    std::string& v = c.*k.field;
    if (k.blob) {
      v.assign(prefs.getBytesLength(k.key), '\0');
      v.resize(prefs.getBytes(k.key, &v[0], v.size()));
    } else {
      v = prefs.getString(k.key).c_str();
    }
  }
  c.port = prefs.getUShort(kPortKey, iotcore::kPortMqtts);
  return c;
}

// ApPassword is made once per board from the hardware RNG and kept in NVS:
// anything derived from the MAC could be worked out by anyone in range, as
// the access point broadcasts it.
std::string ApPassword() {
  Preferences prefs;
  if (!prefs.begin(kPrefsNamespace, false)) return "";
  String saved = prefs.getString(kApPasswordKey);
  if (saved.length() > 0) return saved.c_str();
  std::string fresh =
      iotcore::ApPassword((static_cast<uint64_t>(esp_random()) << 32) | esp_random());
  prefs.putString(kApPasswordKey, fresh.c_str());
  return fresh;
}

std::string ApName() {
  uint64_t mac = ESP.getEfuseMac();  // MAC byte 0 is the lowest byte
  char name[24];
  snprintf(name, sizeof name, "iotwatch-%02X%02X", static_cast<unsigned>((mac >> 32) & 0xff),
           static_cast<unsigned>((mac >> 40) & 0xff));
  return name;
}

void Send(int code, const std::string& html) { web.send(code, kHtml, String(html.c_str())); }

void ServeConfigPage() { Send(200, iotcore::RenderConfigPage(deviceConfig, nullptr)); }

void SaveSubmittedConfig() {
  iotcore::FormFields form;
  for (int i = 0; i < web.args(); i++) form[web.argName(i).c_str()] = web.arg(i).c_str();
  iotcore::Config submitted;
  iotcore::ConfigError error = iotcore::ApplyForm(deviceConfig, form, credentialCheck, &submitted);
  if (!error.ok()) {
    Logf("configuration refused: %s %s", error.field, error.problem);
    Send(400, iotcore::RenderConfigPage(submitted, &error));
  } else if (!SaveConfig(submitted)) {
    Send(500, "<p>Writing the configuration to flash failed. Go back and try again.");
  } else {
    Send(200, iotcore::RenderSavedPage(submitted));
    Logf("configuration saved (thing %s, endpoint %s:%u); restarting", submitted.thing.c_str(),
         submitted.endpoint.c_str(), submitted.port);
    restartAtMs = UptimeMs() + 1000;
  }
}

[[noreturn]] void RunConfigPortal(const char* reason) {
  if (mqtt.connected()) mqtt.disconnect();
  std::string name = ApName();
  std::string password = ApPassword();
  WiFi.mode(WIFI_AP);
  if (!WiFi.softAP(name.c_str(), password.c_str())) Logf("the access point did not start");
  web.on("/", HTTP_GET, ServeConfigPage);
  web.on("/", HTTP_POST, SaveSubmittedConfig);
  web.begin();
  Logf("configuration mode (%s): join Wi-Fi \"%s\" with password %s and open http://%s/", reason,
       name.c_str(), password.c_str(), WiFi.softAPIP().toString().c_str());
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
  uint8_t reason = info.wifi_sta_disconnected.reason;
  if (reason == WIFI_REASON_ASSOC_LEAVE && leavingOnPurpose.exchange(false)) return;
  lastDisconnectReason = reason;
}

void JoinWifi() {
  WiFi.begin(deviceConfig.ssid.c_str(), deviceConfig.password.c_str());
}

void StartWifi() {
  WiFi.persistent(false);  // the credentials live in our own namespace
  WiFi.mode(WIFI_STA);
  WiFi.setSleep(false);  // modem sleep adds latency and drops links in long soaks
  WiFi.setAutoReconnect(true);
  // The 3.x core refuses anything below WPA2 once a password is set; plenty
  // of access points still offer WPA (TKIP) only. Must precede begin().
  WiFi.setMinSecurity(WIFI_AUTH_WPA_PSK);
  WiFi.onEvent(OnWifiDisconnected, ARDUINO_EVENT_WIFI_STA_DISCONNECTED);
  JoinWifi();
  Logf("joining Wi-Fi \"%s\"%s", deviceConfig.ssid.c_str(),
       deviceConfig.password.empty() ? " (open network)" : "");
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
  } else if (!up && wifiUp) {
    Logf("Wi-Fi lost: reason %u %s", reason, reasonName());
    backoff.Disconnected(now);
    nextWifiBeginMs = now + backoff.NextDelay();
  } else if (!up && now >= nextWifiBeginMs) {
    Logf("Wi-Fi still down (last reason %u %s): joining \"%s\" again", reason, reasonName(),
         deviceConfig.ssid.c_str());
    leavingOnPurpose = true;
    WiFi.disconnect();
    JoinWifi();
    nextWifiBeginMs = now + backoff.NextDelay();
  }
  wifiUp = up;
  return up;
}

// Runs in the SNTP task.
void OnTimeSynced(struct timeval*) { sntpSynced = true; }

void StartSntp() {
  sntp_set_time_sync_notification_cb(OnTimeSynced);
  configTime(0, 0, NTP_SERVER, NTP_SERVER_2, NTP_SERVER_3);
}

// ClockUsable is whether TLS may go ahead, as certificate dates can only be
// judged against a clock. Without an NTP answer within 30 s the build time
// is set instead; SNTP keeps running and corrects it when a server answers.
bool ClockUsable(uint64_t now) {
  bool wasUsable = clockKeeper.usable();
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
           "proceed; certificates expired since then go unnoticed until SNTP answers",
           static_cast<unsigned>(iotcore::kClockFallbackMs / 1000), __DATE__, __TIME__);
      break;
    }
    case iotcore::ClockKeeper::Action::kNone:
      break;
  }
  if (sntpSynced.load() && !wasUsable) Logf("clock set by SNTP");
  return clockKeeper.usable();
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
  // NetworkClientSecure keeps the pointers: deviceConfig lives until restart.
  tls.setCACert(deviceConfig.ca.c_str());
  tls.setCertificate(deviceConfig.cert.c_str());
  tls.setPrivateKey(deviceConfig.key.c_str());
  tls.setConnectionTimeout(kTcpConnectMs);
  tls.setHandshakeTimeout(kTlsHandshakeS);
  // AWS IoT takes MQTT on 443 only when the client asks for it by ALPN.
  if (deviceConfig.port == iotcore::kPortHttps) tls.setAlpnProtocols(kAlpnProtocols);
  mqtt.begin(tls);
  mqtt.setKeepAlive(kKeepAliveS);
  mqtt.setCleanSession(true);
  mqtt.setTimeout(kMqttCommandMs);
  mqtt.dropOverflow(true);  // skip an oversized message rather than close the link
  mqtt.onMessageAdvanced(OnMqttMessage);
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

// ConnectAndSubscribe opens the session in steps that each block for at
// most their own timeout: DNS (lwIP's own bound), TCP 10 s, TLS 10 s,
// CONNACK 5 s, each SUBACK 5 s. Errors are lwmqtt's numbers (README.md).
bool ConnectAndSubscribe() {
  const char* host = deviceConfig.endpoint.c_str();
  Logf("connecting to %s:%u as %s", host, deviceConfig.port, deviceConfig.thing.c_str());
  // Resolved here, not inside connect(host, ...): that one tests the
  // result with `!`, but failures are negative, so it went on to 0.0.0.0.
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
  if (!StillOnline("MQTT CONNECT")) return false;
  constexpr bool kTlsAlreadyOpen = true;
  if (!mqtt.connect(deviceConfig.thing.c_str(), kTlsAlreadyOpen)) {
    Logf(
        "MQTT connect failed: lwmqtt error %d, CONNACK code %d (AWS closes the connection when "
        "the policy does not allow this client id)",
        static_cast<int>(mqtt.lastError()), static_cast<int>(mqtt.returnCode()));
    return false;
  }
  const iotcore::Topics& topics = device->core.topics();
  for (size_t i = 0; i < iotcore::Topics::kSubscriptions; i++) {
    if (!StillOnline("subscribing")) return false;
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
    Logf("MQTT connection lost: lwmqtt error %d", static_cast<int>(mqtt.lastError()));
  }
}

void MaintainMqtt(uint64_t now, bool online) {
  if (mqttUp) {
    bool socketOpen = mqtt.connected();
    if (online && socketOpen && mqtt.loop()) return;
    LogLostConnection(online, socketOpen);
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

void setup() {
  Serial.begin(115200);
  StartWatchdog();
  pinMode(kBootButtonPin, INPUT_PULLUP);
#if LED_PIN >= 0
  pinMode(LED_PIN, OUTPUT);
#endif
  const char* resetReason = ResetReasonName(esp_reset_reason());
  Logf("%s starting, reset reason %s", iotcore::kVersion, resetReason);
  Logf("configuration page: hold BOOT for 3 s, then join Wi-Fi \"%s\" with password %s",
       ApName().c_str(), ApPassword().c_str());
  deviceConfig = LoadConfig();
  iotcore::ConfigError error = iotcore::ValidateConfig(deviceConfig, credentialCheck);
  if (!error.ok()) {
    Logf("configuration incomplete: %s %s", error.field, error.problem);
    RunConfigPortal("no valid configuration");
  }

  StartWifi();
  StartSntp();
  // With the radio on, esp_random() draws on RF noise, so boards that boot
  // together still spread their reconnects apart.
  uint64_t seed = (static_cast<uint64_t>(esp_random()) << 32) | esp_random();
  iotcore::Settings settings;
  settings.thing = deviceConfig.thing.c_str();
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
  bool online = MaintainWifi(now) && ClockUsable(now);
  MaintainMqtt(now, online);
  DeliverMessages();
  device->core.Poll(UptimeMs());
  delay(10);  // lets lower-priority tasks run
}
