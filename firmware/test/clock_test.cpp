#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "../lib/iotcore/clock.h"

using iotcore::ClockKeeper;
using Action = iotcore::ClockKeeper::Action;

TEST_CASE("with NTP blocked, SNTP restarts at growing gaps and the clock falls back at 30 s") {
  ClockKeeper k;
  std::vector<uint64_t> restarts;
  uint64_t fellBackAt = 0;
  for (uint64_t t = 1000; t <= 400000; t += 100) {
    Action a = k.Poll(t, false);
    if (a == Action::kRestartSntp) restarts.push_back(t - 1000);
    if (a == Action::kFallBack) {
      CHECK(fellBackAt == 0);
      fellBackAt = t - 1000;
    }
    CHECK(k.usable() == (fellBackAt != 0));
  }
  CHECK(fellBackAt == 30000);
  CHECK(restarts == std::vector<uint64_t>{5000, 15000, 35000, 75000, 155000, 315000});
  CHECK(k.fellBack());
}

TEST_CASE("a clock set by SNTP is usable at once and asks for nothing") {
  ClockKeeper k;
  CHECK(k.Poll(0, true) == Action::kNone);
  CHECK(k.usable());
  CHECK(k.Poll(60000, true) == Action::kNone);
  CHECK_FALSE(k.fellBack());
}

TEST_CASE("SNTP answering after the fallback keeps the clock usable") {
  ClockKeeper k(2000);
  CHECK(k.Poll(0, false) == Action::kNone);
  CHECK(k.Poll(2000, false) == Action::kFallBack);
  CHECK(k.Poll(2100, true) == Action::kNone);
  CHECK(k.usable());
}

TEST_CASE("build time from __DATE__ and __TIME__") {
  CHECK(iotcore::BuildTime("Jan  1 1970", "00:00:00") == 0);
  CHECK(iotcore::BuildTime("Dec  1 2026", "21:46:07") == 1796161567);
  CHECK(iotcore::BuildTime("Feb 29 2024", "12:00:00") == 1709208000);
  CHECK(iotcore::BuildTime(__DATE__, __TIME__) > 1764000000);
  for (const char* bad : {"", "Foo  1 2026", "ec  1 2026", "Dec 40 2026", "Dec  1"}) {
    CAPTURE(std::string(bad));
    CHECK(iotcore::BuildTime(bad, "21:46:07") == 0);
  }
  CHECK(iotcore::BuildTime("Dec  1 2026", "25:00:00") == 0);
}
