// Declarations of the arduino-esp32 3.x, ESP-IDF 5.x, mbedTLS 3.x and
// arduino-mqtt 2.5.2 APIs that src/*.cpp use, so that the host can compile
// (not link) the sketch: `make -C firmware esp32-check`. What decides which
// call compiles is kept as in the real headers: static members
// (WiFiGenericClass::mode, hostByName), the class hierarchy (Print → Stream
// → Client → ESPLwIPClient → NetworkClient → NetworkClientSecure; WiFiClass
// over WiFiGenericClass, WiFiSTAClass, WiFiAPClass), whole overload sets
// (onEvent, connect, send, publish, subscribe, onMessageAdvanced), explicit
// constructors (String) and default arguments. Transcribed from the 3.x
// headers NetworkClient.h, NetworkClientSecure.h, WiFiGeneric.h, WiFiSTA.h,
// WebServer.h, Preferences.h, WString.h and from 256dpi/arduino-mqtt
// v2.5.2 MQTTClient.h; softAP's auth/cipher defaults, HardwareSerial::begin
// and the enum values from memory of the 3.x sources. Added for issue 23,
// read from the sources: ESP-IDF's esp_heap_caps.h (heap_caps_get_*_size,
// heap_caps_get_largest_free_block, MALLOC_CAP_DEFAULT) and
// bootloader_random.h, mbedTLS 3.x x509_crt.h/x509.h (valid_from, valid_to,
// mbedtls_x509_time), arduino-esp32's NetworkClientSecure::getPeerCertificate,
// Preferences::getType/clear and PreferenceType, attachInterrupt and CHANGE
// (esp32-hal-gpio.h), WiFiAPClass::softAPgetStationNum. Members the sketch
// does not reach are left out, and the mbedTLS structs keep only the member
// used (x509_crt.pk), not the real layout. Nothing here is defined or run:
// it cannot catch a real API that differs from these lines; only
// `pio run -e pico32` does.
#pragma once

#include <sys/time.h>

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <functional>

// ---- cores/esp32: WString.h, Print/Stream/Client, IPAddress, Esp ----
class __FlashStringHelper;
class String {
 public:
  String(const char* cstr = "");
  String(const char* cstr, unsigned int length);
  String(const String& str);
  String(const __FlashStringHelper* str);
  String(String&& rval);
  explicit String(char c);
  explicit String(unsigned char, unsigned char base = 10);
  explicit String(int, unsigned char base = 10);
  explicit String(unsigned int, unsigned char base = 10);
  explicit String(long, unsigned char base = 10);
  explicit String(unsigned long, unsigned char base = 10);
  explicit String(float, unsigned int decimalPlaces = 2);
  explicit String(double, unsigned int decimalPlaces = 2);
  explicit String(long long, unsigned char base = 10);
  explicit String(unsigned long long, unsigned char base = 10);
  ~String(void);
  String& operator=(const String& rhs);
  String& operator=(const char* cstr);
  String& operator=(String&& rval);
  unsigned int length(void) const;
  const char* c_str() const;
  void trim(void);
};

class Print {
 public:
  virtual ~Print() {}
  virtual size_t write(uint8_t) = 0;
  virtual size_t write(const uint8_t* buffer, size_t size);
  size_t printf(const char* format, ...) __attribute__((format(printf, 2, 3)));
};
class Stream : public Print {
 public:
  virtual int available() = 0;
  virtual int read() = 0;
  virtual int peek() = 0;
};

class IPAddress {
 public:
  IPAddress();
  IPAddress(uint32_t address);
  virtual ~IPAddress() {}
  virtual String toString(bool includeZone = false) const;
};

class Client : public Stream {
 public:
  virtual int connect(IPAddress ip, uint16_t port) = 0;
  virtual int connect(const char* host, uint16_t port) = 0;
  virtual size_t write(uint8_t) = 0;
  virtual size_t write(const uint8_t* buf, size_t size) = 0;
  virtual int available() = 0;
  virtual int read() = 0;
  virtual int read(uint8_t* buf, size_t size) = 0;
  virtual int peek() = 0;
  virtual void flush() = 0;
  virtual void stop() = 0;
  virtual uint8_t connected() = 0;
  virtual operator bool() = 0;
};

