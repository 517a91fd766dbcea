// fw-host runs the firmware core on Linux over libmosquitto with mutual TLS,
// so that everything but the ESP32 glue is exercised against the emulator
// (and, unchanged, against AWS IoT Core). It reconnects forever with the
// core's backoff and stops cleanly on SIGTERM or SIGINT.
#include <malloc.h>
#include <mosquitto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "../lib/iotcore/backoff.h"
#include "../lib/iotcore/clock.h"
#include "../lib/iotcore/config.h"
#include "../lib/iotcore/core.h"
#include "../lib/iotcore/ramp.h"
#include "../lib/iotcore/timing.h"
#include "../lib/iotcore/version.h"
#include "credentials.h"
#include "options.h"
#include "ota.h"

namespace {

volatile sig_atomic_t stopRequested = 0;

void OnSignal(int) { stopRequested = 1; }

uint64_t MonotonicMs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

void Logf(const char* format, ...) __attribute__((format(printf, 1, 2)));
void Logf(const char* format, ...) {
  char stamp[32];
  time_t now = time(nullptr);
  strftime(stamp, sizeof stamp, "%H:%M:%S", localtime(&now));
  fprintf(stderr, "%s fw-host: ", stamp);
  va_list args;
  va_start(args, format);
  vfprintf(stderr, format, args);
  va_end(args);
  fputc('\n', stderr);
}

constexpr const char* kAwsCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384";

const char* ErrorText(int rc) { return rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc); }

// OnLibraryLog passes on libmosquitto's errors, such as OpenSSL's reason for
// refusing the server's certificate.
void OnLibraryLog(mosquitto*, void*, int level, const char* line) {
  if (level & (MOSQ_LOG_ERR | MOSQ_LOG_WARNING)) Logf("libmosquitto: %s", line);
}

#if defined(__SANITIZE_ADDRESS__)
extern "C" size_t __sanitizer_get_current_allocated_bytes(void);
#endif

// HeapUsed is the bytes this process holds on its heap: what a leak grows.
// Linux has no fixed heap to report free, minimum or largest-block figures
// of (the system's free RAM is other processes' business, and clamped to
// 32 bits it read 4294967295), so those go out as null.
uint64_t HeapUsed() {
#if defined(__SANITIZE_ADDRESS__)
  return __sanitizer_get_current_allocated_bytes();  // ASan's allocator replaces malloc's
#else
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
#endif
}

// Awaited is what the device waits for from the broker, each with the
// time it gives up: as on the board (arduino-mqtt closes the connection
// when lwmqtt's command timeout passes without a CONNACK, a SUBACK or a
// PUBACK), so that fw-host meets a withholding server as the board does.
struct Awaited {
  uint64_t connackBy = 0;  // 0: not waiting
  uint64_t subackBy = 0;
  std::map<int, uint64_t> pubackBy;  // by packet id

  // Overdue names what did not come in time, or null.
  const char* Overdue(uint64_t now) const {
    if (connackBy != 0 && now >= connackBy) return "CONNACK";
    if (subackBy != 0 && now >= subackBy) return "SUBACK";
    for (const auto& [mid, by] : pubackBy) {
      if (now >= by) return "PUBACK";
    }
    return nullptr;
  }
  void Clear() { *this = Awaited(); }
};

// HostPort is the Linux stand-in for the ESP32: the ramp as sensor, the
// process's heap in use, and the LED as a log line.
class HostPort : public iotcore::Port {
 public:
  HostPort(uint64_t seed, uint32_t commandTimeoutMs, uint64_t start)
      : ramp_(seed), commandTimeoutMs_(commandTimeoutMs), start_(start) {}
  void Attach(mosquitto* mosq, Awaited* awaited) {
    mosq_ = mosq;
    awaited_ = awaited;
  }

