// The credential check of the configuration (lib/iotcore/config.h) done with
// OpenSSL, for fw-host and the host tests; the ESP32 does it with mbedTLS.
#pragma once

#include "../lib/iotcore/config.h"

namespace fwhost {

class OpenSslCheck : public iotcore::CredentialCheck {
 public:
  iotcore::ConfigError Check(const iotcore::Config& c) const override;
};

}  // namespace fwhost
