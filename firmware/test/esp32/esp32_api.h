// Declarations of the arduino-esp32 3.x, ESP-IDF 5.x and arduino-mqtt 2.5
// APIs that src/main.cpp uses, copied in signature from their headers
// (arduino-esp32 3.2.1, ESP-IDF 5.4, 256dpi/arduino-mqtt 2.5.2), so that the
// host can at least compile the sketch: `make -C firmware esp32-check`.
// Nothing here is defined or run. It catches our own mistakes in the glue
// (a renamed iotcore call, a wrong type); it cannot catch a real API that
// differs from these declarations, which only a PlatformIO build does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <functional>

// ---- Arduino core (cores/esp32) ----
class String {
 public:
  String(const char* s = "");
  String(int value);
  String(const String&);
  String& operator=(const String&);
  String& operator+=(const String&);
  String& operator+=(const char*);
  String& operator+=(char);
  const char* c_str() const;
  void trim();
  friend String operator+(const String&, const String&);
  friend String operator+(const String&, const char*);
  friend String operator+(const char*, const String&);
};

class IPAddress {
 public:
  IPAddress();
  String toString() const;
};

class HardwareSerial {
 public:
  void begin(unsigned long baud);
  size_t printf(const char* format, ...) __attribute__((format(printf, 2, 3)));
};
extern HardwareSerial Serial;

class EspClass {
 public:
  uint32_t getFreeHeap();
  uint64_t getEfuseMac();
  [[noreturn]] void restart();
};
extern EspClass ESP;

#define LOW 0x0
#define HIGH 0x1
#define INPUT_PULLUP 0x05
#define OUTPUT 0x03
void pinMode(uint8_t pin, uint8_t mode);
int digitalRead(uint8_t pin);
void digitalWrite(uint8_t pin, uint8_t val);
void delay(uint32_t ms);
extern "C" void configTime(long gmtOffset_sec, int daylightOffset_sec, const char* server1,
                           const char* server2 = nullptr, const char* server3 = nullptr);
#define SET_LOOP_TASK_STACK_SIZE(size) \
  size_t getArduinoLoopTaskStackSize(void) { return size; }

// ---- ESP-IDF 5.x ----
typedef int esp_err_t;
#define ESP_OK 0
#define ESP_ERR_NOT_FOUND 0x105
#define ESP_ERR_INVALID_STATE 0x103
const char* esp_err_to_name(esp_err_t code);
typedef void* TaskHandle_t;
typedef struct {
  uint32_t timeout_ms;
  uint32_t idle_core_mask;
  bool trigger_panic;
} esp_task_wdt_config_t;
esp_err_t esp_task_wdt_init(const esp_task_wdt_config_t* config);
esp_err_t esp_task_wdt_reconfigure(const esp_task_wdt_config_t* config);
esp_err_t esp_task_wdt_add(TaskHandle_t task_handle);
esp_err_t esp_task_wdt_reset(void);
esp_err_t esp_task_wdt_status(TaskHandle_t task_handle);
typedef enum {
  ESP_RST_UNKNOWN, ESP_RST_POWERON, ESP_RST_EXT, ESP_RST_SW, ESP_RST_PANIC, ESP_RST_INT_WDT,
  ESP_RST_TASK_WDT, ESP_RST_WDT, ESP_RST_DEEPSLEEP, ESP_RST_BROWNOUT, ESP_RST_SDIO, ESP_RST_USB,
  ESP_RST_JTAG, ESP_RST_EFUSE, ESP_RST_PWR_GLITCH, ESP_RST_CPU_LOCKUP,
} esp_reset_reason_t;
esp_reset_reason_t esp_reset_reason(void);
uint32_t esp_random(void);
int64_t esp_timer_get_time(void);

