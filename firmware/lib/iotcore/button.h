// The BOOT button's "held for 3 s", from its edges (issue 23, item 10). The
// board records each edge in an interrupt, so a hold made while the loop is
// blocked in a TLS handshake or a publish is not missed: a press that lasted
// long enough is latched and acted on as soon as the loop gets to it, even
// if the button was released meanwhile. Edge runs in the interrupt: it only
// stores times. uint32_t milliseconds wrap after 49 days; the differences
// stay right across the wrap.
#pragma once

#include <atomic>
#include <cstdint>

namespace iotcore {

class HoldDetector {
 public:
  explicit HoldDetector(uint32_t holdMs) : holdMs_(holdMs) {}

  void Edge(bool down, uint32_t atMs) {
    if (down && !down_) {
      downSinceMs_ = atMs;
      down_ = true;
    } else if (!down && down_) {
      down_ = false;
      if (atMs - downSinceMs_ >= holdMs_) held_ = true;
    }
  }

  // Held is whether a hold of holdMs happened (still down or released
  // since); it consumes a latched hold.
  bool Held(uint32_t nowMs) {
    if (held_.exchange(false)) return true;
    return down_ && nowMs - downSinceMs_ >= holdMs_;
  }

 private:
  const uint32_t holdMs_;
  std::atomic<bool> down_{false};
  std::atomic<uint32_t> downSinceMs_{0};
  std::atomic<bool> held_{false};
};

}  // namespace iotcore
