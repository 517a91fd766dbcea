#include "clock.h"

#include <cstdio>
#include <cstring>

namespace iotcore {

ClockKeeper::Action ClockKeeper::Poll(uint64_t nowMs, bool synced) {
  if (!started_) {
    started_ = true;
    startMs_ = nowMs;
    nextRestartMs_ = nowMs + gapMs_;
  }
  synced_ = synced;
  if (synced_) return Action::kNone;
  if (!fellBack_ && nowMs - startMs_ >= fallbackAfterMs_) {
    fellBack_ = true;
    return Action::kFallBack;
  }
  if (nowMs < nextRestartMs_) return Action::kNone;
  gapMs_ = gapMs_ >= 150000 ? 300000 : gapMs_ * 2;
  nextRestartMs_ = nowMs + gapMs_;
  return Action::kRestartSntp;
}

namespace {

// DaysFromCivil counts days since 1970-01-01 (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = static_cast<unsigned>(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

}  // namespace

int64_t UnixFromCivil(int64_t year, unsigned month, unsigned day, int hour, int minute, int second) {
  return DaysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second;
}

int64_t BuildTime(const char* date, const char* time) {
  static const char kMonths[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
  char month[4] = "";
  int day = 0, year = 0, h = 0, m = 0, s = 0;
  if (sscanf(date, "%3s %d %d", month, &day, &year) != 3 ||
      sscanf(time, "%d:%d:%d", &h, &m, &s) != 3) {
    return 0;
  }
  const char* at = strlen(month) == 3 ? strstr(kMonths, month) : nullptr;
  if (at == nullptr || (at - kMonths) % 3 != 0 || day < 1 || day > 31 || year < 1970 || h > 23 ||
      m > 59 || s > 60) {
    return 0;
  }
  unsigned mon = static_cast<unsigned>((at - kMonths) / 3 + 1);
  return UnixFromCivil(year, mon, static_cast<unsigned>(day), h, m, s);
}

}  // namespace iotcore
