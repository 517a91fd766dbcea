#include "cert_validity.h"

#include <cstdio>

#include "clock.h"

namespace iotcore {
namespace {

bool InRange(const CertTime& t) {
  // X.509 dates run from 1950 (UTCTime) to 9999 (GeneralizedTime); a leap
  // second (60) is allowed by the encoding.
  return t.year >= 1950 && t.year <= 9999 && t.mon >= 1 && t.mon <= 12 && t.day >= 1 &&
         t.day <= 31 && t.hour >= 0 && t.hour <= 23 && t.min >= 0 && t.min <= 59 && t.sec >= 0 &&
         t.sec <= 60;
}

void Format(const CertTime& t, char* out, size_t cap) {
  snprintf(out, cap, "%04d-%02d-%02d %02d:%02d:%02d UTC", t.year, t.mon, t.day, t.hour, t.min,
           t.sec);
}

}  // namespace

bool CertTimeUnix(const CertTime& t, int64_t* out) {
  if (!InRange(t)) return false;
  *out = UnixFromCivil(t.year, static_cast<unsigned>(t.mon), static_cast<unsigned>(t.day), t.hour,
                       t.min, t.sec);
  return true;
}

bool CheckValidity(const CertDates& c, int64_t now, char* why, size_t cap) {
  int64_t from = 0, to = 0;
  char date[32];
  if (!CertTimeUnix(c.notBefore, &from) || !CertTimeUnix(c.notAfter, &to)) {
    snprintf(why, cap, "%s has a validity date that cannot be read", c.name);
    return false;
  }
  if (now < from) {
    Format(c.notBefore, date, sizeof date);
    snprintf(why, cap, "%s is not valid before %s", c.name, date);
    return false;
  }
  if (now > to) {
    Format(c.notAfter, date, sizeof date);
    snprintf(why, cap, "%s expired %s", c.name, date);
    return false;
  }
  if (cap > 0) why[0] = '\0';
  return true;
}

bool CheckChain(const CertDates* chain, size_t n, int64_t now, char* why, size_t cap) {
  if (now < kEarliestTrustedClock) {
    snprintf(why, cap, "the clock is not set (%lld), so certificate dates cannot be judged",
             static_cast<long long>(now));
    return false;
  }
  if (n == 0) {
    snprintf(why, cap, "the server sent no certificate");
    return false;
  }
  for (size_t i = 0; i < n; i++) {
    if (!CheckValidity(chain[i], now, why, cap)) return false;
  }
  return true;
}

}  // namespace iotcore
