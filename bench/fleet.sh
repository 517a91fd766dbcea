#!/usr/bin/env bash
# Scale figures for many things, on loopback only, bounded in count and time:
#  1. `iotwatch serve` holding N (default 10,000) TLS connections, each a thing
#     reporting every 10 s to its shadow: connections held, update round trip
#     p50/p99 (publish → update/accepted), serve's CPU and RSS over the steady
#     window; beside Debian's mosquitto holding the same N TLS connections with
#     the same publishes (round trip: publish → its own echo) as the baseline.
#  2. iotwatch's ingest through a multi-thing connection (awsconn.Fleet) for
#     1,000 things, beside one mosquitto_sub on the wildcard (BenchmarkFleetIngest).
#  3. the fleet screen: a frame at 160x50 with 1,000 things (BenchmarkFleetView1000,
#     target <= 5 ms) beside the single-thing frame (BenchmarkView1h10Hz), and the
#     RSS after 24 h of accelerated 1 Hz history for 1,000 things
#     (BenchmarkFleetRSS24h, target <= 300 MB).
# N=2000 STEADY=30s for a quick run; INGEST=0 skips part 2, SCREEN=0 part 3;
# SCREEN_ONLY=1 runs part 3 alone; SERVE_GOGC=50 runs serve with that GOGC.
set -euo pipefail
cd "$(dirname "$0")/.."
screen() {
  echo "fleet screen: a frame at 160x50, 1,000 things beside one thing; RSS after 24 h of 1 Hz history for 1,000 things"
  go test -run '^$' -bench 'FleetView1000|View1h10Hz' -benchtime 2s -count 1 ./tui | grep -E '^Benchmark'
  go test -run '^$' -bench FleetRSS24h -benchtime 1x -count 1 -timeout 30m ./tui | grep -E '^Benchmark'
}
if [ "${SCREEN_ONLY:-0}" = 1 ]; then screen; exit; fi
N=${N:-10000} STEADY=${STEADY:-60s} INTERVAL=${INTERVAL:-10s}
need=$((N + 512))
if [ "$(ulimit -n)" -lt "$need" ]; then
  ulimit -n "$need" 2>/dev/null || { echo "fleet.sh: ulimit -n is $(ulimit -n), $need needed for N=$N (raise it or lower N)" >&2; exit 1; }
fi
PATH=$PATH:/usr/sbin # Debian's mosquitto, for users whose PATH lacks sbin
command -v mosquitto >/dev/null || { echo "fleet.sh: mosquitto not found: apt install mosquitto" >&2; exit 1; }
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/iotwatch" . && go build -o "$work/fleetload" ./bench/fleetload
"$work/iotwatch" certs init --dir "$work/lab" --thing bench >/dev/null
freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; echo "fleet.sh: nothing on port $1" >&2; exit 1; }

port=$(freeport)
env ${SERVE_GOGC:+GOGC=$SERVE_GOGC} "$work/iotwatch" serve --pki "$work/lab" --listen "127.0.0.1:$port" --api-listen "" >"$work/serve.log" 2>&1 &
pids+=($!); serve=$!
wait_port "$port"
echo "serve: $N things every $INTERVAL, steady $STEADY"
ours=$("$work/fleetload" -addr "127.0.0.1:$port" -pki "$work/lab" -n "$N" -interval "$INTERVAL" -steady "$STEADY" -pid "$serve" -reply /update/accepted)
echo "  $ours"
kill "$serve"

port=$(freeport)
cat >"$work/mosquitto.conf" <<CONF
per_listener_settings false
listener $port 127.0.0.1
cafile $work/lab/ca.pem
certfile $work/lab/server.pem
keyfile $work/lab/server.key
require_certificate true
allow_anonymous true
max_connections -1
persistence false
log_dest stderr
log_type error
user $(id -un)
CONF
mosquitto -c "$work/mosquitto.conf" 2>"$work/mosquitto.log" &
pids+=($!); mosq=$!
wait_port "$port"
echo "mosquitto $(mosquitto -h 2>/dev/null | head -1 | awk '{print $3}'): the same $N TLS connections and publishes"
theirs=$("$work/fleetload" -addr "127.0.0.1:$port" -pki "$work/lab" -n "$N" -interval "$INTERVAL" -steady "$STEADY" -pid "$mosq" -reply /update)
echo "  $theirs"
kill "$mosq"

python3 - "$ours" "$theirs" <<'PY'
import json, sys
a, m = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"held: serve {a['held']}/{a['connections']}  mosquitto {m['held']}/{m['connections']}")
print(f"round trip p99: serve {a['p99_ms']:.1f} ms (shadow update → accepted)  mosquitto {m['p99_ms']:.1f} ms (echo)  ratio {a['p99_ms']/max(m['p99_ms'],1e-3):.1f}")
print(f"RSS: serve {a['broker_rss_mb']:.0f} MB  mosquitto {m['broker_rss_mb']:.0f} MB  ratio {a['broker_rss_mb']/max(m['broker_rss_mb'],1e-3):.1f}  ({a['broker_rss_mb']*1024/max(a['connections'],1):.0f} KB per connection)")
print(f"CPU (one core): serve {a['broker_cpu_percent']:.1f}%  mosquitto {m['broker_cpu_percent']:.1f}%  ratio {a['broker_cpu_percent']/max(m['broker_cpu_percent'],1e-3):.1f}")
PY

if [ "${INGEST:-1}" != 0 ]; then
  echo "ingest: 1,000 things through awsconn.Fleet beside mosquitto_sub on the wildcard"
  out=$(go test -run '^$' -bench FleetIngest -benchtime "${INGEST_N:-20000}x" -count 1 -timeout 10m ./awsconn)
  echo "$out" | grep -E '^Benchmark'
fi

if [ "${SCREEN:-1}" != 0 ]; then screen; fi
