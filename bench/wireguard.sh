#!/usr/bin/env bash
# Single-stream iperf3 through a WireGuard tunnel whose client end is Debian's wireguard-go, in one run:
#   reference   wireguard-go -> wireguard-go + the Linux kernel's stack (iperf3 server on the far
#               tunnel address, in the far namespace)
#   loomstack   wireguard-go -> Loomstack, the service jar with loomstack.link=wireguard (Loomstack
#               is the far end of the tunnel itself; iperf3 server on its 127.0.0.1, reached through
#               the own-address path 100.64.0.1)
# Both tunnels run over a veth pair (198.19.0.2 -> 198.19.0.1) with an inner MTU of 1280. Prints
# one line per path with Gbit/s up (client -> server) and down (iperf3 -R), then Loomstack's
# WireGuard counters.
#
# Needs root, /dev/net/tun, wireguard-go, wg (wireguard-tools), iperf3, curl, python3 and a JDK 25.
# Uses namespaces and devices named lswb<pid>*; removes them and stops everything it started on
# exit. Run it under the shared lock, built beforehand so the lock is not held for the build:
#   ./mvnw -B -ntp -q package -DskipTests
#   SKIP_BUILD=1 flock /tmp/loomstack-nettest.lock bash bench/wireguard.sh
# Usage: [SKIP_BUILD=1] [ROUTER=jar|main] [KEEP_LOGS=1] [JAVA_OPTS=...] bash bench/wireguard.sh [seconds per iperf3 run]
# KEEP_LOGS=1 keeps Loomstack's and wireguard-go's logs (the directory is named at the end).
# ROUTER=main runs dev.loomstack.testing.WireGuardBenchRouter (target/test-classes) instead of the
# service: the same engine and link, configured without the admin API.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

SECONDS_PER_RUN="${1:-10}"
# jar: the service jar in wireguard mode, configured over REST; main: WireGuardBenchRouter from the
# test classes (the engine on the link, no service).
ROUTER="${ROUTER:-jar}"
MTU=1280
P="lswb$$"
C="${P}c"   # Loomstack's client: wireguard-go
R="${P}r"   # Loomstack (the service jar), its iperf3 server on 127.0.0.1
K="${P}k"   # the reference's client: wireguard-go
S="${P}s"   # the reference's server: wireguard-go and the kernel, its iperf3 server on 100.64.0.1
WG_PORT=51820
IPERF_PORT=5201
API_PORT=18080
MGMT_PORT=18081
JDK="$(ls -d /usr/lib/jvm/temurin-25* | head -1)"
WORK="$(mktemp -d "/tmp/$P.XXXXXX")"
STATE="$WORK/state"
LOG="$WORK/loomstack.log"
PIDS=()

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  ./mvnw -B -ntp -q package -DskipTests
fi
[[ "$ROUTER" == main && ! -f target/test-classes/dev/loomstack/testing/WireGuardBenchRouter.class ]] \
  && { echo "no WireGuardBenchRouter in target/test-classes (build the test classes)" >&2; exit 1; }
JAR="$(ls target/loomstack-*.jar | grep -v -e original -e plain | head -1)"


