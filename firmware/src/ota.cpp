#include "ota.h"

#include <Arduino.h>
#include <HTTPClient.h>
#include <NetworkClientSecure.h>
#include <esp_task_wdt.h>

#include <cstdio>

#include "../lib/iotcore/timing.h"
#include "board.h"

// arduino-esp32's initArduino() marks a new image valid before setup()
// unless this weak hook says the sketch will: it does, once the image has
// reached the broker (BootImage::Confirm), so that an image that boots but
// cannot connect is rolled back too.
extern "C" bool verifyRollbackLater() { return true; }

namespace board {

namespace {

using iotcore::timing::kMqttCommandMs;
using iotcore::timing::kSocketMs;
using iotcore::timing::kTlsHandshakeMs;
using iotcore::timing::kWatchdogMs;

// Longer without a byte than this fails the download (the socket's bound).
constexpr uint32_t kStallMs = kSocketMs;
// GET blocks for the TCP connect, the TLS handshake and the wait for the
// response's header, fed to the watchdog once before it.
constexpr uint32_t kHeaderWaitMs = kMqttCommandMs;
static_assert(kSocketMs + kTlsHandshakeMs + kHeaderWaitMs < kWatchdogMs,
              "the image request must fit in one watchdog period");

}  // namespace

uint32_t DeviceUpdater::Capacity() {
  const esp_partition_t* next = esp_ota_get_next_update_partition(nullptr);
  return next != nullptr ? next->size : 0;
}

bool DeviceUpdater::Download(const char* url, iotcore::ImageSink& sink, char* error, size_t errorLen) {
  NetworkClientSecure tls;
  tls.setCACert(ca_);
  tls.setHandshakeTimeout(kTlsHandshakeMs / 1000);
  HTTPClient http;
  http.useHTTP10(true);  // the body as it is, never chunked
  http.setConnectTimeout(static_cast<int32_t>(kSocketMs));
  http.setTimeout(static_cast<uint16_t>(kHeaderWaitMs));
  if (!http.begin(tls, String(url))) {
    snprintf(error, errorLen, "HTTPClient does not take the URL");
    return false;
  }
  esp_task_wdt_reset();  // the connect and the request: one TLS handshake and a write
  int code = http.GET();
  if (code != HTTP_CODE_OK) {
    if (code < 0) {
      snprintf(error, errorLen, "%s", HTTPClient::errorToString(code).c_str());
    } else {
      snprintf(error, errorLen, "the server answered HTTP %d", code);
    }
    http.end();
    return false;
  }
  int expected = http.getSize();  // -1 when the server did not say
  NetworkClient* body = http.getStreamPtr();
  static uint8_t chunk[2048];  // off the loop task's stack
  int received = 0;
  uint64_t lastData = UptimeMs();
  bool ok = true;
  while (ok && (expected < 0 || received < expected)) {
    service_();
    int n = body->available() > 0 ? body->read(chunk, sizeof chunk) : 0;
    if (n > 0) {
      ok = sink.Take(chunk, static_cast<size_t>(n));
      if (!ok) snprintf(error, errorLen, "stopped");
      received += n;
      lastData = UptimeMs();
    } else if (!body->connected()) {
      break;  // HTTP/1.0: the body ends with the connection
    } else if (UptimeMs() - lastData > kStallMs) {
      snprintf(error, errorLen, "no data for %u s after %d bytes",
               static_cast<unsigned>(kStallMs / 1000), received);
      ok = false;
    } else {
      delay(5);
    }
  }
  http.end();
  return ok;
}

bool DeviceUpdater::Open(uint32_t, char* error, size_t errorLen) {
  Abort();
  target_ = esp_ota_get_next_update_partition(nullptr);
  if (target_ == nullptr) {
    snprintf(error, errorLen, "no OTA partition to write to (partitions.csv)");
    return false;
  }
  // Sequential writes erase as they go: erasing 1.9 MB up front would hold
  // the loop for seconds, past the watchdog on a slow flash.
  esp_err_t err = esp_ota_begin(target_, OTA_WITH_SEQUENTIAL_WRITES, &handle_);
  if (err != ESP_OK) {
    snprintf(error, errorLen, "esp_ota_begin(%s): %s", target_->label, esp_err_to_name(err));
    return false;
  }
  open_ = true;
  return true;
}

bool DeviceUpdater::Write(const uint8_t* data, size_t len, char* error, size_t errorLen) {
  esp_err_t err = esp_ota_write(handle_, data, len);
  if (err != ESP_OK) snprintf(error, errorLen, "esp_ota_write: %s", esp_err_to_name(err));
  return err == ESP_OK;
}

bool DeviceUpdater::Close(char* error, size_t errorLen) {
  open_ = false;
  esp_err_t err = esp_ota_end(handle_);  // checks the image is an app for this chip
  if (err != ESP_OK) snprintf(error, errorLen, "esp_ota_end: %s", esp_err_to_name(err));
  return err == ESP_OK;
}

void DeviceUpdater::Abort() {
  if (open_) esp_ota_abort(handle_);
  open_ = false;
}

void DeviceUpdater::Reboot() {
  esp_err_t err = esp_ota_set_boot_partition(target_);
  if (err != ESP_OK) {
    Logf("esp_ota_set_boot_partition: %s; staying on this image", esp_err_to_name(err));
    return;
  }
  Logf("restarting into %s", target_->label);
  endSession_();
  delay(100);  // the log line out of the UART
  ESP.restart();
}

void BootImage::NoteBoot() {
  esp_ota_img_states_t state;
  const esp_partition_t* running = esp_ota_get_running_partition();
  onTrial_ = running != nullptr && esp_ota_get_state_partition(running, &state) == ESP_OK &&
             state == ESP_OTA_IMG_PENDING_VERIFY;
  if (onTrial_) {
    Logf("first boot of a new image in %s: on trial until it reaches the broker (%u min)",
         running->label, static_cast<unsigned>(kConfirmWithinMs / 60000));
  }
}

void BootImage::Confirm() {
  if (!onTrial_) return;
  onTrial_ = false;
  esp_err_t err = esp_ota_mark_app_valid_cancel_rollback();
  Logf("new image confirmed: %s", err == ESP_OK ? "kept" : esp_err_to_name(err));
}

void BootImage::CheckDeadline(uint64_t uptimeMs) {
  if (!onTrial_ || uptimeMs < kConfirmWithinMs) return;
  Logf("the new image did not reach the broker in %u min: rolling back",
       static_cast<unsigned>(kConfirmWithinMs / 60000));
  esp_ota_mark_app_invalid_rollback_and_reboot();
  onTrial_ = false;  // no image to go back to: keep this one
}

}  // namespace board
