#include "state.h"

#include <cmath>
#include <cstring>

namespace iotcore {
namespace {

bool AsSetpoint(const cJSON* v, double* out) {
  if (!cJSON_IsNumber(v) || !std::isfinite(v->valuedouble)) return false;
  if (v->valuedouble < kMinSetpoint || v->valuedouble > kMaxSetpoint) return false;
  *out = v->valuedouble;
  return true;
}

bool AsInterval(const cJSON* v, int* out) {
  if (!cJSON_IsNumber(v)) return false;
  double d = v->valuedouble;
  if (!(d >= kMinIntervalS && d <= kMaxIntervalS) || d != std::trunc(d)) return false;
  *out = static_cast<int>(d);
  return true;
}

void Ignore(const char* key, Applied& out) {
  out.ignoredTotal++;
  if (out.ignoredCount == kMaxIgnored || strlen(key) > kMaxKeyLen) return;
  strcpy(out.ignored[out.ignoredCount++], key);
}

}  // namespace

Applied Apply(const cJSON* desired, State& state) {
  Applied out;
  if (!cJSON_IsObject(desired)) return out;
  for (const cJSON* v = desired->child; v != nullptr; v = v->next) {
    const char* key = v->string != nullptr ? v->string : "";
    if (strcmp(key, "led") == 0) {
      if (cJSON_IsBool(v)) {
        bool on = cJSON_IsTrue(v);
        out.changedLed = out.changedLed || on != state.led;
        state.led = on;
      }
      out.refusedLed = !cJSON_IsBool(v);
    } else if (strcmp(key, "setpoint") == 0) {
      out.refusedSetpoint = !AsSetpoint(v, &state.setpoint);
    } else if (strcmp(key, "interval_s") == 0) {
      int before = state.intervalS;
      out.refusedInterval = !AsInterval(v, &state.intervalS);
      out.changedInterval = out.changedInterval || before != state.intervalS;
    } else {
      Ignore(key, out);
    }
  }
  return out;
}

}  // namespace iotcore