class HardwareSerial : public Stream {
 public:
  void begin(unsigned long baud, uint32_t config = 0x800001c, int8_t rxPin = -1, int8_t txPin = -1,
             bool invert = false, unsigned long timeout_ms = 20000UL, uint8_t rxfifo_full_thrhd = 120);
  int available(void) override;
  int peek(void) override;
  int read(void) override;
  size_t write(uint8_t) override;
};
extern HardwareSerial Serial;

class EspClass {
 public:
  uint32_t getFreeHeap();
  uint64_t getEfuseMac();
  void restart();
};
extern EspClass ESP;

#define LOW 0x0
#define HIGH 0x1
#define INPUT_PULLUP 0x05
#define OUTPUT 0x03
#define CHANGE 0x03
#define IRAM_ATTR __attribute__((section(".iram1")))
extern "C" {
void pinMode(uint8_t pin, uint8_t mode);
int digitalRead(uint8_t pin);
void attachInterrupt(uint8_t pin, void (*)(void), int mode);
void digitalWrite(uint8_t pin, uint8_t val);
void delay(uint32_t);
void configTime(long gmtOffset_sec, int daylightOffset_sec, const char* server1,
                const char* server2 = nullptr, const char* server3 = nullptr);
}
#define SET_LOOP_TASK_STACK_SIZE(sz) \
  size_t getArduinoLoopTaskStackSize() { return sz; }

// ---- ESP-IDF 5.x ----
typedef int esp_err_t;
#define ESP_OK 0
#define ESP_ERR_INVALID_STATE 0x103
#define ESP_ERR_NOT_FOUND 0x105
extern "C" {
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
void esp_fill_random(void* buf, size_t len);
// bootloader_random.h
void bootloader_random_enable(void);
void bootloader_random_disable(void);
// esp_heap_caps.h
#define MALLOC_CAP_DEFAULT (1 << 12)
size_t heap_caps_get_free_size(uint32_t caps);
size_t heap_caps_get_minimum_free_size(uint32_t caps);
size_t heap_caps_get_largest_free_block(uint32_t caps);
int64_t esp_timer_get_time(void);
// esp_sntp.h
typedef void (*sntp_sync_time_cb_t)(struct timeval* tv);
void sntp_set_time_sync_notification_cb(sntp_sync_time_cb_t callback);
}

// ---- mbedTLS 3.x (x509_crt.h, pk.h) ----
extern "C" {
typedef struct mbedtls_pk_context {
  const void* pk_info;
  void* pk_ctx;
} mbedtls_pk_context;
typedef struct mbedtls_x509_time {
  int year, mon, day;
  int hour, min, sec;
} mbedtls_x509_time;
typedef struct mbedtls_x509_crt {
  int own_buffer;
  mbedtls_x509_time valid_from;
  mbedtls_x509_time valid_to;
  mbedtls_pk_context pk;
  struct mbedtls_x509_crt* next;
} mbedtls_x509_crt;
void mbedtls_x509_crt_init(mbedtls_x509_crt* crt);
int mbedtls_x509_crt_parse(mbedtls_x509_crt* chain, const unsigned char* buf, size_t buflen);
void mbedtls_x509_crt_free(mbedtls_x509_crt* crt);
void mbedtls_pk_init(mbedtls_pk_context* ctx);
void mbedtls_pk_free(mbedtls_pk_context* ctx);
int mbedtls_pk_parse_key(mbedtls_pk_context* ctx, const unsigned char* key, size_t keylen,
                         const unsigned char* pwd, size_t pwdlen,
                         int (*f_rng)(void*, unsigned char*, size_t), void* p_rng);
int mbedtls_pk_check_pair(const mbedtls_pk_context* pub, const mbedtls_pk_context* prv,
                          int (*f_rng)(void*, unsigned char*, size_t), void* p_rng);
}

