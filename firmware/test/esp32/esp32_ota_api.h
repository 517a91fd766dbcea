// Declarations of the APIs src/ota.cpp uses, for `make esp32-check` (as
// esp32_api.h, compiled, never linked or run). Read for issue 24 from the
// sources: ESP-IDF's components/app_update/include/esp_ota_ops.h
// (esp_ota_begin/write/end/abort, esp_ota_set_boot_partition,
// esp_ota_get_next_update_partition, esp_ota_get_running_partition,
// esp_ota_get_state_partition, esp_ota_mark_app_valid_cancel_rollback,
// esp_ota_mark_app_invalid_rollback_and_reboot, OTA_WITH_SEQUENTIAL_WRITES),
// the esp_ota_img_states_t values of esp_flash_partitions.h, arduino-esp32
// 3.x libraries/HTTPClient/src/HTTPClient.h (begin(NetworkClient&, String),
// useHTTP10, setTimeout, GET, getSize, getStreamPtr, end, errorToString,
// HTTP_CODE_OK), mbedTLS 3.x sha256.h (int-returning starts/update/finish),
// and the weak verifyRollbackLater() hook of arduino-esp32's
// cores/esp32/esp32-hal-misc.c. esp_partition_t keeps only the members used.
#pragma once

#include "esp32_api.h"

// ---- ESP-IDF app_update ----
extern "C" {
typedef struct {
  uint32_t address;
  uint32_t size;
  char label[17];
} esp_partition_t;

typedef uint32_t esp_ota_handle_t;

typedef enum {
  ESP_OTA_IMG_NEW = 0x0U,
  ESP_OTA_IMG_PENDING_VERIFY = 0x1U,
  ESP_OTA_IMG_VALID = 0x2U,
  ESP_OTA_IMG_INVALID = 0x3U,
  ESP_OTA_IMG_ABORTED = 0x4U,
  ESP_OTA_IMG_UNDEFINED = 0xFFFFFFFFU,
} esp_ota_img_states_t;

#define OTA_WITH_SEQUENTIAL_WRITES 0xfffffffe

esp_err_t esp_ota_begin(const esp_partition_t* partition, size_t image_size, esp_ota_handle_t* out_handle);
esp_err_t esp_ota_write(esp_ota_handle_t handle, const void* data, size_t size);
esp_err_t esp_ota_end(esp_ota_handle_t handle);
esp_err_t esp_ota_abort(esp_ota_handle_t handle);
esp_err_t esp_ota_set_boot_partition(const esp_partition_t* partition);
const esp_partition_t* esp_ota_get_running_partition(void);
const esp_partition_t* esp_ota_get_next_update_partition(const esp_partition_t* start_from);
esp_err_t esp_ota_get_state_partition(const esp_partition_t* partition, esp_ota_img_states_t* ota_state);
esp_err_t esp_ota_mark_app_valid_cancel_rollback(void);
esp_err_t esp_ota_mark_app_invalid_rollback_and_reboot(void);
}

// ---- mbedTLS 3.x SHA-256 ----
extern "C" {
typedef struct mbedtls_sha256_context {
  uint32_t opaque[28];
} mbedtls_sha256_context;
void mbedtls_sha256_init(mbedtls_sha256_context* ctx);
void mbedtls_sha256_free(mbedtls_sha256_context* ctx);
int mbedtls_sha256_starts(mbedtls_sha256_context* ctx, int is224);
int mbedtls_sha256_update(mbedtls_sha256_context* ctx, const unsigned char* input, size_t ilen);
int mbedtls_sha256_finish(mbedtls_sha256_context* ctx, unsigned char* output);
}

// ---- arduino-esp32 HTTPClient ----
#define HTTP_CODE_OK 200

class HTTPClient {
 public:
  HTTPClient();
  ~HTTPClient();
  bool begin(NetworkClient& client, String url);
  bool begin(NetworkClient& client, String host, uint16_t port, String uri = "/", bool https = false);
  void end(void);
  bool connected(void);
  void setConnectTimeout(int32_t connectTimeout);
  void setTimeout(uint16_t timeout);
  void useHTTP10(bool usehttp10 = true);
  int GET();
  int getSize(void);
  NetworkClient& getStream(void);
  NetworkClient* getStreamPtr(void);
  static String errorToString(int error);
};
