#include <doctest/doctest.h>

#include "../lib/iotcore/backoff.h"

using iotcore::Backoff;
using iotcore::BackoffPolicy;

TEST_CASE("delays stay between the floor and a ceiling that doubles up to the cap") {
  Backoff b(BackoffPolicy(), 1);
  uint64_t ceilings[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
  for (uint64_t ceiling : ceilings) {
    CAPTURE(ceiling);
    uint32_t d = b.NextDelay();
    CHECK(d >= 1000);
    CHECK(d <= ceiling);
  }
}

TEST_CASE("full jitter spreads the delays over the whole window") {
  uint32_t lowest = UINT32_MAX, highest = 0;
  for (uint64_t seed = 1; seed <= 2000; seed++) {
    Backoff b(BackoffPolicy(), seed);
    for (int i = 0; i < 10; i++) b.NextDelay();
    uint32_t d = b.NextDelay();
    lowest = d < lowest ? d : lowest;
    highest = d > highest ? d : highest;
  }
  CHECK(lowest < 5000);
  CHECK(highest > 55000);
  CHECK(highest <= 60000);
}

TEST_CASE("the attempts reset only after the link stayed up for stableMs") {
  Backoff b(BackoffPolicy(), 7);
  for (int i = 0; i < 6; i++) b.NextDelay();
  CHECK(b.attempts() == 6);

  b.Connected(100000);
  b.Disconnected(100000 + 59999);  // flapping link: keep backing off
  CHECK(b.attempts() == 6);

  b.Connected(200000);
  b.Disconnected(200000 + 60000);
  CHECK(b.attempts() == 0);
  CHECK(b.NextDelay() == 1000);

  Backoff fresh(BackoffPolicy(), 7);
  for (int i = 0; i < 3; i++) fresh.NextDelay();
  fresh.Disconnected(1000000);  // failed attempts, never up: keep backing off
  CHECK(fresh.attempts() == 3);
}

TEST_CASE("the same seed gives the same delays") {
  Backoff a(BackoffPolicy(), 99), b(BackoffPolicy(), 99);
  for (int i = 0; i < 20; i++) CHECK(a.NextDelay() == b.NextDelay());
}
