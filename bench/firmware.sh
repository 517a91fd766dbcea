#!/usr/bin/env bash
# Desired → applied → reported round trip through the emulator on loopback for
# the firmware's host build (fw-host), side by side with the Go simulated
# device as baseline, and their ratio (target p50 <= 5 ms, p99 <= 20 ms).
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(go test -run '^$' -bench FirmwareRoundTrip -benchtime "${N:-300}x" -count "${COUNT:-3}" .)
echo "$out" | grep -E '^Benchmark'
echo "$out" | awk '
  function metric(unit) { for (i = 1; i <= NF; i++) if ($(i+1) == unit) return $i }
  /device=fw-host/   { f50 += metric("p50-ms"); f99 += metric("p99-ms"); nf++ }
  /device=devicesim/ { s50 += metric("p50-ms"); s99 += metric("p99-ms"); ns++ }
  END {
    printf "fw-host   p50 %.2f ms  p99 %.2f ms\n", f50/nf, f99/nf
    printf "devicesim p50 %.2f ms  p99 %.2f ms\n", s50/ns, s99/ns
    printf "ratio fw-host/devicesim p50 %.2f  p99 %.2f\n", (f50/nf)/(s50/ns), (f99/nf)/(s99/ns)
  }'