cleanup() {
  set +e
  say "cleaning up"
  stop_started
  for ns in "$C" "$R" "$K" "$S"; do ip netns del "$ns" 2>/dev/null; done
  for dev in "${C}w" "${K}w" "${S}w"; do rm -f "/var/run/wireguard/$dev.sock"; done
  if [[ -n "${KEEP_LOGS:-}" ]]; then say "logs kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# Namespaces $1 (198.19.0.2) and $2 (198.19.0.1) joined by a veth pair.
veth_pair() {
  ip netns add "$1"
  ip netns add "$2"
  ip link add "${1}v" netns "$1" type veth peer name "${2}v" netns "$2"
  for ns in "$1" "$2"; do ip -n "$ns" link set lo up; done
  ip -n "$1" addr add 198.19.0.2/24 dev "${1}v"
  ip -n "$2" addr add 198.19.0.1/24 dev "${2}v"
  ip -n "$1" link set "${1}v" up
  ip -n "$2" link set "${2}v" up
}

# A key pair in $WORK/$1.key / $1.pub.
keys() {
  (umask 077; wg genkey >"$WORK/$1.key")
  wg pubkey <"$WORK/$1.key" >"$WORK/$1.pub"
}

# wireguard-go in namespace $1 as device ${1}w with key $1.key on $WG_PORT, tunnel address $2, its
# one peer $3 (public key) at endpoint $4 with allowed IPs $5.
wireguard_go() {
  local ns="$1" dev="${1}w"
  ip netns exec "$ns" wireguard-go -f "$dev" >"$WORK/$dev.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 1 100); do [[ -S "/var/run/wireguard/$dev.sock" ]] && break; sleep 0.1; done
  ip netns exec "$ns" wg set "$dev" private-key "$WORK/$ns.key" listen-port "$WG_PORT" \
    peer "$3" endpoint "$4" allowed-ips "$5"
  ip -n "$ns" link set "$dev" mtu "$MTU" up
  ip -n "$ns" addr add "$2/32" dev "$dev"
  ip -n "$ns" route add 100.64.0.0/10 dev "$dev" src "$2"
}

# Waits up to 10 s for a TCP listener on port $2 in namespace $1.
wait_for_listener() {
  for _ in $(seq 1 100); do
    ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return
    sleep 0.1
  done
  echo "nothing listens on port $2 in $1" >&2; return 1
}

# One single-stream iperf3 run from namespace $1 to 100.64.0.1 (more options after); prints Gbit/s.
# Retried once: the server may still be closing the run before.
iperf() {
  local ns="$1"; shift
  local out
  for _ in 1 2; do
    out=$(ip netns exec "$ns" timeout $((SECONDS_PER_RUN + 20)) iperf3 -c 100.64.0.1 -p "$IPERF_PORT" \
          -t "$SECONDS_PER_RUN" -J "$@" 2>/dev/null \
        | python3 -c 'import json,sys; print("%.2f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))' \
        2>/dev/null) && { echo "$out"; return; }
    sleep 1
  done
  echo "0"
}

# A short warm-up run from namespace $1, retried while the far end is not answering yet.
warm_up() {
  for _ in $(seq 1 20); do
    ip netns exec "$1" timeout 15 iperf3 -c 100.64.0.1 -p "$IPERF_PORT" -t 3 >/dev/null 2>&1 && return
    sleep 1
  done
  echo "no iperf3 run through the tunnel from $1 succeeded" >&2; return 1
}

api() {
  local method="$1" path="$2"; shift 2
  ip netns exec "$R" curl -sS -f -m 10 -X "$method" "http://127.0.0.1:$API_PORT$path" \
    -H "Authorization: Bearer $(cat "$STATE/admin-token")" -H 'Content-Type: application/json' "$@"
}

# ---- reference: wireguard-go -> wireguard-go + kernel --------------------------------------------
say "reference: wireguard-go -> wireguard-go + kernel"
veth_pair "$K" "$S"
keys "$K"
keys "$S"
wireguard_go "$S" 100.64.0.1 "$(cat "$WORK/$K.pub")" "198.19.0.2:$WG_PORT" 100.64.0.2/32
wireguard_go "$K" 100.64.0.2 "$(cat "$WORK/$S.pub")" "198.19.0.1:$WG_PORT" 100.64.0.0/10
background ip netns exec "$S" iperf3 -s -B 100.64.0.1 -p "$IPERF_PORT"
wait_for_listener "$S" "$IPERF_PORT"
warm_up "$K"
REF_UP=$(iperf "$K")
REF_DOWN=$(iperf "$K" -R)
say "reference: up $REF_UP, down $REF_DOWN Gbit/s"
# Gone before Loomstack runs, so the two never share the CPUs.
ip netns del "$K"
ip netns del "$S"

# ---- Loomstack: wireguard-go -> Loomstack's WireGuard link ----------------------------------------
veth_pair "$C" "$R"
keys "$C"
JAVA_ARGS=()
# shellcheck disable=SC2206
[[ -n "${JAVA_OPTS:-}" ]] && JAVA_ARGS+=($JAVA_OPTS)
if [[ "$ROUTER" == jar ]]; then
  say "Loomstack: starting $JAR with loomstack.link=wireguard"
  mkdir -p "$STATE"
  ip netns exec "$R" "$JDK/bin/java" "${JAVA_ARGS[@]}" -jar "$JAR" \
    --loomstack.link=wireguard --loomstack.wireguard.listen-port="$WG_PORT" \
    --loomstack.state-dir="$STATE" --server.port="$API_PORT" --management.server.port="$MGMT_PORT" >"$LOG" 2>&1 &
  APP=$!
  for _ in $(seq 1 300); do
    ip netns exec "$R" curl -sf -m 2 "http://127.0.0.1:$MGMT_PORT/actuator/health/readiness" >/dev/null 2>&1 && break
    kill -0 "$APP" 2>/dev/null || break
    sleep 0.2
  done
  ip netns exec "$R" curl -sf -m 2 "http://127.0.0.1:$MGMT_PORT/actuator/health/readiness" >/dev/null \
    || { echo "Loomstack did not become ready; its log:" >&2; cat "$LOG" >&2; exit 1; }
  ROUTER_KEY=$(api GET /api/v1/wireguard | python3 -c 'import json,sys; print(json.load(sys.stdin)["publicKey"])')
  api PUT /api/v1/netmap -d '{
    "selfNode":{"name":"router-1","addresses":["100.64.0.1/32"],"allowedIPs":["100.64.0.1/32"]},
    "peers":[{"name":"client","addresses":["100.64.0.2/32"],"publicKey":"'"$(cat "$WORK/$C.pub")"'",
              "endpoint":"198.19.0.2:'"$WG_PORT"'"}],
    "domain":"tail.example"}' >/dev/null
