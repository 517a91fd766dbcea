#include "ota.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <strings.h>

namespace fwhost {

namespace {

constexpr int kSocketTimeoutS = 30;  // a stalled server fails the download
constexpr size_t kMaxHeaders = 16 * 1024;

// OpenSslReason is the library's reason for the last failure.
std::string OpenSslReason() {
  unsigned long e = ERR_get_error();
  char text[200] = "unknown TLS error";
  if (e != 0) ERR_error_string_n(e, text, sizeof text);
  ERR_clear_error();
  return text;
}

struct Url {
  std::string authority;  // the Host header: host[:port] as written (presigned URLs sign it)
  std::string host, port = "443", path = "/";
};

// ParseUrl reads https://host[:port][/path?query] (IPv6 literals are not
// taken).
bool ParseUrl(const char* url, Url* u) {
  if (strncmp(url, "https://", 8) != 0) return false;
  const char* rest = url + 8;
  const char* slash = strchr(rest, '/');
  u->authority = slash ? std::string(rest, slash) : std::string(rest);
  if (slash) u->path = slash;
  size_t colon = u->authority.rfind(':');
  u->host = u->authority.substr(0, colon);
  if (colon != std::string::npos) u->port = u->authority.substr(colon + 1);
  return !u->host.empty() && u->host.find('[') == std::string::npos &&
         u->host.find('@') == std::string::npos && !u->port.empty();
}

struct Tls {
  SSL_CTX* ctx = nullptr;
  BIO* tcp = nullptr;
  SSL* ssl = nullptr;
  ~Tls() {
    if (ssl != nullptr) {
      SSL_free(ssl);  // frees tcp with it
    } else if (tcp != nullptr) {
      BIO_free_all(tcp);
    }
    SSL_CTX_free(ctx);
  }
};

// Connect opens TLS to the URL's server, verified against ca by name (or
// address) as the MQTT connection is: libmosquitto's checks.
bool Connect(const Url& u, const std::string& ca, const std::string& ciphers, Tls* t,
             std::string* error) {
  t->ctx = SSL_CTX_new(TLS_client_method());
  if (t->ctx == nullptr || SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(t->ctx, ciphers.c_str()) != 1 ||
      SSL_CTX_load_verify_locations(t->ctx, ca.c_str(), nullptr) != 1) {
    *error = "TLS setup with --ca " + ca + ": " + OpenSslReason();
    return false;
  }
  SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, nullptr);
  std::string target = u.host + ":" + u.port;
  t->tcp = BIO_new_connect(target.c_str());
  if (t->tcp == nullptr || BIO_do_connect(t->tcp) <= 0) {
    *error = "cannot connect to " + target + ": " + OpenSslReason();
    return false;
  }
  int fd = static_cast<int>(BIO_get_fd(t->tcp, nullptr));
  timeval tv{kSocketTimeoutS, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  t->ssl = SSL_new(t->ctx);
  SSL_set_bio(t->ssl, t->tcp, t->tcp);
  in6_addr addr;
  bool literal = inet_pton(AF_INET, u.host.c_str(), &addr) == 1;
  if (literal) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), u.host.c_str());
  } else {
    SSL_set_tlsext_host_name(t->ssl, u.host.c_str());
    SSL_set1_host(t->ssl, u.host.c_str());
  }
  if (SSL_connect(t->ssl) != 1) {
    long verify = SSL_get_verify_result(t->ssl);
    *error = "TLS with " + target + " failed: " +
             (verify != X509_V_OK ? std::string("server certificate: ") +
                                        X509_verify_cert_error_string(verify) + " (--ca " + ca + ")"
                                  : OpenSslReason());
    return false;
  }
  return true;
}

// ContentLength is the Content-Length of a response header (its lines,
// each ending in CRLF), or -1.
long long ContentLength(const std::string& head) {
  for (size_t at = head.find("\r\n"); at != std::string::npos; at = head.find("\r\n", at + 2)) {
    if (strncasecmp(head.c_str() + at + 2, "content-length:", 15) == 0) {
      return strtoll(head.c_str() + at + 17, nullptr, 10);
    }
  }
  return -1;
}

// ReadSome reads up to len bytes: > 0 read, 0 at the end, -1 on error.
int ReadSome(SSL* ssl, char* buf, int len, std::string* error) {
  int n = SSL_read(ssl, buf, len);
  if (n > 0) return n;
  int e = SSL_get_error(ssl, n);
  if (e == SSL_ERROR_ZERO_RETURN) return 0;
  *error = e == SSL_ERROR_SYSCALL && errno != 0 ? std::string(strerror(errno)) : OpenSslReason();
  return -1;
}

}  // namespace

