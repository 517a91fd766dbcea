#!/usr/bin/env bash
# A flood of shadow reports through the emulator on loopback, received side by
# side by iotwatch's connection and by Debian's mosquitto_sub: zero loss, and
# iotwatch at least mosquitto_sub's rate (ratio >= 1 within noise).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(go test -run '^$' -bench Flood -benchtime "${N:-20000}x" -count "${COUNT:-3}" ./awsconn)
echo "$out" | grep -E '^Benchmark'
echo "$out" | awk '
  function metric(unit) { for (i = 1; i <= NF; i++) if ($(i+1) == unit) return $i }
  /^BenchmarkFlood/ { a += metric("iotwatch-msgs/s"); m += metric("mosquitto_sub-msgs/s"); lost += metric("lost"); n++ }
  END { printf "iotwatch %.0f msgs/s  mosquitto_sub %.0f msgs/s  ratio %.2f  lost %d\n", a/n, m/n, (a/n)/(m/n), lost }'
