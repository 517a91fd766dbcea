#include "core.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>

namespace iotcore {

Core::Core(Port& port, const Settings& settings)
    : port_(port), settings_(settings), jobs_(port, topics_, settings.updater, settings.id.fw) {
  state_.intervalS = settings.intervalS;
  buf_[0] = '\0';
}

bool Core::Begin() {
  if (!topics_.Build(settings_.thing, settings_.shadow)) {
    Logf("invalid thing name \"%s\" or shadow name \"%s\": use 1-128 (shadow 1-64) of a-zA-Z0-9:_-",
         settings_.thing, settings_.shadow);
    return false;
  }
  if (state_.intervalS < kMinIntervalS || state_.intervalS > kMaxIntervalS) {
    state_.intervalS = State().intervalS;
  }
  port_.SetLed(state_.led);
  return true;
}

bool Core::Subscribes(size_t i, uint64_t uptimeMs) const {
  return FullGetAllowed(uptimeMs) || strcmp(topics_.subscription(i), topics_.updateDelta()) != 0;
}

void Core::OnConnected(uint64_t uptimeMs) {
  connected_ = true;
  jobs_.OnConnected();
  // If get is never answered the periodic report still goes out.
  nextReportMs_ = uptimeMs + static_cast<uint64_t>(state_.intervalS) * 1000;
  deltaSubscribed_ = FullGetAllowed(uptimeMs);
  if (deltaSubscribed_) {
    RequestShadow(uptimeMs);
    return;
  }
  Logf("not asking for the whole shadow, nor for deltas (each as large): the get's answer did not "
       "arrive on the last %u connections (too large for this device?); reporting only, next full "
       "get in %llu s",
       static_cast<unsigned>(stats_.getUnanswered),
       static_cast<unsigned long long>((fullGetAfterMs_ - uptimeMs) / 1000));
  getWanted_ = true;  // Poll asks once fullGetAfterMs_ has passed
  Report(nullptr, uptimeMs);
}

bool Core::FullGetAllowed(uint64_t uptimeMs) const {
  return stats_.getUnanswered < kMaxUnansweredGets || uptimeMs >= fullGetAfterMs_;
}

// RequestShadow publishes a get; one that could not be sent is tried again
// from Poll after the gap.
void Core::RequestShadow(uint64_t uptimeMs) {
  lastGetMs_ = uptimeMs;
  getWanted_ = !port_.Publish(topics_.get(), "{}", 2);
  getOutstanding_ = !getWanted_;
  if (getWanted_) stats_.publishFailures++;
}

void Core::OnDropped(uint32_t count, uint64_t uptimeMs) {
  stats_.dropped += count;
  getWanted_ = true;
  getOutstanding_ = false;  // answered, if it was the get's answer: too large, but not lost
  Logf("%u message(s) dropped (%u so far); requesting the shadow again",
       static_cast<unsigned>(count), static_cast<unsigned>(stats_.dropped));
  Poll(uptimeMs);
}

void Core::OnDisconnected(uint64_t uptimeMs) {
  connected_ = false;
  jobs_.OnDisconnected();
  if (!getOutstanding_) return;
  getOutstanding_ = false;
  stats_.getUnanswered++;
  if (stats_.getUnanswered >= kMaxUnansweredGets) fullGetAfterMs_ = uptimeMs + kDeltaOnlyMs;
  Logf("connection lost before the shadow's get was answered (%u in a row)",
       static_cast<unsigned>(stats_.getUnanswered));
}

void Core::Poll(uint64_t uptimeMs) {
  if (!connected_) return;
  if (getWanted_ && uptimeMs >= lastGetMs_ + getGapMs_ && FullGetAllowed(uptimeMs)) {
    RequestShadow(uptimeMs);
    getGapMs_ = getGapMs_ * 2 > kMaxGetGapMs ? kMaxGetGapMs : getGapMs_ * 2;
  }
  if (uptimeMs >= nextReportMs_) Report(nullptr, uptimeMs);
  jobs_.Poll();
}

void Core::OnMessage(const char* topic, const char* payload, size_t len, uint64_t uptimeMs) {
  if (len > settings_.maxPayload) {
    Logf("%zu-byte message on %s: over the %zu-byte limit", len, topic, settings_.maxPayload);
    OnDropped(1, uptimeMs);
    return;
  }
  if (strcmp(topic, topics_.updateDelta()) == 0) {
    OnDelta(payload, len, uptimeMs);
  } else if (strcmp(topic, topics_.getAccepted()) == 0) {
    OnGetAccepted(payload, len, uptimeMs);
  } else if (strcmp(topic, topics_.getRejected()) == 0) {
    OnRejected("get", payload, len, uptimeMs);
  } else if (strcmp(topic, topics_.updateRejected()) == 0) {
    OnRejected("update", payload, len, uptimeMs);
  } else if (topics_.IsJobs(topic)) {
    jobs_.OnMessage(topic, payload, len);
  } else {
    stats_.unexpected++;
  }
}

// Parse returns the document, or null (counted and logged) when the payload
// is too deep or not exactly one JSON object; the caller owns the result.
cJSON* Core::Parse(const char* what, const char* payload, size_t len) {
  cJSON* doc = ParseObject(payload, len);
  if (doc == nullptr) {
    stats_.malformed++;
    Logf("%s: not a JSON object (or nested deeper than %d); ignored", what, kMaxJsonDepth);
    return nullptr;
  }
  return doc;
}

void Core::OnDelta(const char* payload, size_t len, uint64_t uptimeMs) {
  Owned doc(Parse("delta", payload, len));
  if (doc.get() == nullptr) return;
  const cJSON* state = cJSON_GetObjectItemCaseSensitive(doc.get(), "state");
  if (!cJSON_IsObject(state)) {
    stats_.malformed++;
    Logf("delta without a state object; ignored");
    return;
  }
  ApplyAndReport(state, uptimeMs);
}

void Core::OnGetAccepted(const char* payload, size_t len, uint64_t uptimeMs) {
  Owned doc(Parse("get/accepted", payload, len));
  if (doc.get() == nullptr) return;
  const cJSON* state = cJSON_GetObjectItemCaseSensitive(doc.get(), "state");
  const cJSON* desired = cJSON_GetObjectItemCaseSensitive(state, "desired");
  getGapMs_ = kMinGetGapMs;  // this answer fitted
  getOutstanding_ = false;
  stats_.getUnanswered = 0;
  if (!deltaSubscribed_) {
    deltaSubscribed_ = port_.Subscribe(topics_.updateDelta());
    Logf("the shadow fits again: %s", deltaSubscribed_ ? "deltas taken again"
                                                       : "subscribing to deltas failed; next connect");
  }
  // After a boot the device runs its defaults, so the whole desired section
  // applies, not only the delta against what the previous boot reported.
  if (cJSON_IsObject(desired)) {
    ApplyAndReport(desired, uptimeMs);
  } else {
    Report(nullptr, uptimeMs);
  }
}

void Core::OnRejected(const char* op, const char* payload, size_t len, uint64_t uptimeMs) {
  stats_.rejected++;
  Owned doc(Parse(op, payload, len));
  const cJSON* code = cJSON_GetObjectItemCaseSensitive(doc.get(), "code");
  const cJSON* message = cJSON_GetObjectItemCaseSensitive(doc.get(), "message");
  int c = cJSON_IsNumber(code) ? code->valueint : 0;
  Logf("%s rejected: %d %s", op, c, cJSON_IsString(message) ? message->valuestring : "");
  if (strcmp(op, "get") == 0) getOutstanding_ = false;  // answered
  // No shadow yet: the first report creates it.
  if (strcmp(op, "get") == 0 && c == 404) Report(nullptr, uptimeMs);
}

void Core::ApplyAndReport(const cJSON* desired, uint64_t uptimeMs) {
  Applied applied = Apply(desired, state_);
  stats_.deltasApplied++;
  stats_.keysIgnored += static_cast<uint32_t>(applied.ignoredTotal);
  stats_.valuesRefused += applied.refusedLed + applied.refusedSetpoint + applied.refusedInterval;
  if (applied.changedLed) port_.SetLed(state_.led);
  if (applied.anyRefused() || applied.ignoredTotal > 0) {
    Logf("desired: %s%s%s%zu unknown key(s) ignored", applied.refusedLed ? "led refused, " : "",
         applied.refusedSetpoint ? "setpoint refused, " : "",
         applied.refusedInterval ? "interval_s refused, " : "", applied.ignoredTotal);
  }
  Report(&applied, uptimeMs);
}

void Core::Report(const Applied* applied, uint64_t uptimeMs) {
  if (!connected_) return;
  nextReportMs_ = uptimeMs + static_cast<uint64_t>(state_.intervalS) * 1000;
  seq_++;
  Vitals vitals = port_.ReadVitals(uptimeMs);
  Counters counters{seq_, uptimeMs / 1000, stats_.dropped, stats_.getUnanswered};
  size_t n = BuildReport(state_, vitals, settings_.id, counters, applied, buf_, sizeof buf_);
  if (n == 0) {
    stats_.reportsTooLarge++;
    Logf("report %llu does not fit in %zu bytes; not sent", static_cast<unsigned long long>(seq_),
         sizeof buf_);
    return;
  }
  stats_.reports++;
  if (!port_.Publish(topics_.update(), buf_, n)) {
    stats_.publishFailures++;
    Logf("report %llu: publish failed", static_cast<unsigned long long>(seq_));
  }
}

void VLogf(Port& port, const char* format, va_list args) {
  char line[256];
  vsnprintf(line, sizeof line, format, args);
  port.Log(line);
}

void Core::Logf(const char* format, ...) {
  va_list args;
  va_start(args, format);
  VLogf(port_, format, args);
  va_end(args);
}

}  // namespace iotcore