else
  # The engine and link without the service, from the same jar's classes and libraries.
  say "Loomstack: starting WireGuardBenchRouter (the engine on a WireGuardLink, no service)"
  ip netns exec "$R" "$JDK/bin/java" "${JAVA_ARGS[@]}" --enable-native-access=ALL-UNNAMED -cp "$JAR" \
    -Dloader.path="$PWD/target/test-classes" -Dloader.main=dev.loomstack.testing.WireGuardBenchRouter \
    org.springframework.boot.loader.launch.PropertiesLauncher \
    "198.19.0.1:$WG_PORT" "$(cat "$WORK/$C.pub")" "198.19.0.2:$WG_PORT" "$MTU" >"$LOG" 2>&1 &
  APP=$!
  for _ in $(seq 1 300); do
    grep -q '^public-key ' "$LOG" && break
    kill -0 "$APP" 2>/dev/null || break
    sleep 0.2
  done
  ROUTER_KEY=$(awk '/^public-key / { print $2 }' "$LOG")
  [[ -n "$ROUTER_KEY" ]] || { echo "WireGuardBenchRouter did not start; its log:" >&2; cat "$LOG" >&2; exit 1; }
fi
wireguard_go "$C" 100.64.0.2 "$ROUTER_KEY" "198.19.0.1:$WG_PORT" 100.64.0.0/10
background ip netns exec "$R" iperf3 -s -B 127.0.0.1 -p "$IPERF_PORT"
wait_for_listener "$R" "$IPERF_PORT"
# The warm-up also lets the JIT compile the hot path before measuring.
warm_up "$C"
warm_up "$C"
say "Loomstack: iperf3"
LS_UP=$(iperf "$C")
LS_DOWN=$(iperf "$C" -R)
COUNTERS=$([[ "$ROUTER" == jar ]] && ip netns exec "$R" curl -s -m 10 "http://127.0.0.1:$MGMT_PORT/actuator/netstack" 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
print(", ".join("%s %s" % (k[len("counter_wireguard_"):], v) for k, v in sorted(d.items())
                if k.startswith("counter_wireguard_") and v))' || true)

say "done"
# ---- the table --------------------------------------------------------------------------------------
printf '\nMTU %d, %s s per single-stream iperf3 run, %s CPUs, wireguard-go %s, %s, %s\n' "$MTU" "$SECONDS_PER_RUN" \
  "$(nproc)" "$(wireguard-go --version 2>/dev/null | head -1 | awk '{print $2}')" "$(date -u '+%Y-%m-%d %H:%M UTC')" \
  "$(git log -1 --format='%h %s' 2>/dev/null | cut -c1-50)"
printf '%-54s %6s %6s\n' "path" "up" "down"
printf '%-54s %6s %6s\n' "wireguard-go -> wireguard-go + kernel" "$REF_UP" "$REF_DOWN"
LS_LABEL=$([[ "$ROUTER" == jar ]] && echo "wireguard-go -> Loomstack (loomstack.link=wireguard)" \
  || echo "wireguard-go -> Loomstack (engine on WireGuardLink)")
printf '%-54s %6s %6s\n' "$LS_LABEL" "$LS_UP" "$LS_DOWN"
echo "(Gbit/s; up: client -> server, down: iperf3 -R)"
[[ -n "$COUNTERS" ]] && echo "Loomstack: $COUNTERS"
exit 0
