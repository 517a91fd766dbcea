#include "backoff.h"

namespace iotcore {

uint32_t Backoff::NextDelay() {
  uint64_t ceiling = p_.floorMs;
  for (uint32_t i = 0; i < attempts_ && ceiling < p_.capMs; i++) ceiling *= 2;
  if (ceiling > p_.capMs) ceiling = p_.capMs;
  if (attempts_ < UINT32_MAX) attempts_++;
  if (ceiling <= p_.floorMs) return p_.floorMs;
  return p_.floorMs + static_cast<uint32_t>(rng_.Below(ceiling - p_.floorMs + 1));
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
