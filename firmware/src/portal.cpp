#include "portal.h"

#include <Arduino.h>
#include <WebServer.h>
#include <WiFi.h>
#include <esp_task_wdt.h>

#include <string>

#include "../lib/iotcore/config_page.h"
#include "board.h"
#include "config_store.h"

namespace board {
namespace {

constexpr const char* kHtml = "text/html; charset=utf-8";

WebServer web(80);
iotcore::Config shown;     // what the page shows: the saved configuration
uint64_t restartAtMs = 0;  // restart once "saved" has gone out

void Send(int code, const std::string& html) { web.send(code, kHtml, String(html.c_str())); }

void ServeConfigPage() { Send(200, iotcore::RenderConfigPage(shown, nullptr)); }

void SaveSubmittedConfig() {
  iotcore::FormFields form;
  for (int i = 0; i < web.args(); i++) form[web.argName(i).c_str()] = web.arg(i).c_str();
  iotcore::Config submitted;
  iotcore::ConfigError error = iotcore::ApplyForm(shown, form, CredentialCheck(), &submitted);
  if (!error.ok()) {
    Logf("configuration refused: %s %s", error.field, error.problem);
    Send(400, iotcore::RenderConfigPage(submitted, &error));
  } else if (!SaveConfig(submitted)) {
    Send(500, "<p>Writing the configuration to flash failed. Go back and try again.");
  } else {
    Send(200, iotcore::RenderSavedPage(submitted));
    Logf("configuration saved (thing %s, endpoint %s:%u); restarting", submitted.thing.c_str(),
         submitted.endpoint.c_str(), submitted.port);
    restartAtMs = UptimeMs() + 1000;
  }
}

}  // namespace

void RunConfigPortal(const iotcore::Config& current, const char* reason) {
  shown = current;
  std::string name = ApName();
  std::string password = ApPassword();
  WiFi.mode(WIFI_AP);
  if (!WiFi.softAP(name.c_str(), password.c_str())) Logf("the access point did not start");
  web.on("/", HTTP_GET, ServeConfigPage);
  web.on("/", HTTP_POST, SaveSubmittedConfig);
  web.begin();
  Logf("configuration mode (%s): join Wi-Fi \"%s\" with password %s and open http://%s/", reason,
       name.c_str(), password.c_str(), WiFi.softAPIP().toString().c_str());
  for (;;) {
    esp_task_wdt_reset();
    web.handleClient();
    if (restartAtMs != 0 && UptimeMs() >= restartAtMs) ESP.restart();
    delay(2);
  }
}

}  // namespace board
