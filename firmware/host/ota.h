// fw-host's half of an OTA update (lib/iotcore/jobs.h): the image comes over
// HTTPS with OpenSSL, trusting the --ca file and checking the server's name
// as the MQTT connection does, and is written beside the running binary as
// its other slot (fw-host and fw-host.ota take turns), made executable and
// exec'd with the same arguments: the new binary is the rebooted device. An
// exec that fails boots the running binary again, which then reports the
// job FAILED, as a board whose new image does not come up falls back.
#pragma once

#include <openssl/evp.h>

#include <cstdint>
#include <functional>
#include <string>

#include "../lib/iotcore/jobs.h"

namespace fwhost {

class OpenSslSha256 : public iotcore::Sha256 {
 public:
  OpenSslSha256();
  ~OpenSslSha256() override;
  OpenSslSha256(const OpenSslSha256&) = delete;
  OpenSslSha256& operator=(const OpenSslSha256&) = delete;
  void Begin() override;
  void Update(const uint8_t* data, size_t len) override;
  void Finish(uint8_t digest[32]) override;

 private:
  EVP_MD_CTX* ctx_;
};

// kResetReasonEnv carries the reset reason into the exec'd binary: SW, as
// the board reports a restart into a new image.
constexpr const char* kResetReasonEnv = "FW_HOST_RESET_REASON";

class HostUpdater : public iotcore::Updater {
 public:
  // ca is the MQTT connection's trust anchor, ciphers its TLS 1.2 suites;
  // argv is exec'd again; shutdown closes the MQTT session before the exec.
  HostUpdater(std::string ca, std::string ciphers, char* const* argv,
              std::function<void()> shutdown);
  ~HostUpdater() override { Abort(); }

  uint32_t Capacity() override { return kCapacity; }
  iotcore::Sha256& Hash() override { return hash_; }
  bool Download(const char* url, iotcore::ImageSink& sink, char* error, size_t errorLen) override;
  bool Open(uint32_t size, char* error, size_t errorLen) override;
  bool Write(const uint8_t* data, size_t len, char* error, size_t errorLen) override;
  bool Close(char* error, size_t errorLen) override;
  void Abort() override;
  void Reboot() override;

 private:
  // A fw-host binary is a few MB; the limit only keeps a wrong document
  // from filling the disk.
  static constexpr uint32_t kCapacity = 256u << 20;

  std::string ca_, ciphers_;
  char* const* argv_;
  std::function<void()> shutdown_;
  OpenSslSha256 hash_;
  std::string running_, other_;  // the slots: this binary and the one written
  int fd_ = -1;                   // the image being written, as other_ + ".part"
};

// OtherSlot is the path an update of the binary at running is written to:
// running + ".ota", or running without it.
std::string OtherSlot(const std::string& running);

}  // namespace fwhost
