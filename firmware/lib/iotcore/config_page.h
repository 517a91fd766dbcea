// The configuration page the device serves on its own access point: the
// HTML, what a submitted form changes, and the access point's password.
// src/main.cpp only moves these strings between WebServer and Preferences.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "config.h"

namespace iotcore {

// FormFields are the submitted form's fields by name: ssid, password, open
// (a checkbox, present when ticked), thing, endpoint, port, cert, key, ca.
using FormFields = std::map<std::string, std::string>;

// ApplyForm sets *out to what the form asks for on top of stored, and
// returns why that is not a valid configuration (ok() when it is). A blank
// password keeps the stored one unless "open" is ticked; a blank
// certificate, key or CA keeps the stored one. The thing name, endpoint and
// PEMs are trimmed, as pasted text often brings whitespace along.
ConfigError ApplyForm(const Config& stored, const FormFields& form, const CredentialCheck& check,
                      Config* out);

std::string HtmlEscape(const std::string& s);

// RenderConfigPage is the form showing c's SSID, thing, endpoint and port.
// The password, key and certificates are never written into the page: it
// only says whether each is saved. error, when not null, is shown first.
std::string RenderConfigPage(const Config& c, const ConfigError* error);

// RenderSavedPage confirms a saved configuration before the restart.
std::string RenderSavedPage(const Config& c);

// ApPassword turns 64 random bits into the access point's WPA2 password:
// 11 characters without look-alikes (no 0/o/O, 1/l/I, B), about 63 bits.
std::string ApPassword(uint64_t random);

// ApPasswordUsable is whether pw can protect the access point (WPA2: 8-63
// printable ASCII characters). The board never opens the page without one:
// an open access point would let anyone in range change the endpoint and CA.
bool ApPasswordUsable(const std::string& pw);

}  // namespace iotcore
