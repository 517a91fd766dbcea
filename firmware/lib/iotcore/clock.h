// When the device trusts its clock. TLS checks certificate dates, so the
// device waits for SNTP; but with UDP 123 blocked that wait would never end.
// ClockKeeper restarts SNTP with growing gaps and, after a bounded wait,
// falls back to the firmware's build time, which is later than the start
// date of any certificate the firmware was built for. SNTP keeps trying and
// corrects the clock when it answers. The TLS library on the board does not
// check certificate dates at all (cert_validity.h does, once the clock is set).
#pragma once

#include <cstdint>

namespace iotcore {

constexpr uint32_t kClockFallbackMs = 30000;

class ClockKeeper {
 public:
  explicit ClockKeeper(uint32_t fallbackAfterMs = kClockFallbackMs)
      : fallbackAfterMs_(fallbackAfterMs) {}

  enum class Action {
    kNone,
    kRestartSntp,  // ask the servers again
    kFallBack,     // set the clock from the build time, once
  };

  // Poll is called every loop once the network is up; synced is whether SNTP
  // has set the clock. The first call starts the wait.
  Action Poll(uint64_t nowMs, bool synced);
  // usable is whether TLS may go ahead: synced, or fallen back.
  bool usable() const { return synced_ || fellBack_; }
  bool fellBack() const { return fellBack_; }
  // nextRestartInMs is the gap before the next SNTP restart (for the log).
  uint32_t retryGapMs() const { return gapMs_; }

 private:
  uint32_t fallbackAfterMs_;
  bool started_ = false;
  bool synced_ = false;
  bool fellBack_ = false;
  uint64_t startMs_ = 0;
  uint64_t nextRestartMs_ = 0;
  uint32_t gapMs_ = 5000;  // SNTP restarts: 5 s, 10 s, 20 s … up to 5 min
};

// BuildTime reads the compiler's __DATE__ ("Dec  1 2026") and __TIME__
// ("21:46:07") as UTC Unix seconds; 0 when they cannot be read.
int64_t BuildTime(const char* date, const char* time);

// UnixFromCivil is the UTC date and time as Unix seconds (month 1-12, day
// 1-31; out-of-range fields are not checked).
int64_t UnixFromCivil(int64_t year, unsigned month, unsigned day, int hour, int minute, int second);

}  // namespace iotcore
