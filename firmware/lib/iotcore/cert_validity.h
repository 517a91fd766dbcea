// Certificate validity dates, checked by the firmware itself: the mbedTLS
// of arduino-esp32 is built without MBEDTLS_HAVE_TIME_DATE, so it verifies
// the server's chain without ever looking at notBefore/notAfter. The board
// walks the peer chain after the handshake and refuses the connection with
// a logged reason; the date logic is here, tested on the host.
#pragma once

#include <cstddef>
#include <cstdint>

namespace iotcore {

// CertTime is a certificate's date as mbedTLS parses it (mbedtls_x509_time:
// year, mon 1-12, day, hour, min, sec; UTC).
struct CertTime {
  int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0;
};

// CertDates is one certificate of a chain: its validity and a name for the
// log (the subject, or "certificate 2 of the chain").
struct CertDates {
  CertTime notBefore, notAfter;
  const char* name = "";
};

// kEarliestTrustedClock is 2024-01-01: a clock before it was never set
// (the ESP32 starts at 1970), so dates cannot be judged yet.
constexpr int64_t kEarliestTrustedClock = 1704067200;

// CertTimeUnix is t as Unix seconds; false when a field is out of range.
bool CertTimeUnix(const CertTime& t, int64_t* out);

// ValidityProblem checks one certificate against now (Unix seconds, UTC)
// and writes why it is refused into why ("expired 2025-06-01 00:00:00 UTC"),
// returning false; true when now is within [notBefore, notAfter]. A date it
// cannot read is refused too.
bool CheckValidity(const CertDates& c, int64_t now, char* why, size_t cap);

// CheckChain checks every certificate of the chain (leaf first) and stops at
// the first refused one; why then names it. A clock before
// kEarliestTrustedClock refuses everything: the caller must wait for it.
bool CheckChain(const CertDates* chain, size_t n, int64_t now, char* why, size_t cap);

}  // namespace iotcore
