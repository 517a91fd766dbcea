#include "backoff.h"

namespace iotcore {

uint32_t Backoff::Ceiling() const {
  uint64_t ceiling = p_.baseMs;
  for (uint32_t i = 0; i < attempts_ && ceiling < p_.capMs; i++) ceiling *= 2;
  if (ceiling > p_.capMs) ceiling = p_.capMs;
  return ceiling < p_.floorMs ? p_.floorMs : static_cast<uint32_t>(ceiling);
}

uint32_t Backoff::NextDelay() {
  uint32_t ceiling = Ceiling();
  if (attempts_ < UINT32_MAX) attempts_++;
  return p_.floorMs + static_cast<uint32_t>(rng_.Below(uint64_t{ceiling} - p_.floorMs + 1));
}

void Backoff::Connected(uint64_t nowMs) {
  up_ = true;
  upSince_ = nowMs;
}

void Backoff::Disconnected(uint64_t nowMs) {
  if (up_ && nowMs - upSince_ >= p_.stableMs) attempts_ = 0;
  up_ = false;
}

}  // namespace iotcore
