// render-page writes the configuration page as the board serves it, for
// the pictures in README.md (`make docs`): with nothing saved but the
// build-time credentials, or re-opened on a saved configuration after a
// refused submit.
#include <cstdio>
#include <cstring>
#include <string>

#include "../lib/iotcore/config_page.h"

int main(int argc, char** argv) {
  iotcore::Config c;
  c.cert = c.key = c.ca = "(from secrets.h)";  // only whether one is saved shows
  const iotcore::ConfigError refused{"key", "does not belong to the device certificate"};
  bool reopened = argc > 1 && strcmp(argv[1], "reopened") == 0;
  if (reopened) {
    c.ssid = "workshop";
    c.password = "saved";
    c.thing = "pico-01";
    c.endpoint = "a1b2c3d4e5f6g7-ats.iot.eu-west-1.amazonaws.com";
    c.port = iotcore::kPortHttps;
  }
  fputs(iotcore::RenderConfigPage(c, reopened ? &refused : nullptr).c_str(), stdout);
  return 0;
}
