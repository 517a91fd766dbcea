// libFuzzer target (make fuzz): the configuration page, which anyone who
// joins the access point can post to. The input is the form's fields
// separated by NUL bytes. Any crash or sanitizer report aborts, and so does
// a page that carries markup from a field or a saved secret.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "../host/credentials.h"
#include "../lib/iotcore/config_page.h"

namespace {

const char* const kFields[] = {"ssid", "password", "open", "thing", "endpoint",
                               "port", "cert",     "key",  "ca"};
const char kSecret[] = "stored-wifi-secret";

size_t Count(const std::string& s, char c) { return static_cast<size_t>(std::count(s.begin(), s.end(), c)); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);
  iotcore::FormFields form;
  size_t at = 0;
  for (const char* name : kFields) {
    if (at > input.size()) break;
    size_t end = std::min(input.find('\0', at), input.size());
    form[name] = input.substr(at, end - at);
    at = end + 1;
  }
  iotcore::Config stored;
  stored.password = kSecret;
  iotcore::Config out;
  iotcore::ConfigError err = iotcore::ApplyForm(stored, form, fwhost::OpenSslCheck(), &out);
  const iotcore::ConfigError* shown = err.ok() ? nullptr : &err;
  std::string html = iotcore::RenderConfigPage(out, shown);
  // The same page with the fields it shows emptied: escaping means a field
  // adds no '<', '>' or '"' of its own.
  iotcore::Config blank = out;
  blank.ssid = blank.thing = blank.endpoint = "";
  std::string plain = iotcore::RenderConfigPage(blank, shown);
  for (char c : {'<', '>', '"'}) {
    if (Count(html, c) != Count(plain, c)) abort();
  }
  // The saved password shows only where a visible field holds the same text.
  bool typed = false;
  for (const std::string* v : {&out.ssid, &out.thing, &out.endpoint}) {
    typed = typed || v->find(kSecret) != std::string::npos;
  }
  if (!typed && html.find(kSecret) != std::string::npos) abort();
  return 0;
}