// ---- Network and WiFi libraries ----
typedef enum { WIFI_MODE_NULL = 0, WIFI_MODE_STA, WIFI_MODE_AP, WIFI_MODE_APSTA } wifi_mode_t;
#define WIFI_OFF WIFI_MODE_NULL
#define WIFI_STA WIFI_MODE_STA
#define WIFI_AP WIFI_MODE_AP
typedef enum {
  WIFI_AUTH_OPEN = 0, WIFI_AUTH_WEP, WIFI_AUTH_WPA_PSK, WIFI_AUTH_WPA2_PSK, WIFI_AUTH_WPA_WPA2_PSK,
} wifi_auth_mode_t;
typedef enum { WIFI_CIPHER_TYPE_NONE = 0, WIFI_CIPHER_TYPE_CCMP = 4 } wifi_cipher_type_t;
typedef enum { WIFI_PS_NONE, WIFI_PS_MIN_MODEM, WIFI_PS_MAX_MODEM } wifi_ps_type_t;
typedef enum {
  WL_NO_SHIELD = 255, WL_STOPPED = 254, WL_IDLE_STATUS = 0, WL_NO_SSID_AVAIL = 1,
  WL_SCAN_COMPLETED = 2, WL_CONNECTED = 3, WL_CONNECT_FAILED = 4, WL_CONNECTION_LOST = 5,
  WL_DISCONNECTED = 6
} wl_status_t;
typedef enum { WIFI_REASON_UNSPECIFIED = 1, WIFI_REASON_ASSOC_LEAVE = 8 } wifi_err_reason_t;
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
typedef struct {
  arduino_event_id_t event_id;
  arduino_event_info_t event_info;
} arduino_event_t;
typedef void (*NetworkEventCb)(arduino_event_id_t event);
typedef std::function<void(arduino_event_id_t event, arduino_event_info_t info)> NetworkEventFuncCb;
typedef void (*NetworkEventSysCb)(arduino_event_t* event);
typedef size_t network_event_handle_t;
#define WiFiEvent_t arduino_event_id_t
#define WiFiEventInfo_t arduino_event_info_t
#define WiFiEventCb NetworkEventCb
#define WiFiEventFuncCb NetworkEventFuncCb
#define WiFiEventSysCb NetworkEventSysCb
#define wifi_event_id_t network_event_handle_t

class WiFiGenericClass {
 public:
  WiFiGenericClass();
  wifi_event_id_t onEvent(WiFiEventCb cbEvent, arduino_event_id_t event = ARDUINO_EVENT_MAX);
  wifi_event_id_t onEvent(WiFiEventFuncCb cbEvent, arduino_event_id_t event = ARDUINO_EVENT_MAX);
  wifi_event_id_t onEvent(WiFiEventSysCb cbEvent, arduino_event_id_t event = ARDUINO_EVENT_MAX);
  void persistent(bool persistent);
  static bool mode(wifi_mode_t);
  static wifi_mode_t getMode();
  bool setSleep(bool enabled);
  bool setSleep(wifi_ps_type_t sleepType);
  static int hostByName(const char* aHostname, IPAddress& aResult);
  const char* disconnectReasonName(wifi_err_reason_t reason);
};

class WiFiSTAClass {
 public:
  wl_status_t begin(const char* ssid, const char* passphrase = nullptr, int32_t channel = 0,
                    const uint8_t* bssid = nullptr, bool connect = true);
  wl_status_t begin(const String& ssid, const String& passphrase = (const char*)nullptr,
                    int32_t channel = 0, const uint8_t* bssid = nullptr, bool connect = true);
  wl_status_t begin();
  bool disconnect(bool wifioff = false, bool eraseap = false, unsigned long timeoutLength = 100);
  bool setAutoReconnect(bool autoReconnect);
  void setMinSecurity(wifi_auth_mode_t minSecurity);  // Default is WIFI_AUTH_WPA2_PSK
  wl_status_t status();
  int8_t RSSI();
  IPAddress localIP();
};

class WiFiAPClass {
 public:
  bool softAP(const char* ssid, const char* passphrase = nullptr, int channel = 1,
              int ssid_hidden = 0, int max_connection = 4, bool ftm_responder = false,
              wifi_auth_mode_t auth_mode = WIFI_AUTH_WPA2_PSK,
              wifi_cipher_type_t cipher = WIFI_CIPHER_TYPE_CCMP);
  bool softAP(const String& ssid, const String& passphrase = (const char*)nullptr,
              int channel = 1, int ssid_hidden = 0, int max_connection = 4,
              bool ftm_responder = false, wifi_auth_mode_t auth_mode = WIFI_AUTH_WPA2_PSK,
              wifi_cipher_type_t cipher = WIFI_CIPHER_TYPE_CCMP);
  IPAddress softAPIP();
  uint8_t softAPgetStationNum();
};

class WiFiClass : public WiFiGenericClass, public WiFiSTAClass, public WiFiAPClass {};
extern WiFiClass WiFi;

class ESPLwIPClient : public Client {
 public:
  virtual int connect(IPAddress ip, uint16_t port, int32_t timeout) = 0;
  virtual int connect(const char* host, uint16_t port, int32_t timeout) = 0;
  virtual void setConnectionTimeout(uint32_t milliseconds) = 0;
};