  bool Publish(const char* topic, const char* payload, size_t len) override {
    int mid = 0;
    if (mosquitto_publish(mosq_, &mid, topic, static_cast<int>(len), payload, 1, false) !=
        MOSQ_ERR_SUCCESS) {
      return false;
    }
    awaited_->pubackBy[mid] = MonotonicMs() - start_ + commandTimeoutMs_;
    return true;
  }
  bool Subscribe(const char* topic) override {
    return mosquitto_subscribe(mosq_, nullptr, topic, 1) == MOSQ_ERR_SUCCESS;
  }
  iotcore::Vitals ReadVitals(uint64_t uptimeMs) override {
    iotcore::Vitals v;
    v.temp = ramp_.At(uptimeMs);
    v.rssi = 0;  // no radio
    v.heapUsed = HeapUsed();
    return v;
  }
  void SetLed(bool on) override { Logf("led %s", on ? "on" : "off"); }
  void Log(const char* line) override { Logf("%s", line); }

 private:
  iotcore::Ramp ramp_;
  uint32_t commandTimeoutMs_;
  uint64_t start_;
  mosquitto* mosq_ = nullptr;
  Awaited* awaited_ = nullptr;
};

// LeakOnReconnect is --leak-per-reconnect, a test option: it holds bytes
// more heap on every connect and never gives them back, as a firmware that
// leaks a TLS context per reconnect would, so that soak's vitals trend can
// be shown to FAIL it. The blocks stay reachable (LeakSanitizer's view) and
// are touched, so they count as used.
void LeakOnReconnect(int bytes) {
  static std::vector<std::unique_ptr<char[]>> held;
  if (bytes <= 0) return;
  held.emplace_back(new char[static_cast<size_t>(bytes)]);
  memset(held.back().get(), 0x5a, static_cast<size_t>(bytes));
  Logf("--leak-per-reconnect: %d more bytes held (%zu connects)", bytes, held.size());
}

// Link follows the MQTT session: it subscribes after CONNACK and tells the
// core once the SUBACK is in, so that the get's answer is never missed.
struct Link {
  iotcore::Core* core;
  iotcore::Backoff* backoff;
  const fwhost::Options* options;
  uint64_t start;
  Awaited awaited{};
  bool up = false;       // CONNACK accepted
  bool lost = false;     // the session ended; reconnect after a delay
  int subscribeMid = -1;
  char* subscribed[iotcore::Topics::kSubscriptions] = {};  // the topics of that SUBSCRIBE

  uint64_t Uptime() const { return MonotonicMs() - start; }
};

void OnConnect(mosquitto* mosq, void* ctx, int rc) {
  Link& link = *static_cast<Link*>(ctx);
  if (rc != 0) {
    Logf("connection refused: %s", mosquitto_connack_string(rc));
    mosquitto_disconnect(mosq);
    return;
  }
  link.up = true;
  link.awaited.connackBy = 0;
  link.awaited.subackBy = link.Uptime() + static_cast<uint64_t>(link.options->commandTimeoutMs);
  link.backoff->Connected(link.Uptime());
  LeakOnReconnect(link.options->leakPerReconnect);
  const iotcore::Topics& t = link.core->topics();
  int n = 0;
  for (size_t i = 0; i < iotcore::Topics::kSubscriptions; i++) {
    if (link.core->Subscribes(i, link.Uptime())) link.subscribed[n++] = const_cast<char*>(t.subscription(i));
  }
  int err = mosquitto_subscribe_multiple(mosq, &link.subscribeMid, n, link.subscribed, 1, 0, nullptr);
  if (err != MOSQ_ERR_SUCCESS) Logf("subscribe: %s", mosquitto_strerror(err));
}

void OnSubscribe(mosquitto*, void* ctx, int mid, int count, const int* granted) {
  Link& link = *static_cast<Link*>(ctx);
  if (mid != link.subscribeMid) return;
  link.awaited.subackBy = 0;
  for (int i = 0; i < count && i < static_cast<int>(iotcore::Topics::kSubscriptions); i++) {
    if (granted[i] > 2) {
      Logf("subscription %s refused by the broker (check the device policy)", link.subscribed[i]);
    }
  }
  Logf("connected and subscribed; requesting the shadow");
  link.core->OnConnected(link.Uptime());
}

