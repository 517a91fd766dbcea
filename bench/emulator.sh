#!/usr/bin/env bash
# Shadow updates per second through the emulator over 100 things, side by side
# with plain publishes on the same broker, and their ratio (target >= 0.5,
# and >= 10k updates/s).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-20000}
out=$(go test -run '^$' -bench 'ShadowUpdates|PlainPublish' -benchtime "${n}x" -count "${COUNT:-3}" ./localiot)
echo "$out" | grep -E '^Benchmark'
echo "$out" | awk '
  /ShadowUpdates/ { for (i = 1; i <= NF; i++) if ($(i+1) == "msgs/s") { s += $i; ns++ } }
  /PlainPublish/  { for (i = 1; i <= NF; i++) if ($(i+1) == "msgs/s") { p += $i; np++ } }
  END { printf "shadow updates/s %.0f\nplain publishes/s %.0f\nratio %.2f\n", s/ns, p/np, (s/ns)/(p/np) }'