class NetworkClient : public ESPLwIPClient {
 public:
  NetworkClient();
  NetworkClient(int fd);
  ~NetworkClient();
  int connect(IPAddress ip, uint16_t port);
  int connect(IPAddress ip, uint16_t port, int32_t timeout_ms);
  int connect(const char* host, uint16_t port);
  int connect(const char* host, uint16_t port, int32_t timeout_ms);
  size_t write(uint8_t data);
  size_t write(const uint8_t* buf, size_t size);
  int available();
  int read();
  int read(uint8_t* buf, size_t size);
  int peek();
  void flush();
  void stop();
  uint8_t connected();
  operator bool();
  void setConnectionTimeout(uint32_t milliseconds);
};

class NetworkClientSecure : public NetworkClient {
 public:
  NetworkClientSecure();
  NetworkClientSecure(int socket);
  ~NetworkClientSecure();
  int connect(IPAddress ip, uint16_t port);
  int connect(IPAddress ip, uint16_t port, int32_t timeout);
  int connect(const char* host, uint16_t port);
  int connect(const char* host, uint16_t port, int32_t timeout);
  int connect(IPAddress ip, uint16_t port, const char* rootCABuff, const char* cli_cert,
              const char* cli_key);
  int connect(const char* host, uint16_t port, const char* rootCABuff, const char* cli_cert,
              const char* cli_key);
  int connect(IPAddress ip, uint16_t port, const char* pskIdent, const char* psKey);
  int connect(const char* host, uint16_t port, const char* pskIdent, const char* psKey);
  int connect(IPAddress ip, uint16_t port, const char* host, const char* CA_cert, const char* cert,
              const char* private_key);
  int peek();
  size_t write(uint8_t data);
  size_t write(const uint8_t* buf, size_t size);
  int available();
  int read();
  int read(uint8_t* buf, size_t size);
  void flush() {}
  void stop();
  uint8_t connected();
  int lastError(char* buf, const size_t size);
  void setCACert(const char* rootCA);
  void setCertificate(const char* client_ca);
  void setPrivateKey(const char* private_key);
  void setHandshakeTimeout(unsigned long handshake_timeout);
  void setAlpnProtocols(const char** alpn_protos);
  const mbedtls_x509_crt* getPeerCertificate();
  operator bool();
};

// ---- Preferences ----
typedef enum { PT_I8, PT_U8, PT_I16, PT_U16, PT_I32, PT_U32, PT_I64, PT_U64, PT_STR, PT_BLOB, PT_INVALID } PreferenceType;
class Preferences {
 public:
  Preferences();
  ~Preferences();
  bool begin(const char* name, bool readOnly = false, const char* partition_label = nullptr);
  void end();
  bool clear();
  bool remove(const char* key);
  PreferenceType getType(const char* key);
  size_t putUShort(const char* key, uint16_t value);
  size_t putString(const char* key, const char* value);
  size_t putString(const char* key, String value);
  size_t putBytes(const char* key, const void* value, size_t len);
  bool isKey(const char* key);
  uint16_t getUShort(const char* key, uint16_t defaultValue = 0);
  size_t getString(const char* key, char* value, size_t maxLen);
  String getString(const char* key, String defaultValue = String());
  size_t getBytesLength(const char* key);
  size_t getBytes(const char* key, void* buf, size_t maxLen);
};

// ---- WebServer ----
typedef enum {
  HTTP_ANY = 0b01111111, HTTP_DELETE = 0, HTTP_GET = 1, HTTP_HEAD = 2, HTTP_POST = 3, HTTP_PUT = 4,
} HTTPMethod;
class Uri {
 public:
  Uri(const char* uri);
  Uri(const String& uri);
  virtual ~Uri() {}
};
class RequestHandler;
class WebServer {
 public:
  WebServer(IPAddress addr, int port = 80);
  WebServer(int port = 80);
  virtual ~WebServer();
  virtual void begin();
  virtual void begin(uint16_t port);
  virtual void handleClient();
  typedef std::function<void(void)> THandlerFunction;
  RequestHandler& on(const Uri& uri, THandlerFunction fn);
  RequestHandler& on(const Uri& uri, HTTPMethod method, THandlerFunction fn);
  RequestHandler& on(const Uri& uri, HTTPMethod method, THandlerFunction fn, THandlerFunction ufn);
  String arg(const String& name) const;
  String arg(int i) const;
  String argName(int i) const;
  int args() const;
  bool hasArg(const String& name) const;
  void send(int code, const char* content_type = nullptr, const String& content = String(""));
  void send(int code, char* content_type, const String& content);
  void send(int code, const String& content_type, const String& content);
  void send(int code, const char* content_type, const char* content);
  void send(int code, const char* content_type, Stream& stream, size_t content_length = 0);
};

