#!/usr/bin/env bash
# Idle cost of watching one device that reports once a second: CPU of
# `iotwatch watch` (in tmux at 160x50), `iotwatch soak` and `mosquitto_sub` on
# the same topics of the same simulated device over SECONDS_TO_MEASURE (default
# 60), side by side, with watch's ratio to each (target: watch <= 0.3 % of a
# core). With STRACE=1 it then counts watch's system calls over 10 s
# (strace -c -f), the wakeups behind that figure.
#
# The process measured is the one tmux started in its pane (#{pane_pid}, or
# that shell's child), checked by its /proc/PID/cmdline: `pgrep -f` on the
# command's words matches the tmux server first, whose command line holds
# the same words, and would measure tmux.
set -euo pipefail
cd "$(dirname "$0")/.."
go build -o bin/iotwatch .
bin="$PWD/bin/iotwatch"
secs=${SECONDS_TO_MEASURE:-60}
lab=$(mktemp -d)
sock=iotwatch-idle-$$
pids=()
cleanup() {
  tmux -L "$sock" kill-server 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$lab"
}
trap cleanup EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$bin" certs init --dir "$lab" --thing idle >/dev/null
sed -i "s/port = 8883/port = $port/" "$lab/watch.toml" "$lab/device.toml"
"$bin" serve --pki "$lab" --listen "127.0.0.1:$port" 2>"$lab/serve.log" & pids+=($!)
until grep -qs 'emulator on' "$lab/serve.log"; do sleep 0.05; done
"$bin" sim -c "$lab/device.toml" --interval 1s 2>"$lab/sim.log" & pids+=($!)
tmux -L "$sock" new-session -d -s w -x 160 -y 50 "exec $bin watch -c $lab/watch.toml"
"$bin" soak -c "$lab/watch.toml" --duration $((secs + 40))s >/dev/null 2>&1 & soak=$!; pids+=($soak)
topics=(-t '$aws/things/idle/shadow/update/accepted' -t '$aws/things/idle/shadow/update/documents'
  -t '$aws/things/idle/shadow/update/delta' -t '$aws/things/idle/shadow/get/accepted'
  -t '$aws/events/presence/connected/idle' -t '$aws/events/presence/disconnected/idle')
mosquitto_sub -h 127.0.0.1 -p "$port" --cafile "$lab/ca.pem" --cert "$lab/monitor.pem" --key "$lab/monitor.key" \
  -i idle-bench-sub -q 1 "${topics[@]}" >/dev/null 2>&1 & sub=$!; pids+=($sub)
sleep 5 # connected, first frames drawn

# cmdline PID: the process's arguments, one per line.
cmdline() { tr '\0' '\n' <"/proc/$1/cmdline"; }
is_watch() { [ "$(cmdline "$1" | head -2 | paste -sd' ')" = "$bin watch" ]; }
watch=$(tmux -L "$sock" display-message -p -t w '#{pane_pid}')
if ! is_watch "$watch"; then # a shell between tmux and iotwatch
  watch=$(pgrep -P "$watch" | while read -r c; do is_watch "$c" && echo "$c"; done | head -1)
fi
if [ -z "$watch" ] || ! is_watch "$watch"; then
  echo "idle.sh: iotwatch watch is not running in the tmux pane:" >&2
  tmux -L "$sock" capture-pane -p -t w >&2
  exit 1
fi
echo "measuring watch PID $watch: $(cmdline "$watch" | paste -sd' ')"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
declare -A before
for p in "$watch" "$soak" "$sub"; do before[$p]=$(ticks "$p"); done
sleep "$secs"
pct() { awk -v a="${before[$1]}" -v b="$(ticks "$1")" -v hz="$hz" -v s="$secs" 'BEGIN {printf "%.3f", (b - a) / hz / s * 100}'; }
w=$(pct "$watch"); s=$(pct "$soak"); m=$(pct "$sub")
printf '%-14s %8s\n' "over ${secs}s" "% core"
printf '%-14s %8s\n' watch "$w" soak "$s" mosquitto_sub "$m"
awk -v w="$w" -v s="$s" -v m="$m" 'BEGIN {
  printf "watch/soak %s   watch/mosquitto_sub %s   (target: watch <= 0.3 %%: %s)\n",
    (s > 0 ? sprintf("%.1f", w / s) : "–"), (m > 0 ? sprintf("%.1f", w / m) : "–"), (w <= 0.3 ? "met" : "NOT met") }'
if [ "${STRACE:-0}" = 1 ]; then
  echo "system calls of watch over 10 s (strace -c -f):"
  timeout -s INT 10 strace -c -f -S calls -p "$watch" 2>&1 | grep -vE '^strace: Process' | head -14 || true
fi