void OnPublish(mosquitto*, void* ctx, int mid) {
  static_cast<Link*>(ctx)->awaited.pubackBy.erase(mid);
}

void OnDisconnect(mosquitto*, void* ctx, int rc) {
  Link& link = *static_cast<Link*>(ctx);
  link.awaited.Clear();
  if (link.up) {
    Logf("disconnected: %s", rc == 0 ? "requested" : ErrorText(rc));
    link.backoff->Disconnected(link.Uptime());
    link.core->OnDisconnected(link.Uptime());
  }
  link.up = false;
  link.lost = true;
}

void OnMessage(mosquitto* mosq, void* ctx, const mosquitto_message* m) {
  Link& link = *static_cast<Link*>(ctx);
  if (link.options->oversize == "disconnect" && m->payloadlen > link.options->maxPayload) {
    // What the board's lwmqtt does when it cannot drain an oversized
    // packet within its 5 s command window on a slow link.
    Logf("%d-byte message on %s over --max-payload %d: closing the connection (--oversize "
         "disconnect, as the ESP32 on a slow link)",
         m->payloadlen, m->topic, link.options->maxPayload);
    mosquitto_disconnect(mosq);
    return;
  }
  link.core->OnMessage(m->topic, static_cast<const char*>(m->payload),
                       static_cast<size_t>(m->payloadlen), link.Uptime());
}

// CheckFile returns an error sentence when path cannot be read, and warns
// when a private key is readable by others.
std::string CheckFile(const char* flag, const std::string& path, bool secret) {
  if (access(path.c_str(), R_OK) != 0) {
    return std::string(flag) + " " + path + ": cannot read it: " + strerror(errno);
  }
  struct stat st {};
  if (secret && stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    Logf("warning: private key %s is readable by other users; chmod 600 %s", path.c_str(),
         path.c_str());
  }
  return "";
}

// WaitForClock stands in for the board's wait for SNTP: with --clock
// ntp-blocked no answer comes, so the core's keeper falls back to the build
// time, as on the ESP32 (the host's own clock is left alone). A signal ends
// the wait as well.
void WaitForClock(const fwhost::Options& o, uint64_t startMs) {
  if (o.clock == "system") return;
  iotcore::ClockKeeper keeper(static_cast<uint32_t>(o.clockFallbackS) * 1000);
  Logf("waiting for the time before TLS (--clock ntp-blocked: no NTP server will answer)");
  while (!stopRequested) {
    switch (keeper.Poll(MonotonicMs() - startMs, false)) {
      case iotcore::ClockKeeper::Action::kRestartSntp:
        Logf("no answer from NTP; asking again, next in %u s", keeper.retryGapMs() / 1000);
        break;
      case iotcore::ClockKeeper::Action::kFallBack:
        Logf("no NTP answer in %d s: clock set from the firmware's build time (%s %s) so TLS can "
             "proceed (as the board does; the host's own clock is left alone)",
             o.clockFallbackS, __DATE__, __TIME__);
        return;
      case iotcore::ClockKeeper::Action::kNone:
        break;
    }
    usleep(50 * 1000);
  }
}

std::string ReadFile(const std::string& path) {
  std::string out;
  if (FILE* f = fopen(path.c_str(), "rb")) {
    char buf[4096];
    for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) out.append(buf, n);
    fclose(f);
  }
  return out;
}

// CheckCredentials is the configuration page's check of the files: a key
// of another device fails here, not as a refused TLS handshake later.
std::string CheckCredentials(const fwhost::Options& o) {
  iotcore::Config c;
  c.cert = ReadFile(o.cert);
  c.key = ReadFile(o.key);
  c.ca = ReadFile(o.ca);
  iotcore::ConfigError err = fwhost::OpenSslCheck().Check(c);
  if (err.ok()) return "";
  const std::string& path = strcmp(err.field, "cert") == 0  ? o.cert
                            : strcmp(err.field, "key") == 0 ? o.key
                                                            : o.ca;
  return std::string("--") + err.field + " " + path + ": " + err.problem;
}