OpenSslSha256::OpenSslSha256() : ctx_(EVP_MD_CTX_new()) {}
OpenSslSha256::~OpenSslSha256() { EVP_MD_CTX_free(ctx_); }
void OpenSslSha256::Begin() { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
void OpenSslSha256::Update(const uint8_t* data, size_t len) { EVP_DigestUpdate(ctx_, data, len); }
void OpenSslSha256::Finish(uint8_t digest[32]) { EVP_DigestFinal_ex(ctx_, digest, nullptr); }

std::string OtherSlot(const std::string& running) {
  const std::string suffix = ".ota";
  if (running.size() > suffix.size() &&
      running.compare(running.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return running.substr(0, running.size() - suffix.size());
  }
  return running + suffix;
}

HostUpdater::HostUpdater(std::string ca, std::string ciphers, char* const* argv,
                         std::function<void()> shutdown)
    : ca_(std::move(ca)), ciphers_(std::move(ciphers)), argv_(argv), shutdown_(std::move(shutdown)) {
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  running_ = n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string(argv[0]);
  other_ = OtherSlot(running_);
}

bool HostUpdater::Download(const char* url, iotcore::ImageSink& sink, char* error, size_t errorLen) {
  Url u;
  if (!ParseUrl(url, &u)) {
    // Not the URL itself: a presigned one is a credential while it lasts.
    snprintf(error, errorLen, "the url is not https://host[:port]/path");
    return false;
  }
  Tls t;
  std::string why;
  if (!Connect(u, ca_, ciphers_, &t, &why)) {
    snprintf(error, errorLen, "%s", why.c_str());
    return false;
  }
  // HTTP/1.0: the body is not chunked and ends with the connection.
  std::string request = "GET " + u.path + " HTTP/1.0\r\nHost: " + u.authority +
                        "\r\nUser-Agent: fw-host\r\nConnection: close\r\n\r\n";
  if (SSL_write(t.ssl, request.data(), static_cast<int>(request.size())) <= 0) {
    snprintf(error, errorLen, "sending the request to %s: %s", u.host.c_str(), OpenSslReason().c_str());
    return false;
  }
  std::string head;
  char buf[16 * 1024];
  size_t end;
  while ((end = head.find("\r\n\r\n")) == std::string::npos) {
    int n = ReadSome(t.ssl, buf, sizeof buf, &why);
    if (n <= 0 || head.size() > kMaxHeaders) {
      snprintf(error, errorLen, "%s: no complete response header (%s)", u.host.c_str(),
          n < 0 ? why.c_str() : "connection closed");
      return false;
    }
    head.append(buf, static_cast<size_t>(n));
  }
  std::string status = head.substr(0, head.find("\r\n"));
  int code = 0;
  if (sscanf(status.c_str(), "HTTP/%*d.%*d %d", &code) != 1 || code != 200) {
    snprintf(error, errorLen, "the server answered %s", status.c_str());
    return false;
  }
  // With a Content-Length the body ends there: many servers close without
  // TLS's close_notify, which OpenSSL reports as an error.
  long long expected = ContentLength(head.substr(0, end + 2));
  std::string body = head.substr(end + 4);
  long long received = static_cast<long long>(body.size());
  if (!body.empty() && !sink.Take(reinterpret_cast<const uint8_t*>(body.data()), body.size())) {
    snprintf(error, errorLen, "stopped");
    return false;
  }
  for (;;) {
    if (expected >= 0 && received >= expected) return true;
    int n = ReadSome(t.ssl, buf, sizeof buf, &why);
    if (n == 0) return true;
    if (n < 0) {
      snprintf(error, errorLen, "reading the image: %s", why.c_str());
      return false;
    }
    received += n;
    if (!sink.Take(reinterpret_cast<const uint8_t*>(buf), static_cast<size_t>(n))) {
      snprintf(error, errorLen, "stopped");
      return false;
    }
  }
}

bool HostUpdater::Open(uint32_t, char* error, size_t errorLen) {
  Abort();
  std::string part = other_ + ".part";
  fd_ = open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
  if (fd_ < 0) snprintf(error, errorLen, "%s: %s", part.c_str(), strerror(errno));
  return fd_ >= 0;
}

bool HostUpdater::Write(const uint8_t* data, size_t len, char* error, size_t errorLen) {
  while (len > 0) {
    ssize_t n = write(fd_, data, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      snprintf(error, errorLen, "writing %s.part: %s", other_.c_str(), strerror(errno));
      return false;
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

// Close makes the written image the other slot in one rename, so that a
// kill at any moment leaves either the old file or the whole new one.
bool HostUpdater::Close(char* error, size_t errorLen) {
  std::string part = other_ + ".part";
  bool ok = fsync(fd_) == 0 && fchmod(fd_, 0755) == 0;
  ok = close(fd_) == 0 && ok;
  fd_ = -1;
  ok = ok && rename(part.c_str(), other_.c_str()) == 0;
  if (!ok) {
    snprintf(error, errorLen, "%s: %s", other_.c_str(), strerror(errno));
    unlink(part.c_str());
  }
  return ok;
}

void HostUpdater::Abort() {
  if (fd_ < 0) return;
  close(fd_);
  fd_ = -1;
  unlink((other_ + ".part").c_str());
}

void HostUpdater::Reboot() {
  shutdown_();
  fflush(nullptr);
  setenv(kResetReasonEnv, "SW", 1);
  execv(other_.c_str(), argv_);
  fprintf(stderr, "fw-host: cannot boot the new image %s: %s; booting %s again\n", other_.c_str(),
          strerror(errno), running_.c_str());
  execv(running_.c_str(), argv_);
  fprintf(stderr, "fw-host: cannot boot %s either: %s\n", running_.c_str(), strerror(errno));
}

}  // namespace fwhost
