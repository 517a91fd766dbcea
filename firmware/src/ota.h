// The board's half of an OTA update (lib/iotcore/jobs.h): the image comes
// over HTTPS with HTTPClient on a NetworkClientSecure that trusts the
// configuration's CA, as the MQTT connection does (mbedTLS checks the
// server's name against the URL's host), and is written with esp_ota_* to
// the other OTA partition (partitions.csv) while the core checks its size
// and SHA-256. Reboot points the bootloader at it and restarts. The new
// image confirms itself once it has connected to the broker (BootImage);
// until then the bootloader falls back to the previous image at the next
// reset, which the confirm deadline forces.
#pragma once

#include <esp_ota_ops.h>
#include <mbedtls/sha256.h>

#include <cstdint>

#include "../lib/iotcore/jobs.h"

namespace board {

class MbedSha256 : public iotcore::Sha256 {
 public:
  MbedSha256() { mbedtls_sha256_init(&ctx_); }
  ~MbedSha256() override { mbedtls_sha256_free(&ctx_); }
  MbedSha256(const MbedSha256&) = delete;
  MbedSha256& operator=(const MbedSha256&) = delete;
  void Begin() override { mbedtls_sha256_starts(&ctx_, 0); }
  void Update(const uint8_t* data, size_t len) override { mbedtls_sha256_update(&ctx_, data, len); }
  void Finish(uint8_t digest[32]) override { mbedtls_sha256_finish(&ctx_, digest); }

 private:
  mbedtls_sha256_context ctx_;
};

class DeviceUpdater : public iotcore::Updater {
 public:
  // ca is the PEM the MQTT connection trusts (kept, not copied). service
  // runs between chunks: it feeds the watchdog and keeps the MQTT session
  // alive. endSession closes that session before the restart.
  DeviceUpdater(const char* ca, void (*service)(), void (*endSession)())
      : ca_(ca), service_(service), endSession_(endSession) {}

  uint32_t Capacity() override;
  iotcore::Sha256& Hash() override { return hash_; }
  bool Download(const char* url, iotcore::ImageSink& sink, char* error, size_t errorLen) override;
  bool Open(uint32_t size, char* error, size_t errorLen) override;
  bool Write(const uint8_t* data, size_t len, char* error, size_t errorLen) override;
  bool Close(char* error, size_t errorLen) override;
  void Abort() override;
  void Reboot() override;

 private:
  const char* ca_;
  void (*service_)();
  void (*endSession_)();
  MbedSha256 hash_;
  const esp_partition_t* target_ = nullptr;
  esp_ota_handle_t handle_ = 0;
  bool open_ = false;
};

// BootImage follows an image on trial: the first boot of an update.
// NoteBoot (setup) finds out whether this boot is one; Confirm (after the
// first connect) marks it valid; CheckDeadline (loop) rolls back to the
// previous image if no connect confirmed it within kConfirmWithinMs.
class BootImage {
 public:
  static constexpr uint64_t kConfirmWithinMs = 10 * 60 * 1000;
  void NoteBoot();
  void Confirm();
  void CheckDeadline(uint64_t uptimeMs);

 private:
  bool onTrial_ = false;
};

}  // namespace board
