// When the configuration page gives up (issue 23, item 7): a field board
// must not stay an access point forever after an accidental BOOT hold, or
// after an update under which its saved configuration no longer validates.
// With nobody on the page for kPortalIdleMs it goes back to what it can:
// the configuration in use if it is valid or has reached the broker before
// (a newer firmware's stricter check does not strand a working board), else
// the last one that reached the broker; with none there is nothing to go
// back to, and it waits on.
#pragma once

#include <cstdint>

namespace iotcore {

constexpr uint32_t kPortalIdleMs = 10 * 60 * 1000;

enum class PortalExit {
  kStay,    // nothing valid to go back to: keep serving the page
  kResume,  // restart into the configuration in use
  kRevert,  // make the last configuration that reached the broker active, restart
};

class PortalTimer {
 public:
  PortalTimer(uint64_t startMs, uint32_t idleMs = kPortalIdleMs) : lastActivityMs_(startMs), idleMs_(idleMs) {}
  // Activity is a request served or a station joined to the access point.
  void Activity(uint64_t nowMs) { lastActivityMs_ = nowMs; }
  // Expired is whether nobody has used the page for idleMs; a station that
  // stays joined (someone reading the serial log for the password, or
  // typing) counts as activity.
  bool Expired(uint64_t nowMs, bool stationJoined) {
    if (stationJoined) lastActivityMs_ = nowMs;
    return nowMs - lastActivityMs_ >= idleMs_;
  }

 private:
  uint64_t lastActivityMs_;
  uint32_t idleMs_;
};

// OnPortalTimeout decides where an expired page goes.
inline PortalExit OnPortalTimeout(bool currentValid, bool currentReachedBroker, bool lastGoodValid) {
  if (currentValid || currentReachedBroker) return PortalExit::kResume;
  if (lastGoodValid) return PortalExit::kRevert;
  return PortalExit::kStay;
}

}  // namespace iotcore
