// The device configuration in NVS, over the build-time defaults of
// secrets.h, and the credential check done with mbedTLS. How it is kept
// (two slots and a switch, verified before the switch) is
// lib/iotcore/config_store.h; this file gives it Preferences.
#pragma once

#include <optional>
#include <string>

#include "../lib/iotcore/config.h"

namespace board {

// LoadConfig starts from the build-time credentials of secrets.h and takes
// whatever NVS holds over them.
iotcore::Config LoadConfig();
// SaveConfig keeps c whole or not at all; why says what failed.
bool SaveConfig(const iotcore::Config& c, std::string* why);
// MarkConfigGood records inUse, the configuration in use, as one that
// reached the broker, and ConfigReachedBroker whether it has; LastGoodConfig
// is such a configuration when it is not the one in use, and
// RevertToGoodConfig makes it the one in use (after a restart).
void MarkConfigGood(const iotcore::Config& inUse);
bool ConfigReachedBroker();
std::optional<iotcore::Config> LastGoodConfig();
bool RevertToGoodConfig();
const iotcore::CredentialCheck& CredentialCheck();

// ApName is iotwatch-XXXX, the last four hex digits of the MAC.
std::string ApName();
// ApPassword is made once per board from the hardware RNG and kept in NVS;
// it is the same string for the whole boot, so the one printed at boot is
// the access point's even when NVS would not keep it.
std::string ApPassword();

}  // namespace board