// ---- WiFi and Network libraries ----
typedef enum { WIFI_MODE_NULL, WIFI_MODE_STA, WIFI_MODE_AP, WIFI_MODE_APSTA } wifi_mode_t;
#define WIFI_STA WIFI_MODE_STA
#define WIFI_AP WIFI_MODE_AP
typedef enum { WL_IDLE_STATUS = 0, WL_CONNECTED = 3, WL_DISCONNECTED = 6 } wl_status_t;
typedef enum { WIFI_REASON_UNSPECIFIED = 1 } wifi_err_reason_t;
typedef enum { ARDUINO_EVENT_WIFI_STA_DISCONNECTED = 113, ARDUINO_EVENT_MAX } arduino_event_id_t;
typedef struct {
  uint8_t ssid[32];
  uint8_t ssid_len;
  uint8_t bssid[6];
  uint8_t reason;
  int8_t rssi;
} wifi_event_sta_disconnected_t;
typedef union {
  wifi_event_sta_disconnected_t wifi_sta_disconnected;
} arduino_event_info_t;
#define WiFiEvent_t arduino_event_id_t
#define WiFiEventInfo_t arduino_event_info_t
typedef std::function<void(arduino_event_id_t, arduino_event_info_t)> NetworkEventFuncCb;
typedef uint16_t network_event_handle_t;

class WiFiClass {
 public:
  bool mode(wifi_mode_t);
  wl_status_t begin(const char* ssid, const char* passphrase = nullptr, int32_t channel = 0,
                    const uint8_t* bssid = nullptr, bool connect = true);
  bool setSleep(bool enabled);
  bool setAutoReconnect(bool autoReconnect);
  void persistent(bool persistent);
  bool disconnect(bool wifioff = false, bool eraseap = false, unsigned long timeoutLength = 100);
  wl_status_t status();
  int8_t RSSI();
  IPAddress localIP();
  bool softAP(const char* ssid, const char* passphrase = nullptr, int channel = 1, int ssid_hidden = 0,
              int max_connection = 4, bool ftm_responder = false);
  IPAddress softAPIP();
  const char* disconnectReasonName(wifi_err_reason_t reason);
  int hostByName(const char* aHostname, IPAddress& aResult);
  network_event_handle_t onEvent(NetworkEventFuncCb cbEvent, arduino_event_id_t event = ARDUINO_EVENT_MAX);
};
extern WiFiClass WiFi;

class Client {};
class NetworkClientSecure : public Client {
 public:
  void setCACert(const char* rootCA);
  void setCertificate(const char* client_ca);
  void setPrivateKey(const char* private_key);
  void setHandshakeTimeout(unsigned long handshake_timeout);
  int connect(const char* host, uint16_t port, int32_t timeout);
  int lastError(char* buf, const size_t size);
  void stop();
};

// ---- Preferences and WebServer ----
class Preferences {
 public:
  bool begin(const char* name, bool readOnly = false, const char* partition_label = nullptr);
  void end();
  bool isKey(const char* key);
  size_t putString(const char* key, const char* value);
  String getString(const char* key, String defaultValue = String());
};

typedef enum { HTTP_GET = 1, HTTP_POST = 3 } HTTPMethod;
class WebServer {
 public:
  typedef std::function<void(void)> THandlerFunction;
  WebServer(int port = 80);
  void begin();
  void handleClient();
  void on(const String& uri, HTTPMethod method, THandlerFunction fn);
  String arg(String name);
  void send(int code, const char* content_type = nullptr, const String& content = String(""));
};

// ---- 256dpi/arduino-mqtt ----
typedef enum { LWMQTT_SUCCESS = 0 } lwmqtt_err_t;
typedef enum { LWMQTT_CONNECTION_ACCEPTED = 0 } lwmqtt_return_code_t;
class MQTTClient {
  uint32_t _droppedMessages = 0;

 public:
  MQTTClient(int readBufSize, int writeBufSize);
  void begin(Client& client);
  void setKeepAlive(int keepAlive);
  void setCleanSession(bool cleanSession);
  void setTimeout(int timeout);
  void dropOverflow(bool enabled);
  uint32_t droppedMessages() { return this->_droppedMessages; }
  void onMessageAdvanced(void (*cb)(MQTTClient* client, char topic[], char bytes[], int length));
  bool connect(const char clientId[], bool skip = false);
  bool publish(const char topic[], const char payload[], int length, bool retained, int qos);
  bool subscribe(const char topic[], int qos);
  bool loop();
  bool connected();
  bool disconnect();
  lwmqtt_err_t lastError();
  lwmqtt_return_code_t returnCode();
};