int Run(const fwhost::Options& o, char* const* argv) {
  for (const auto& [flag, path, secret] :
       {std::tuple{"--cert", o.cert, false}, {"--key", o.key, true}, {"--ca", o.ca, false}}) {
    std::string err = CheckFile(flag, path, secret);
    if (!err.empty()) {
      fprintf(stderr, "fw-host: %s\n", err.c_str());
      return 2;
    }
  }
  if (std::string err = CheckCredentials(o); !err.empty()) {
    fprintf(stderr, "fw-host: %s\n", err.c_str());
    return 2;
  }
  std::string fw = std::string(iotcore::kVersion) + "-host";
  const char* resetReason = getenv(fwhost::kResetReasonEnv);
  mosquitto* mosq = nullptr;
  Link* session = nullptr;
  // Before the exec into a new image: the session ends cleanly, as the
  // board's does before esp_restart().
  fwhost::HostUpdater updater(o.ca, kAwsCiphers, argv, [&mosq, &session] {
    if (session->up) {
      mosquitto_disconnect(mosq);
      mosquitto_loop(mosq, 100, 1);
    }
  });
  iotcore::Settings settings;
  settings.thing = o.thing.c_str();
  settings.shadow = o.shadow.c_str();
  settings.id.fw = fw.c_str();
  settings.id.resetReason = resetReason != nullptr ? resetReason : "POWERON";
  settings.updater = &updater;
  settings.intervalS = o.intervalS;
  settings.maxPayload = static_cast<size_t>(o.maxPayload);
  uint64_t seed = static_cast<uint64_t>(time(nullptr)) ^ (static_cast<uint64_t>(getpid()) << 32);
  uint64_t start = MonotonicMs();
  HostPort port(seed, static_cast<uint32_t>(o.commandTimeoutMs), start);
  iotcore::Core core(port, settings);
  if (!core.Begin()) return 2;
  iotcore::Backoff backoff(o.backoff, seed * 31 + 7);
  Link link{&core, &backoff, &o, start};
  session = &link;

  mosquitto_lib_init();
  mosq = mosquitto_new(o.thing.c_str(), true, &link);
  port.Attach(mosq, &link.awaited);
  mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  // Without it Nagle holds each small report back until the broker's
  // delayed ACK, adding ~40 ms to every desired → reported round trip.
  mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
  int rc = mosquitto_tls_set(mosq, o.ca.c_str(), nullptr, o.cert.c_str(), o.key.c_str(), nullptr);
  // TLS 1.2 suites: AWS IoT's recommended ones only (ECDHE with AES-GCM), not
  // OpenSSL's default list, whose DHE, CBC and ChaCha20 suites AWS IoT does
  // not take (qualify's TLS_Support_AWS_IoT_Cipher_Suites). OpenSSL's TLS 1.3
  // suites are all three of AWS's.
  if (rc == MOSQ_ERR_SUCCESS) rc = mosquitto_tls_opts_set(mosq, 1, "tlsv1.2", kAwsCiphers);
  // AWS IoT takes MQTT on 443 only when the client asks for it by ALPN.
  std::string alpn = !o.alpn.empty()                 ? o.alpn
                     : o.port == iotcore::kPortHttps ? iotcore::kAlpnAws
                                                     : "";
  if (rc == MOSQ_ERR_SUCCESS && !alpn.empty()) {
    rc = mosquitto_string_option(mosq, MOSQ_OPT_TLS_ALPN, alpn.c_str());
  }
  if (rc != MOSQ_ERR_SUCCESS) {
    fprintf(stderr, "fw-host: TLS setup with --cert %s --key %s --ca %s: %s\n", o.cert.c_str(),
            o.key.c_str(), o.ca.c_str(), mosquitto_strerror(rc));
    return 2;
  }
  mosquitto_connect_callback_set(mosq, OnConnect);
  mosquitto_subscribe_callback_set(mosq, OnSubscribe);
  mosquitto_disconnect_callback_set(mosq, OnDisconnect);
  mosquitto_publish_callback_set(mosq, OnPublish);
  mosquitto_message_callback_set(mosq, OnMessage);
  mosquitto_log_callback_set(mosq, OnLibraryLog);

  Logf("%s: thing %s, endpoint %s:%d%s%s, report every %d s", fw.c_str(), o.thing.c_str(),
       o.endpoint.c_str(), o.port, alpn.empty() ? "" : " ALPN ", alpn.c_str(), o.intervalS);
  WaitForClock(o, link.start);
  bool everConnected = false;
  uint64_t nextAttempt = 0;
  link.lost = true;
  while (!stopRequested) {
    uint64_t now = link.Uptime();
    if (link.lost) {
      if (now < nextAttempt) {
        usleep(50 * 1000);
        continue;
      }
      rc = everConnected ? mosquitto_reconnect(mosq)
                         : mosquitto_connect(mosq, o.endpoint.c_str(), o.port, o.keepAliveS);
      everConnected = everConnected || rc == MOSQ_ERR_SUCCESS;
      if (rc != MOSQ_ERR_SUCCESS) {
        uint32_t delay = backoff.NextDelay();
        Logf("connect to %s:%d failed: %s; retry %u in %.1f s", o.endpoint.c_str(), o.port,
             ErrorText(rc), backoff.attempts(), delay / 1000.0);
        nextAttempt = now + delay;
        continue;
      }
      link.lost = false;
      link.awaited.connackBy = now + static_cast<uint64_t>(o.commandTimeoutMs);
    }
    rc = mosquitto_loop(mosq, 100, 1);
    if (rc != MOSQ_ERR_SUCCESS && !link.lost && link.up) {
      OnDisconnect(mosq, &link, rc);
    } else if (rc != MOSQ_ERR_SUCCESS && !link.lost) {
      // The TLS handshake finishes inside the loop, so a refused server
      // certificate shows up here, before any CONNACK.
      Logf("connection to %s:%d failed: %s", o.endpoint.c_str(), o.port, ErrorText(rc));
      link.lost = true;
    } else if (const char* overdue = link.lost ? nullptr : link.awaited.Overdue(link.Uptime())) {
      Logf("no %s within %d ms: closing the connection, as the board does", overdue,
           o.commandTimeoutMs);
      mosquitto_disconnect(mosq);
      if (link.up) OnDisconnect(mosq, &link, MOSQ_ERR_TIMEOUT);
      link.awaited.Clear();
      link.lost = true;
    }
    if (link.lost) {
      uint32_t delay = backoff.NextDelay();
      Logf("retry %u in %.1f s", backoff.attempts(), delay / 1000.0);
      nextAttempt = link.Uptime() + delay;
      continue;
    }
    core.Poll(link.Uptime());
  }
  if (link.up) {
    mosquitto_disconnect(mosq);
    mosquitto_loop(mosq, 100, 1);
  }
  const iotcore::Stats& s = core.stats();
  Logf("stopped: %u reports (seq %llu), %u publish failures, %u deltas applied, %u values refused, "
       "%u keys ignored, %u dropped, %u malformed, %u rejected",
       s.reports, static_cast<unsigned long long>(core.seq()), s.publishFailures, s.deltasApplied,
       s.valuesRefused, s.keysIgnored, s.dropped, s.malformed, s.rejected);
  mosquitto_destroy(mosq);
  mosquitto_lib_cleanup();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  fwhost::Options opts;
  std::string error;
  if (!fwhost::Parse(argc, argv, &opts, &error)) {
    fprintf(stderr, "fw-host: %s\n\n%s", error.c_str(), fwhost::kUsage);
    return 2;
  }
  if (opts.help) {
    fputs(fwhost::kUsage, stdout);
    return 0;
  }
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  return Run(opts, argv);
}
