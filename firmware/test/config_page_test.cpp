#include <doctest/doctest.h>

#include <set>
#include <string>

#include "../host/credentials.h"
#include "../lib/iotcore/config_page.h"
#include "pem_fixture.h"

using iotcore::ApplyForm;
using iotcore::Config;
using iotcore::ConfigError;
using iotcore::FormFields;

namespace {

const TestCredentials& Creds() {
  static const TestCredentials creds;
  return creds;
}

// Stored is a valid saved configuration.
Config Stored() {
  Config c;
  c.ssid = "home";
  c.password = "correct horse";
  c.thing = "pico-01";
  c.endpoint = "a1b2c3-ats.iot.eu-west-1.amazonaws.com";
  c.cert = Creds().cert;
  c.key = Creds().key;
  c.ca = Creds().ca;
  return c;
}

// Resubmitted is the form as the page sends it back untouched: the visible
// fields filled in, the password and PEMs blank.
FormFields Resubmitted(const Config& c) {
  return {{"ssid", c.ssid}, {"password", ""}, {"thing", c.thing}, {"endpoint", c.endpoint},
          {"port", std::to_string(c.port)}, {"cert", ""}, {"key", ""}, {"ca", ""}};
}

std::string FieldOf(const ConfigError& e) { return e.ok() ? "" : e.field; }

const fwhost::OpenSslCheck kCheck;

}  // namespace

TEST_CASE("re-submitting the page unchanged keeps the password and the credentials") {
  Config out;
  ConfigError e = ApplyForm(Stored(), Resubmitted(Stored()), kCheck, &out);
  REQUIRE(e.ok());
  CHECK(out.password == "correct horse");
  CHECK(out.cert == Creds().cert);
  CHECK(out.key == Creds().key);
  CHECK(out.ca == Creds().ca);
}

TEST_CASE("changing only the endpoint and port keeps everything else") {
  FormFields form = Resubmitted(Stored());
  form["endpoint"] = "  192.168.1.20\r\n";
  form["port"] = "443";
  Config out;
  REQUIRE(ApplyForm(Stored(), form, kCheck, &out).ok());
  CHECK(out.endpoint == "192.168.1.20");
  CHECK(out.port == 443);
  CHECK(out.password == "correct horse");
  CHECK(out.ssid == "home");
}

TEST_CASE("the password: typed replaces, open network clears, blank with none saved is refused") {
  struct {
    const char* storedPassword;
    const char* typed;
    bool open;
    const char* wantField;
    const char* wantPassword;
  } const cases[] = {
      {"correct horse", "new password", false, "", "new password"},
      {"correct horse", "", true, "", ""},
      {"", "", true, "", ""},
      {"", "", false, "password", ""},
      {"correct horse", "typed", true, "password", ""},
      {"", "short", false, "password", "short"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.storedPassword);
    CAPTURE(c.typed);
    CAPTURE(c.open);
    Config stored = Stored();
    stored.password = c.storedPassword;
    FormFields form = Resubmitted(stored);
    form["password"] = c.typed;
    if (c.open) form["open"] = "1";
    Config out;
    CHECK(FieldOf(ApplyForm(stored, form, kCheck, &out)) == c.wantField);
    if (std::string(c.wantField).empty()) CHECK(out.password == c.wantPassword);
  }
}

TEST_CASE("pasted credentials replace the saved ones, CRLF and whitespace cleaned") {
  TestCredentials fresh;
  FormFields form = Resubmitted(Stored());
  auto crlf = [](std::string s) {
    std::string out = "\r\n  ";
    for (char ch : s) out += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
    return out + "\r\n\r\n";
  };
  form["cert"] = crlf(fresh.cert);
  form["key"] = crlf(fresh.key);
  form["ca"] = crlf(fresh.ca + Creds().ca);  // a bundle of two
  Config out;
  ConfigError e = ApplyForm(Stored(), form, kCheck, &out);
  CAPTURE(FieldOf(e));
  REQUIRE(e.ok());
  CHECK(out.cert == fresh.cert);
  CHECK(out.key == fresh.key);
  CHECK(out.ca == fresh.ca + Creds().ca);
}

TEST_CASE("real-world PEM layouts pass: blank lines in a CA bundle, EC PARAMETERS before a key") {
  Config stored = Stored();
  stored.ca = Creds().ca + "\n" + Creds().ca;
  stored.key = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n" +
               Creds().key;
  Config out;
  ConfigError e = ApplyForm(stored, Resubmitted(stored), kCheck, &out);
  CAPTURE(FieldOf(e));
  CHECK(e.ok());
}

