#!/usr/bin/env bash
# 1,000 device connections over TLS, each with its own certificate from the
# lab CA, reporting once a second for 60 s to `iotwatch serve` (shadow
# updates, answered on update/accepted); then the same 1,000 publishers to
# Debian's mosquitto broker with the same CA and server certificate
# (require_certificate true) as the baseline, each receiving its publish
# back. Prints reports acknowledged, p50/p99 report→answer and the broker's
# RSS and CPU side by side with ratios (DESIGN.md: >= 1.0 x mosquitto's
# rate, p99 <= 20 ms, flat RSS). Loopback only; N, DURATION, RATE (reports
# per second per device) and PAD (bytes added to each report) override;
# FROZEN=1 adds a subscriber to load-0000's answers that stops reading
# (bench/slowreader.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-1000}
duration=${DURATION:-60s}
# -shared: every device presents the lab's monitor certificate, as serve
# accepts only the certificates in its registry (its own per-device
# certificates would fail the handshake).
load=(-n "$n" -duration "$duration" -rate "${RATE:-1}" -pad "${PAD:-0}" -shared)
scripts/ensure-debs.sh mosquitto
tmp=$(mktemp -d)
trap 'kill -KILL $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT # KILL reaches the stopped reader
ulimit -n "$(( n * 2 + 256 ))" 2>/dev/null || true
go build -o "$tmp/iotwatch" .
go build -o "$tmp/loadgen" ./bench/loadgen
"$tmp/iotwatch" certs init --dir "$tmp/pki" --thing load-0000 >/dev/null

wait_for() { # file text
  for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return; sleep 0.1; done
  echo "load.sh: $1 never said '$2':" >&2; cat "$1" >&2; exit 1
}

# frozen PORT LOG TOPIC...: a mosquitto_sub that subscribes, then stops reading.
frozen() {
  [ "${FROZEN:-}" = 1 ] || return 0
  local port=$1 log=$2; shift 2
  local topics=(); for t in "$@"; do topics+=(-t "$t"); done
  mosquitto_sub -h 127.0.0.1 -p "$port" --cafile "$tmp/pki/ca.pem" --cert "$tmp/pki/monitor.pem" \
    --key "$tmp/pki/monitor.key" -i frozen-reader "${topics[@]}" >/dev/null &
  local sub=$!
  wait_for "$log" "frozen-reader"
  sleep 0.5 # the SUBSCRIBE follows the CONNACK
  kill -STOP "$sub"
}

port=$(( 20000 + RANDOM % 20000 ))
"$tmp/iotwatch" serve --listen "127.0.0.1:$port" --pki "$tmp/pki" 2>"$tmp/serve.log" &
serve=$!
wait_for "$tmp/serve.log" "emulator on"
frozen "$port" "$tmp/serve.log" '$aws/things/load-0000/shadow/update/accepted' '$aws/things/load-0000/shadow/update/documents'
"$tmp/loadgen" -addr "127.0.0.1:$port" -pki "$tmp/pki" "${load[@]}" \
  -pid "$serve" -name "iotwatch serve" -out "$tmp/serve.json"
kill "$serve"; wait "$serve" 2>/dev/null || true
grep -h "frozen-reader: not reading" "$tmp/serve.log" || true

port=$(( port + 1 ))
cat >"$tmp/mosquitto.conf" <<CONF
listener $port 127.0.0.1
cafile $tmp/pki/ca.pem
certfile $tmp/pki/server.pem
keyfile $tmp/pki/server.key
require_certificate true
allow_anonymous true
persistence false
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
CONF
[ "$(id -u)" -eq 0 ] && echo "user root" >>"$tmp/mosquitto.conf" # to read the 0600 keys
/usr/sbin/mosquitto -c "$tmp/mosquitto.conf" 2>"$tmp/mosquitto.log" &
mosq=$!
wait_for "$tmp/mosquitto.log" "running"
frozen "$port" "$tmp/mosquitto.log" bench/load-0000
"$tmp/loadgen" -addr "127.0.0.1:$port" -pki "$tmp/pki" "${load[@]}" -shadow=false \
  -pid "$mosq" -name mosquitto -out "$tmp/mosquitto.json"
kill "$mosq"; wait "$mosq" 2>/dev/null || true

"$tmp/loadgen" -compare "$tmp/serve.json" "$tmp/mosquitto.json"
