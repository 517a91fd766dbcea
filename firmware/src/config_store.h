// The device configuration in NVS, over the build-time defaults of
// secrets.h, and the credential check done with mbedTLS.
#pragma once

#include <string>

#include "../lib/iotcore/config.h"

namespace board {

// LoadConfig starts from the build-time credentials of secrets.h and takes
// whatever NVS holds over them.
iotcore::Config LoadConfig();
bool SaveConfig(const iotcore::Config& c);
const iotcore::CredentialCheck& CredentialCheck();

// ApName is iotwatch-XXXX, the last four hex digits of the MAC.
std::string ApName();
// ApPassword is made once per board from the hardware RNG and kept in NVS.
std::string ApPassword();

}  // namespace board