// ---- 256dpi/arduino-mqtt 2.5.2 ----
typedef enum {
  LWMQTT_SUCCESS = 0, LWMQTT_BUFFER_TOO_SHORT = -1, LWMQTT_VARNUM_OVERFLOW = -2,
  LWMQTT_NETWORK_FAILED_CONNECT = -3, LWMQTT_NETWORK_TIMEOUT = -4, LWMQTT_NETWORK_FAILED_READ = -5,
  LWMQTT_NETWORK_FAILED_WRITE = -6, LWMQTT_REMAINING_LENGTH_OVERFLOW = -7,
  LWMQTT_REMAINING_LENGTH_MISMATCH = -8, LWMQTT_MISSING_OR_WRONG_PACKET = -9,
  LWMQTT_CONNECTION_DENIED = -10, LWMQTT_FAILED_SUBSCRIPTION = -11, LWMQTT_SUBACK_ARRAY_OVERFLOW = -12,
  LWMQTT_PONG_TIMEOUT = -13,
} lwmqtt_err_t;
typedef enum { LWMQTT_CONNECTION_ACCEPTED = 0, LWMQTT_UNKNOWN_RETURN_CODE = 6 } lwmqtt_return_code_t;
class MQTTClient;
typedef void (*MQTTClientCallbackSimple)(String& topic, String& payload);
typedef void (*MQTTClientCallbackAdvanced)(MQTTClient* client, char topic[], char bytes[], int length);
typedef std::function<void(String& topic, String& payload)> MQTTClientCallbackSimpleFunction;
typedef std::function<void(MQTTClient* client, char topic[], char bytes[], int length)>
    MQTTClientCallbackAdvancedFunction;
class MQTTClient {
  lwmqtt_return_code_t _returnCode = (lwmqtt_return_code_t)0;
  lwmqtt_err_t _lastError = (lwmqtt_err_t)0;
  uint32_t _droppedMessages = 0;

 public:
  explicit MQTTClient(int bufSize = 128) : MQTTClient(bufSize, bufSize) {}
  MQTTClient(int readSize, int writeBufSize);
  ~MQTTClient();
  void begin(Client& _client);
  void begin(const char _hostname[], Client& _client);
  void begin(const char _hostname[], int _port, Client& _client);
  void begin(IPAddress _address, Client& _client);
  void begin(IPAddress _address, int _port, Client& _client);
  void onMessage(MQTTClientCallbackSimple cb);
  void onMessageAdvanced(MQTTClientCallbackAdvanced cb);
  void onMessage(MQTTClientCallbackSimpleFunction cb);
  void onMessageAdvanced(MQTTClientCallbackAdvancedFunction cb);
  void setKeepAlive(int keepAlive);
  void setCleanSession(bool cleanSession);
  void setTimeout(int timeout);
  void dropOverflow(bool enabled);
  uint32_t droppedMessages() { return this->_droppedMessages; }
  bool connect(const char clientId[], bool skip = false);
  bool connect(const char clientId[], const char username[], bool skip = false);
  bool connect(const char clientID[], const char username[], const char password[], bool skip = false);
  bool publish(const String& topic);
  bool publish(const char topic[]);
  bool publish(const String& topic, const String& payload);
  bool publish(const String& topic, const String& payload, bool retained, int qos);
  bool publish(const char topic[], const String& payload);
  bool publish(const char topic[], const String& payload, bool retained, int qos);
  bool publish(const char topic[], const char payload[]);
  bool publish(const char topic[], const char payload[], bool retained, int qos);
  bool publish(const char topic[], const char payload[], int length);
  bool publish(const char topic[], const char payload[], int length, bool retained, int qos);
  bool subscribe(const String& topic);
  bool subscribe(const String& topic, int qos);
  bool subscribe(const char topic[]);
  bool subscribe(const char topic[], int qos);
  bool loop();
  bool connected();
  lwmqtt_err_t lastError() { return this->_lastError; }
  lwmqtt_return_code_t returnCode() { return this->_returnCode; }
  bool disconnect();
};
