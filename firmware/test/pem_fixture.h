// Device credentials made at test time with OpenSSL (none are committed):
// a CA, a device certificate it signs, and the device's EC P-256 key.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>

struct TestCredentials {
  std::string ca, cert, key, otherKey;

  TestCredentials() {
    EVP_PKEY* caKey = EVP_EC_gen("P-256");
    EVP_PKEY* deviceKey = EVP_EC_gen("P-256");
    EVP_PKEY* stranger = EVP_EC_gen("P-256");
    X509* caCert = Make("test CA", caKey, caKey, nullptr);
    X509* device = Make("pico-01", deviceKey, caKey, caCert);
    ca = Pem(caCert);
    cert = Pem(device);
    key = Pem(deviceKey);
    otherKey = Pem(stranger);
    X509_free(device);
    X509_free(caCert);
    EVP_PKEY_free(stranger);
    EVP_PKEY_free(deviceKey);
    EVP_PKEY_free(caKey);
  }

 private:
  static X509* Make(const char* cn, EVP_PKEY* key, EVP_PKEY* signer, X509* issuer) {
    X509* x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), issuer == nullptr ? 1 : 2);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(issuer != nullptr ? issuer : x));
    X509_set_pubkey(x, key);
    X509_sign(x, signer, EVP_sha256());
    return x;
  }
  static std::string Drain(BIO* b) {
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(b);
    return out;
  }
  static std::string Pem(X509* x) {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    return Drain(b);
  }
  static std::string Pem(EVP_PKEY* k) {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
    return Drain(b);
  }
};
