#include "credentials.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <memory>

namespace fwhost {
namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Bio = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Cert = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using Key = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;

Bio Read(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

}  // namespace

iotcore::ConfigError OpenSslCheck::Check(const iotcore::Config& c) const {
  Cert cert(PEM_read_bio_X509(Read(c.cert).get(), nullptr, nullptr, nullptr));
  // OpenSSL queues a reason for each failure; none is wanted later.
  ERR_clear_error();
  if (!cert) return {"cert", "is not an X.509 certificate OpenSSL can read"};
  Key key(PEM_read_bio_PrivateKey(Read(c.key).get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!key) return {"key", "is not a private key OpenSSL can read"};
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return {"key", "does not belong to the device certificate"};
  }
  Bio ca = Read(c.ca);
  int read = 0;
  while (Cert one{PEM_read_bio_X509(ca.get(), nullptr, nullptr, nullptr)}) read++;
  ERR_clear_error();
  int blocks = 0;
  for (size_t at = c.ca.find("-----BEGIN "); at != std::string::npos;
       at = c.ca.find("-----BEGIN ", at + 1)) {
    blocks++;
  }
  if (read == 0 || read != blocks) return {"ca", "holds a certificate OpenSSL cannot read"};
  return {};
}

}  // namespace fwhost
