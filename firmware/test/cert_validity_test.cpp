#include <doctest/doctest.h>

#include <cstring>
#include <ctime>
#include <string>

#include "../lib/iotcore/cert_validity.h"
#include "../lib/iotcore/random.h"

using iotcore::CertDates;
using iotcore::CertTime;

namespace {

// 2026-12-08 00:00:00 UTC
constexpr int64_t kNow = 1796688000;

CertDates Dates(CertTime from, CertTime to, const char* name = "the server's certificate") {
  CertDates d;
  d.notBefore = from;
  d.notAfter = to;
  d.name = name;
  return d;
}

}  // namespace

TEST_CASE("certificate dates as Unix seconds agree with timegm on random dates") {
  iotcore::Random rng(23);
  // A 32-bit time_t (the -m32 build) ends in 2038.
  int lastYear = sizeof(time_t) >= 8 ? 9999 : 2037;
  for (int i = 0; i < 100000; i++) {
    CertTime t;
    t.year = 1950 + static_cast<int>(rng.Below(static_cast<uint64_t>(lastYear - 1950 + 1)));
    t.mon = 1 + static_cast<int>(rng.Below(12));
    t.day = 1 + static_cast<int>(rng.Below(28));
    t.hour = static_cast<int>(rng.Below(24));
    t.min = static_cast<int>(rng.Below(60));
    t.sec = static_cast<int>(rng.Below(60));
    struct tm tm {};
    tm.tm_year = t.year - 1900;
    tm.tm_mon = t.mon - 1;
    tm.tm_mday = t.day;
    tm.tm_hour = t.hour;
    tm.tm_min = t.min;
    tm.tm_sec = t.sec;
    int64_t got = 0;
    REQUIRE(iotcore::CertTimeUnix(t, &got));
    CAPTURE(t.year);
    CAPTURE(t.mon);
    CAPTURE(t.day);
    REQUIRE(got == static_cast<int64_t>(timegm(&tm)));
  }
}

TEST_CASE("a certificate is refused outside notBefore..notAfter, with the date in the reason") {
  char why[160];
  CertDates valid = Dates({2025, 1, 1, 0, 0, 0}, {2027, 1, 1, 0, 0, 0});
  CHECK(iotcore::CheckValidity(valid, kNow, why, sizeof why));
  CHECK(std::strlen(why) == 0);

  CHECK_FALSE(iotcore::CheckValidity(Dates({2020, 1, 1, 0, 0, 0}, {2026, 12, 7, 23, 59, 59}), kNow,
                                     why, sizeof why));
  CHECK(std::string(why) == "the server's certificate expired 2026-12-07 23:59:59 UTC");

  CHECK_FALSE(iotcore::CheckValidity(Dates({2026, 12, 8, 0, 0, 1}, {2030, 1, 1, 0, 0, 0}), kNow,
                                     why, sizeof why));
  CHECK(std::string(why) == "the server's certificate is not valid before 2026-12-08 00:00:01 UTC");

  // The edges themselves are inside (RFC 5280: "notBefore through notAfter, inclusive").
  CHECK(iotcore::CheckValidity(Dates({2026, 12, 8, 0, 0, 0}, {2026, 12, 8, 0, 0, 0}), kNow, why,
                               sizeof why));

  CHECK_FALSE(iotcore::CheckValidity(Dates({2025, 13, 1, 0, 0, 0}, {2027, 1, 1, 0, 0, 0}), kNow,
                                     why, sizeof why));
  CHECK(std::string(why) == "the server's certificate has a validity date that cannot be read");
}

TEST_CASE("the chain is refused at its first out-of-date certificate, and before the clock is set") {
  char why[160];
  CertDates chain[] = {Dates({2025, 1, 1, 0, 0, 0}, {2027, 1, 1, 0, 0, 0}, "certificate 1 (leaf)"),
                       Dates({2016, 1, 1, 0, 0, 0}, {2026, 6, 1, 0, 0, 0}, "certificate 2"),
                       Dates({2016, 1, 1, 0, 0, 0}, {2020, 6, 1, 0, 0, 0}, "certificate 3")};
  CHECK(iotcore::CheckChain(chain, 1, kNow, why, sizeof why));
  CHECK_FALSE(iotcore::CheckChain(chain, 3, kNow, why, sizeof why));
  CHECK(std::string(why) == "certificate 2 expired 2026-06-01 00:00:00 UTC");
  CHECK_FALSE(iotcore::CheckChain(chain, 0, kNow, why, sizeof why));
  CHECK(std::string(why) == "the server sent no certificate");
  // An ESP32 clock nobody set starts at 1970: nothing can be judged.
  CHECK_FALSE(iotcore::CheckChain(chain, 1, 5, why, sizeof why));
  CHECK(std::string(why).find("the clock is not set") == 0);
}