TEST_CASE("bad credentials name their field") {
  const std::string& cert = Creds().cert;
  // The CA with its second base64 line taken out: still well-formed PEM.
  std::string cut = Creds().ca;
  size_t second = cut.find('\n', cut.find('\n') + 1) + 1;
  cut.erase(second, cut.find('\n', second) + 1 - second);
  struct {
    const char* name;
    std::string cert, key, ca;
    const char* field;
  } const cases[] = {
      {"a key of another device", cert, Creds().otherKey, Creds().ca, "key"},
      {"a key pasted as certificate", Creds().key, Creds().key, Creds().ca, "cert"},
      {"a certificate pasted as key", cert, cert, Creds().ca, "key"},
      {"an encrypted key", cert, "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", Creds().ca, "key"},
      {"no END line", cert.substr(0, cert.size() - 10), Creds().key, Creds().ca, "cert"},
      {"not base64", "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n", Creds().key, Creds().ca, "cert"},
      {"base64 that is no certificate", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", Creds().key, Creds().ca, "cert"},
      {"two device certificates", cert + cert, Creds().key, Creds().ca, "cert"},
      {"text around the CA", cert, Creds().key, "here it is:\n" + Creds().ca, "ca"},
      {"a corrupted CA", cert, Creds().key, cut, "ca"},
      {"no CA", cert, Creds().key, "", "ca"},
      {"no certificate", "", Creds().key, Creds().ca, "cert"},
  };
  for (const auto& c : cases) {
    CAPTURE(std::string(c.name));
    Config stored = Stored();
    stored.cert = c.cert;
    stored.key = c.key;
    stored.ca = c.ca;
    Config out;
    ConfigError e = ApplyForm(stored, Resubmitted(stored), kCheck, &out);
    CHECK(FieldOf(e) == c.field);
    CHECK(std::string(e.ok() ? "" : e.problem).size() > 10);
  }
}

TEST_CASE("port must be 8883 or 443") {
  for (const char* port : {"1883", "", "abc", "8883x"}) {
    CAPTURE(port);
    FormFields form = Resubmitted(Stored());
    form["port"] = port;
    Config out;
    CHECK(FieldOf(ApplyForm(Stored(), form, kCheck, &out)) == "port");
  }
}

TEST_CASE("the page escapes what it shows and never shows a secret") {
  Config c = Stored();
  c.ssid = "<script>alert('x')</script> & \"co\"";
  c.thing = "pico-01";
  std::string html = iotcore::RenderConfigPage(c, nullptr);
  CHECK(html.find("<script>") == std::string::npos);
  CHECK(html.find("value=\"&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot;\"") != std::string::npos);
  CHECK(html.find("correct horse") == std::string::npos);
  for (const std::string* secret : {&c.key, &c.cert, &c.ca}) {
    CHECK(html.find(secret->substr(28, 40)) == std::string::npos);  // a piece of the base64 body
  }
  CHECK(html.find("BEGIN CERTIFICATE") == std::string::npos);
  CHECK(html.find("(saved; leave blank to keep it)") != std::string::npos);
  CHECK(html.find("name=open value=1>") != std::string::npos);  // not ticked: a password is saved
  CHECK(html.find("<option value=8883 selected>") != std::string::npos);

  ConfigError err{"endpoint", "must be a <host> name"};
  c.password.clear();
  c.cert.clear();
  c.port = 443;
  html = iotcore::RenderConfigPage(c, &err);
  CHECK(html.find("<p class=error>endpoint: must be a &lt;host&gt; name</p>") != std::string::npos);
  CHECK(html.find("name=open value=1 checked>") != std::string::npos);
  CHECK(html.find("<option value=443 selected>") != std::string::npos);
  CHECK(html.find("Device certificate (xxxx-certificate.pem.crt) <small>(required)</small>") != std::string::npos);
}

TEST_CASE("the saved page names the network and endpoint, escaped") {
  Config c = Stored();
  c.ssid = "a<b";
  std::string html = iotcore::RenderSavedPage(c);
  CHECK(html.find("joins a&lt;b and connects to a1b2c3-ats.iot.eu-west-1.amazonaws.com:8883 as pico-01.") != std::string::npos);
  CHECK(html.find("correct horse") == std::string::npos);
}

TEST_CASE("access point passwords are 11 unambiguous characters and differ per board") {
  std::set<std::string> seen;
  for (uint64_t r : {0ULL, 1ULL, 0x9e3779b97f4a7c15ULL, ~0ULL, 0x0123456789abcdefULL}) {
    std::string p = iotcore::ApPassword(r);
    CAPTURE(p);
    CHECK(p.size() == 11);
    CHECK(p.find_first_of("0oO1lIB") == std::string::npos);
    CHECK(iotcore::ApPasswordUsable(p));
    seen.insert(p);
  }
  CHECK(seen.size() == 5);
}

// Issue 23 item 2: "" (NVS would not open) used to start an open access point.
TEST_CASE("only a WPA2 password protects the access point: never empty, short or unprintable") {
  CHECK_FALSE(iotcore::ApPasswordUsable(""));
  CHECK_FALSE(iotcore::ApPasswordUsable("1234567"));
  CHECK(iotcore::ApPasswordUsable("12345678"));
  CHECK(iotcore::ApPasswordUsable(std::string(63, 'x')));
  CHECK_FALSE(iotcore::ApPasswordUsable(std::string(64, 'x')));
  CHECK_FALSE(iotcore::ApPasswordUsable(std::string("abcdefgh\n")));
}
