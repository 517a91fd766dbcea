#!/usr/bin/env bash
# A subscriber that stops reading (a frozen mosquitto_sub on load-0000's
# update/accepted and update/documents) while the device reports 7 KB at
# AWS's 100/s for 30 s: serve's RSS stays flat, as the emulator disconnects
# the reader past its 1 MiB write budget; beside Debian's mosquitto with the
# same frozen subscriber on the echo topic. See bench/load.sh.
set -euo pipefail
N=1 RATE=100 PAD=7000 DURATION=${DURATION:-30s} FROZEN=1 exec "$(dirname "$0")/load.sh"
