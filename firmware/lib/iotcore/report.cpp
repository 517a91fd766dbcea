#include "report.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace iotcore {
namespace {

// AddNumber adds v printed with the fewest digits that read back as exactly
// v. cJSON's own printing may drop the last bit (it accepts 15 digits within
// an epsilon), and a reported setpoint one bit off the desired one would
// leave a delta that never clears.
void AddNumber(cJSON* object, const char* key, double v) {
  char text[32];
  for (int digits = 15; digits <= 17; digits++) {
    snprintf(text, sizeof text, "%.*g", digits, v);
    if (strtod(text, nullptr) == v) break;
  }
  cJSON_AddRawToObject(object, key, text);
}

// AddOptional adds v, or null when it is not known.
template <typename T>
void AddOptional(cJSON* object, const char* key, const std::optional<T>& v) {
  if (v) {
    cJSON_AddNumberToObject(object, key, static_cast<double>(*v));
  } else {
    cJSON_AddNullToObject(object, key);
  }
}

cJSON* Reported(const State& s, const Vitals& v, const Identity& id, const Counters& c) {
  cJSON* r = cJSON_CreateObject();
  AddNumber(r, "temp", v.temp);
  cJSON_AddNumberToObject(r, "seq", static_cast<double>(c.seq));
  cJSON_AddNumberToObject(r, "uptime_s", static_cast<double>(c.uptimeS));
  cJSON_AddNumberToObject(r, "interval_s", s.intervalS);
  cJSON_AddBoolToObject(r, "led", s.led);
  AddNumber(r, "setpoint", s.setpoint);
  cJSON_AddNumberToObject(r, "rssi", v.rssi);
  AddOptional(r, "heap_free", v.heapFree);
  AddOptional(r, "heap_min_free", v.heapMinFree);
  AddOptional(r, "heap_largest_block", v.heapLargestBlock);
  if (v.heapUsed) AddOptional(r, "heap_used", v.heapUsed);
  cJSON_AddStringToObject(r, "fw", id.fw);
  cJSON_AddStringToObject(r, "reset_reason", id.resetReason);
  cJSON_AddNumberToObject(r, "dropped", c.dropped);
  cJSON_AddNumberToObject(r, "get_unanswered", c.getUnanswered);
  return r;
}

// Corrections sets desired to the value in use for every refused key and
// deletes (null) the listed unknown keys, so that the delta clears.
cJSON* Corrections(const State& s, const Applied& a, bool withIgnored) {
  cJSON* d = cJSON_CreateObject();
  if (a.refusedLed) cJSON_AddBoolToObject(d, "led", s.led);
  if (a.refusedSetpoint) AddNumber(d, "setpoint", s.setpoint);
  if (a.refusedInterval) cJSON_AddNumberToObject(d, "interval_s", s.intervalS);
  for (size_t i = 0; withIgnored && i < a.ignoredCount; i++) cJSON_AddNullToObject(d, a.ignored[i]);
  if (d != nullptr && d->child == nullptr) {
    cJSON_Delete(d);
    return nullptr;
  }
  return d;
}

size_t Print(cJSON* doc, char* buf, size_t cap) {
  // cJSON_PrintPreallocated may need 5 bytes more than the output, so it is
  // given less than cap and the length is checked against cap afterwards.
  if (cap < 8 || !cJSON_PrintPreallocated(doc, buf, static_cast<int>(cap - 5), false)) return 0;
  return strlen(buf);
}

size_t Build(const State& s, const Vitals& v, const Identity& id, const Counters& c,
             const Applied* applied, bool withIgnored, char* buf, size_t cap) {
  Owned doc(cJSON_CreateObject());
  cJSON* state = cJSON_AddObjectToObject(doc.get(), "state");
  cJSON* reported = Reported(s, v, id, c);
  if (!cJSON_AddItemToObject(state, "reported", reported)) cJSON_Delete(reported);
  if (applied != nullptr) {
    if (withIgnored && applied->ignoredCount > 0) {
      cJSON* names = cJSON_AddArrayToObject(reported, "ignored");
      for (size_t i = 0; i < applied->ignoredCount; i++) {
        cJSON_AddItemToArray(names, cJSON_CreateString(applied->ignored[i]));
      }
    }
    if (cJSON* desired = Corrections(s, *applied, withIgnored)) {
      if (!cJSON_AddItemToObject(state, "desired", desired)) cJSON_Delete(desired);
    }
  }
  return Print(doc.get(), buf, cap);
}

}  // namespace

size_t BuildReport(const State& state, const Vitals& vitals, const Identity& id, const Counters& c,
                   const Applied* applied, char* buf, size_t cap) {
  size_t n = Build(state, vitals, id, c, applied, true, buf, cap);
  if (n == 0 && applied != nullptr && applied->ignoredCount > 0) {
    n = Build(state, vitals, id, c, applied, false, buf, cap);
  }
  if (n == 0 && cap > 0) buf[0] = '\0';
  return n;
}

}  // namespace iotcore
