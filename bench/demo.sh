#!/usr/bin/env bash
# Time from starting `iotwatch demo` to the first frame with plotted data
# (target <= 1.5 s), in tmux, over RUNS runs.
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o bin/iotwatch .
sock=iotwatch-bench-$$
for run in $(seq "${RUNS:-5}"); do
  start=$(date +%s%N)
  tmux -L "$sock" new-session -d -s b -x 120 -y 40 "$PWD/bin/iotwatch demo"
  until tmux -L "$sock" capture-pane -p -t b 2>/dev/null | grep -q '┤'; do sleep 0.02; done
  end=$(date +%s%N)
  echo "run $run: first frame with data after $(( (end - start) / 1000000 )) ms"
  tmux -L "$sock" kill-server
  sleep 0.5
done
