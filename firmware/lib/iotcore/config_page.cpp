#include "config_page.h"

#include <cstdlib>

namespace iotcore {
namespace {

const std::string* Field(const FormFields& form, const char* name) {
  auto it = form.find(name);
  return it != form.end() ? &it->second : nullptr;
}

std::string Trimmed(const FormFields& form, const char* name) {
  const std::string* v = Field(form, name);
  if (v == nullptr) return "";
  size_t first = v->find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return v->substr(first, v->find_last_not_of(" \t\r\n") - first + 1);
}

// Pasted replaces *stored with the pasted PEM, if any.
void Pasted(const FormFields& form, const char* name, std::string* stored) {
  const std::string* v = Field(form, name);
  std::string pem = v != nullptr ? NormalizePem(*v) : "";
  if (!pem.empty()) *stored = pem;
}

// The page's text input: its value is escaped, the label is our own text.
std::string Input(const char* label, const char* name, const std::string& value, size_t maxLength) {
  return std::string("<label>") + label + "<input name=" + name + " maxlength=" +
         std::to_string(maxLength) + " value=\"" + HtmlEscape(value) + "\"></label>";
}

// A PEM field is always empty: it says whether one is saved instead.
std::string PemArea(const char* label, const char* name, bool saved) {
  return std::string("<label>") + label +
         (saved ? " <small>(saved; paste a new one to replace it)</small>"
                : " <small>(required)</small>") +
         "<textarea name=" + name + " rows=4 spellcheck=false placeholder=\"-----BEGIN ...\">" +
         "</textarea></label>";
}

const char kHead[] =
    "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">"
    "<title>iotwatch setup</title><style>"
    "body{font-family:sans-serif;max-width:36em;margin:1em auto;padding:0 1em}"
    "label{display:block;margin:.8em 0}input,select,textarea{display:block;width:100%;"
    "box-sizing:border-box}input[type=checkbox]{display:inline;width:auto}"
    "textarea{font-family:monospace;font-size:.8em}.error{color:#b00;font-weight:bold}"
    "</style><h1>iotwatch setup</h1>";

}  // namespace

ConfigError ApplyForm(const Config& stored, const FormFields& form, const CredentialCheck& check,
                      Config* out) {
  Config c = stored;
  const std::string* ssid = Field(form, "ssid");
  c.ssid = ssid != nullptr ? *ssid : "";
  const std::string* password = Field(form, "password");
  bool open = Field(form, "open") != nullptr;
  c.thing = Trimmed(form, "thing");
  c.endpoint = Trimmed(form, "endpoint");
  std::string port = Trimmed(form, "port");
  c.port = port == "443" ? kPortHttps : port == "8883" ? kPortMqtts : 0;
  Pasted(form, "cert", &c.cert);
  Pasted(form, "key", &c.key);
  Pasted(form, "ca", &c.ca);
  bool typed = password != nullptr && !password->empty();
  if (open) {
    c.password.clear();
  } else if (typed) {
    c.password = *password;
  }
  *out = c;
  if (open && typed) {
    return {"password", "leave it blank for an open network, or untick \"open network\""};
  }
  if (!open && !typed && stored.password.empty()) {
    return {"password", "is needed: none is saved (tick \"open network\" if it has none)"};
  }
  return ValidateConfig(c, check);
}

std::string HtmlEscape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    switch (ch) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += ch;
    }
  }
  return out;
}

std::string RenderConfigPage(const Config& c, const ConfigError* error) {
  std::string html = kHead;
  if (error != nullptr && !error->ok()) {
    html += std::string("<p class=error>") + HtmlEscape(error->field) + ": " +
            HtmlEscape(error->problem) + "</p>";
  }
  bool openSaved = !c.ssid.empty() && c.password.empty();
  html += "<form method=post action=\"/\">";
  html += Input("Wi-Fi network (SSID)", "ssid", c.ssid, kMaxSsid);
  html += std::string("<label>Wi-Fi password") +
          (c.password.empty() ? "" : " <small>(saved; leave blank to keep it)</small>") +
          "<input name=password type=password maxlength=" + std::to_string(kMaxPassword) +
          " autocomplete=off></label>";
  html += std::string("<label><input type=checkbox name=open value=1") +
          (openSaved ? " checked" : "") + "> open network (no password)</label>";
  html += Input("Thing name (also the MQTT client id; must match the certificate's policy)",
                "thing", c.thing, kMaxThingName);
  html += Input("Endpoint: xxxx-ats.iot.REGION.amazonaws.com, or the PC running iotwatch serve",
                "endpoint", c.endpoint, kMaxHost);
  html += std::string("<label>Port<select name=port><option value=8883") +
          (c.port != kPortHttps ? " selected" : "") +
          ">8883 (MQTT over TLS)</option><option value=443" +
          (c.port == kPortHttps ? " selected" : "") +
          ">443 (ALPN x-amzn-mqtt-ca, for networks that block 8883)</option></select></label>";
  html += PemArea("Device certificate (xxxx-certificate.pem.crt)", "cert", !c.cert.empty());
  html += PemArea("Private key (xxxx-private.pem.key)", "key", !c.key.empty());
  html += PemArea("CA certificate (AmazonRootCA1.pem, or ca.pem of iotwatch serve)", "ca",
                  !c.ca.empty());
  return html + "<button>Save and restart</button></form>";
}

std::string RenderSavedPage(const Config& c) {
  return std::string(kHead) + "<p>Saved. The device restarts, joins " + HtmlEscape(c.ssid) +
         " and connects to " + HtmlEscape(c.endpoint) + ":" + std::to_string(c.port) + " as " +
         HtmlEscape(c.thing) + ".</p>";
}

std::string ApPassword(uint64_t random) {
  static const char kAlphabet[] = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRSTUVWXYZ23456789";
  constexpr uint64_t kSize = sizeof kAlphabet - 1;
  std::string out;
  for (int i = 0; i < 11; i++) {
    out += kAlphabet[random % kSize];
    random /= kSize;
  }
  return out;
}

bool ApPasswordUsable(const std::string& pw) {
  if (pw.size() < 8 || pw.size() > 63) return false;
  for (char c : pw) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

}  // namespace iotcore
