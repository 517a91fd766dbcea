#include <doctest/doctest.h>

#include <vector>

#include "../lib/iotcore/backoff.h"

using iotcore::Backoff;
using iotcore::BackoffPolicy;

TEST_CASE("delays stay between the floor and a ceiling that doubles up to the cap") {
  Backoff b(BackoffPolicy(), 1);
  uint64_t ceilings[] = {2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
  for (uint64_t ceiling : ceilings) {
    CAPTURE(ceiling);
    CHECK(b.Ceiling() == ceiling);
    uint32_t d = b.NextDelay();
    CHECK(d >= 250);
    CHECK(d <= ceiling);
  }
}

// chiSquare is Pearson's statistic of draws of the next delay of fresh
// backoffs (after `skip` failed attempts) in `bins` equal bins of
// [floor, ceiling].
double ChiSquare(const BackoffPolicy& p, int skip, int bins, int draws) {
  std::vector<int> count(bins, 0);
  uint32_t lo = 0, hi = 0;
  for (int seed = 1; seed <= draws; seed++) {
    Backoff b(p, static_cast<uint64_t>(seed) * 0x9e3779b97f4a7c15ULL);
    for (int i = 0; i < skip; i++) b.NextDelay();
    hi = b.Ceiling();
    lo = p.floorMs;
    uint32_t d = b.NextDelay();
    REQUIRE(d >= lo);
    REQUIRE(d <= hi);
    int bin = static_cast<int>(uint64_t{d - lo} * bins / (uint64_t{hi - lo} + 1));
    count[bin]++;
  }
  double expected = static_cast<double>(draws) / bins, chi = 0;
  for (int c : count) chi += (c - expected) * (c - expected) / expected;
  return chi;
}

// Device Advisor's jitter check, and the mass disconnect it stands for:
// boards that lost the broker together must not come back together, from
// the very first retry on.
TEST_CASE("the first retry is uniform over [floor, base], not the floor") {
  // 20 bins: 19 degrees of freedom, chi-square 43.8 is p = 0.001.
  for (int skip : {0, 1, 5}) {
    CAPTURE(skip);
    CHECK(ChiSquare(BackoffPolicy(), skip, 20, 20000) < 43.8);
  }
  // The Wi-Fi policy (src/network.cpp): never before 10 s, spread to 20 s.
  CHECK(ChiSquare(BackoffPolicy{10000, 20000, 60000, 60000}, 0, 20, 20000) < 43.8);
  // And a thousand boards do not share a first delay to the millisecond
  // more than chance allows (1,751 possible values).
  std::vector<int> seen(2001, 0);
  int collisions = 0;
  for (int seed = 1; seed <= 1000; seed++) {
    Backoff b(BackoffPolicy(), static_cast<uint64_t>(seed) * 7919);
    collisions += seen[b.NextDelay()]++ > 0;
  }
  CHECK(collisions < 400);  // ~250 expected by the birthday count
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
  CHECK(b.Ceiling() == 2000);

  Backoff fresh(BackoffPolicy(), 7);
  for (int i = 0; i < 3; i++) fresh.NextDelay();
  fresh.Disconnected(1000000);  // failed attempts, never up: keep backing off
  CHECK(fresh.attempts() == 3);
}

TEST_CASE("the same seed gives the same delays") {
  Backoff a(BackoffPolicy(), 99), b(BackoffPolicy(), 99);
  for (int i = 0; i < 20; i++) CHECK(a.NextDelay() == b.NextDelay());
}
