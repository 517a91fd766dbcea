#!/usr/bin/env bash
# View cost at 160x50 with 1 h of 10 Hz history beside 7 days of 1 Hz (target
# <= 2 ms and flat), monitor ingest (>= 200k msgs/s), 7-day memory (<= 60 MB),
# and the desired -> reported round trip through emulator and simulator
# (p50 <= 5 ms, p99 <= 20 ms).
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench 'View' -benchtime 300x ./tui | grep -E '^Benchmark' | tee /tmp/iotwatch-view.txt
awk '/1h10Hz/ {a=$3} /7d1Hz/ {b=$3} END {printf "view 7d/1h ratio %.2f\n", b/a}' /tmp/iotwatch-view.txt
go test -run '^$' -bench 'ApplyReport|SevenDays' -benchtime 1s ./monitor | grep -E '^Benchmark'
go test -run '^$' -bench RoundTrip -benchtime 500x ./devicesim | grep -E '^Benchmark'
