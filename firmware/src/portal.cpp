#include "portal.h"

#include <Arduino.h>
#include <WebServer.h>
#include <WiFi.h>
#include <esp_task_wdt.h>

#include <string>

#include "../lib/iotcore/config_page.h"
#include "../lib/iotcore/portal_rules.h"
#include "board.h"
#include "config_store.h"

namespace board {
namespace {

constexpr const char* kHtml = "text/html; charset=utf-8";

WebServer web(80);
iotcore::Config shown;     // what the page shows: the saved configuration
uint64_t restartAtMs = 0;  // restart once "saved" has gone out
uint64_t lastRequestMs = 0;

void Send(int code, const std::string& html) { web.send(code, kHtml, String(html.c_str())); }

void ServeConfigPage() {
  lastRequestMs = UptimeMs();
  Send(200, iotcore::RenderConfigPage(shown, nullptr));
}

void SaveSubmittedConfig() {
  lastRequestMs = UptimeMs();
  iotcore::FormFields form;
  for (int i = 0; i < web.args(); i++) form[web.argName(i).c_str()] = web.arg(i).c_str();
  iotcore::Config submitted;
  iotcore::ConfigError error = iotcore::ApplyForm(shown, form, CredentialCheck(), &submitted);
  std::string why;
  if (!error.ok()) {
    Logf("configuration refused: %s %s", error.field, error.problem);
    Send(400, iotcore::RenderConfigPage(submitted, &error));
  } else if (!SaveConfig(submitted, &why)) {
    Logf("configuration not saved: %s; the one in use is unchanged", why.c_str());
    Send(500, "<p>Writing the configuration to flash failed (" + iotcore::HtmlEscape(why) +
                  "); the one in use is unchanged. Go back and try again.");
  } else {
    Send(200, iotcore::RenderSavedPage(submitted));
    Logf("configuration saved (thing %s, endpoint %s:%u); restarting", submitted.thing.c_str(),
         submitted.endpoint.c_str(), submitted.port);
    restartAtMs = UptimeMs() + 1000;
  }
}

bool Valid(const iotcore::Config& c) { return iotcore::ValidateConfig(c, CredentialCheck()).ok(); }

// OnIdle goes back to a configuration that can work, or says why it stays.
void OnIdle() {
  std::optional<iotcore::Config> good = LastGoodConfig();
  switch (iotcore::OnPortalTimeout(Valid(shown), ConfigReachedBroker(), good && Valid(*good))) {
    case iotcore::PortalExit::kResume:
      Logf("configuration page idle for %u min: restarting into the configuration in use",
           static_cast<unsigned>(iotcore::kPortalIdleMs / 60000));
      ESP.restart();
      break;
    case iotcore::PortalExit::kRevert:
      if (RevertToGoodConfig()) {
        Logf("configuration page idle: the configuration in use is not valid; restarting into the "
             "last one that reached the broker (thing %s, endpoint %s)",
             good->thing.c_str(), good->endpoint.c_str());
        ESP.restart();
      }
      Logf("configuration page idle, but switching back to the last good configuration failed");
      break;
    case iotcore::PortalExit::kStay:
      Logf("configuration page idle, but no valid configuration to go back to: it stays open");
      break;
  }
}

}  // namespace

void RunConfigPortal(const iotcore::Config& current, const char* reason) {
  shown = current;
  std::string name = ApName();
  std::string password = ApPassword();
  // Never an open access point: anyone in range could change the endpoint
  // and the CA. ApPassword always makes one, so this is a last guard.
  if (!iotcore::ApPasswordUsable(password)) {
    Logf("refusing to open the configuration page without a WPA2 password; restarting in 10 s");
    delay(10000);
    ESP.restart();
  }
  WiFi.mode(WIFI_AP);
  if (!WiFi.softAP(name.c_str(), password.c_str())) Logf("the access point did not start");
  web.on("/", HTTP_GET, ServeConfigPage);
  web.on("/", HTTP_POST, SaveSubmittedConfig);
  web.begin();
  Logf("configuration mode (%s): join Wi-Fi \"%s\" with password %s and open http://%s/", reason,
       name.c_str(), password.c_str(), WiFi.softAPIP().toString().c_str());
  iotcore::PortalTimer idle(UptimeMs());
  for (;;) {
    esp_task_wdt_reset();
    web.handleClient();
    uint64_t now = UptimeMs();
    if (lastRequestMs != 0) idle.Activity(lastRequestMs);
    if (restartAtMs != 0 && now >= restartAtMs) ESP.restart();
    if (restartAtMs == 0 && idle.Expired(now, WiFi.softAPgetStationNum() > 0)) {
      OnIdle();
      idle.Activity(now);  // stayed: wait another idle period before saying so again
    }
    delay(2);
  }
}

}  // namespace board
