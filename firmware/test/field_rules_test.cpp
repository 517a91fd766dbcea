#include <doctest/doctest.h>

#include "../lib/iotcore/button.h"
#include "../lib/iotcore/portal_rules.h"

using iotcore::HoldDetector;
using iotcore::PortalExit;
using iotcore::PortalTimer;

TEST_CASE("the configuration page times out after 10 idle minutes, not while someone is on it") {
  PortalTimer t(1000);
  CHECK_FALSE(t.Expired(1000 + 599999, false));
  CHECK(t.Expired(1000 + 600000, false));

  PortalTimer busy(0);
  busy.Activity(500000);  // a request
  CHECK_FALSE(busy.Expired(600000, false));
  CHECK_FALSE(busy.Expired(1099999, true));  // a phone joined the access point
  CHECK_FALSE(busy.Expired(1699998, false));
  CHECK(busy.Expired(1699999, false));
}

TEST_CASE("a timed-out page goes back to the valid configuration, else the last good one, else stays") {
  using iotcore::OnPortalTimeout;
  CHECK(OnPortalTimeout(true, false, false) == PortalExit::kResume);  // an accidental BOOT hold
  CHECK(OnPortalTimeout(true, true, true) == PortalExit::kResume);
  // Refused by a newer firmware's check, but it reached the broker: try it.
  CHECK(OnPortalTimeout(false, true, false) == PortalExit::kResume);
  CHECK(OnPortalTimeout(false, false, true) == PortalExit::kRevert);  // a bad save after a good one
  CHECK(OnPortalTimeout(false, false, false) == PortalExit::kStay);   // a new board
}

TEST_CASE("a 3 s hold of BOOT is seen even when the loop only looks after it was released") {
  HoldDetector b(3000);
  b.Edge(true, 100);
  CHECK_FALSE(b.Held(3099));
  CHECK(b.Held(3100));  // still down
  b.Edge(false, 3200);

  // Pressed and released while the loop was blocked for 15 s.
  HoldDetector blocked(3000);
  blocked.Edge(true, 1000);
  blocked.Edge(false, 4500);
  CHECK(blocked.Held(16000));
  CHECK_FALSE(blocked.Held(16001));  // consumed

  // A short press is not a hold, and bounces do not restart the count.
  HoldDetector shortPress(3000);
  shortPress.Edge(true, 0);
  shortPress.Edge(false, 2999);
  CHECK_FALSE(shortPress.Held(10000));
  HoldDetector bouncy(3000);
  bouncy.Edge(true, 0);
  bouncy.Edge(true, 5);  // a second falling edge without a rising one
  CHECK(bouncy.Held(3000));

  // Across the 49-day wrap of a uint32_t millisecond clock.
  HoldDetector wrap(3000);
  wrap.Edge(true, 0xFFFFFF00u);
  CHECK(wrap.Held(0xFFFFFF00u + 3000u));
}
