#!/usr/bin/env bash
# Single-stream iperf3 through Loomstack's TUN, both directions.
# Prints Gbit/s for each direction and the CPU seconds the Loomstack process used.
# Needs root, /dev/net/tun and iperf3. Usage: bash bench/iperf3.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
SECONDS_PER_RUN="${1:-10}"
DEV="lsbench$$"
NS="lsbench$$"
PORT=5201
JAVA="$(ls -d /usr/lib/jvm/temurin-25*/bin/java | head -1)"

./mvnw -B -ntp -q package -DskipTests
JAR="$(ls target/loomstack-*.jar | grep -v original | head -1)"

cleanup() {
  [[ -n "${APP:-}" ]] && kill "$APP" 2>/dev/null && wait "$APP" 2>/dev/null || true
  [[ -n "${SERVER:-}" ]] && kill "$SERVER" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
}
trap cleanup EXIT

"$JAVA" --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -jar "$JAR" \
  --loomstack.tun.name="$DEV" --server.port=0 --management.server.port=0 >"/tmp/$DEV.log" 2>&1 &
APP=$!
wait_for_device "$DEV"
client_namespace "$NS" "$DEV"

iperf3 -s -B 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
SERVER=$!
sleep 0.5

cpu() { awk '{print $14 + $15}' "/proc/$APP/stat"; }
TICKS=$(getconf CLK_TCK)

run() {
  local label="$1"; shift
  local before after gbps
  before=$(cpu)
  gbps=$(ip netns exec "$NS" iperf3 -c 100.64.0.1 -p "$PORT" -t "$SECONDS_PER_RUN" -J "$@" \
    | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.2f" % (d["end"]["sum_received"]["bits_per_second"]/1e9))')
  after=$(cpu)
  printf '%-32s %6s Gbit/s   Loomstack CPU %.1f s over %s s\n' "$label" "$gbps" \
    "$(awk -v a="$after" -v b="$before" -v t="$TICKS" 'BEGIN{print (a-b)/t}')" "$SECONDS_PER_RUN"
}

# A short warm-up so the JIT has compiled the hot path before measuring.
ip netns exec "$NS" iperf3 -c 100.64.0.1 -p "$PORT" -t 3 >/dev/null
run "client -> Loomstack (kernel sends)"
run "Loomstack -> client (Loomstack sends)" -R
