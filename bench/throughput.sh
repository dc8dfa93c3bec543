#!/usr/bin/env bash
# Loomstack's throughput, connection rate, held flows and CPU cost, with the kernel over a veth pair
# as the baseline, measured in one run on this machine (MTU 1280). Prints one table:
#   up / down / v6-up    single-stream iperf3 Gbit/s through the own-address path (client -> 100.64.0.1
#                        or fd7a:115c:a1e0::1 -> Loomstack -> 127.0.0.1 / ::1); down is iperf3 -R
#   4-up                 iperf3 -P 4 up, Gbit/s (all four streams together)
#   conns/s (failed)     short connections per second through the own-address path (32 dialers,
#                        connect, 1 byte each way, close) and how many failed
#   held: time           FLOWS idle forwarded flows opened, each echoing once (seconds until all are open)
#   heap / RSS           Loomstack's used heap after a full GC, and its RSS, while they are held
#   CPU s/GB             Loomstack's user+system CPU seconds over the four iperf3 runs per GB they moved
# and, under the table, the heap per held flow and the link's offload counters.
#
# Needs root, /dev/net/tun, iperf3, python3 and a JDK 25 (jcmd, jstat). The load tool is
# dev.loomstack.testing.FlowLoad from target/test-classes (FLOWLOAD_CP overrides the class path).
# Uses namespaces and devices named lstp<pid>*; removes them and stops everything it started on
# exit. Run it under the shared lock, built beforehand so the lock is not held for the build:
#   ./mvnw -B -ntp -q package -DskipTests
#   SKIP_BUILD=1 flock /tmp/loomstack-nettest.lock bash bench/throughput.sh
# Usage: [SKIP_BUILD=1] [OFFLOAD=0] [HEAP=256m] [FLOWS=10000] [JAVA_OPTS=...] bash bench/throughput.sh [seconds per iperf3 run]
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh

SECONDS_PER_RUN="${1:-5}"
OFFLOAD="${OFFLOAD:-1}"
HEAP="${HEAP:-}"
FLOWS="${FLOWS:-10000}"
MTU=1280
P="lstp$$"
DEV="$P"
R="${P}r"   # Loomstack's namespace: its loopback holds the servers the own-address path dials
C="${P}c"   # the tailnet client, where Loomstack's TUN is moved
VA="${P}a"  # kernel baseline: two namespaces joined by a veth pair
VB="${P}b"
IPERF_PORT=5201
DIAL_PORT=9001
HOLD_PORT=9002
JDK="$(ls -d /usr/lib/jvm/temurin-25* | head -1)"
FLOWLOAD_CP="${FLOWLOAD_CP:-$PWD/target/test-classes}"
STATE="$(mktemp -d "/tmp/$P.state.XXXXXX")"
LOG="/tmp/$P.log"
PIDS=()

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  ./mvnw -B -ntp -q package -DskipTests
fi
JAR="$(ls target/loomstack-*.jar | grep -v -e original -e plain | head -1)"
[[ -f "$FLOWLOAD_CP/dev/loomstack/testing/FlowLoad.class" ]] \
  || { echo "no FlowLoad in $FLOWLOAD_CP (build the test classes, or set FLOWLOAD_CP)" >&2; exit 1; }

cleanup() {
  set +e
  say "cleaning up"
  stop_started
  for ns in "$C" "$R" "$VA" "$VB"; do ip netns del "$ns" 2>/dev/null; done
  rm -rf "$STATE"
}
trap cleanup EXIT


# One iperf3 run from namespace $1 to host $2 (more iperf3 options after); prints "Gbit/s bytes".
# Retried once: the server may still be closing the run before.
iperf() {
  local ns="$1" host="$2"; shift 2
  local out
  for _ in 1 2; do
    out=$(ip netns exec "$ns" timeout $((SECONDS_PER_RUN + 20)) iperf3 -c "$host" -p "$IPERF_PORT" \
          -t "$SECONDS_PER_RUN" -J "$@" 2>/dev/null \
        | python3 -c 'import json,sys; e=json.load(sys.stdin)["end"]["sum_received"]; print("%.2f %d" % (e["bits_per_second"]/1e9, e["bytes"]))' \
        2>/dev/null) && { echo "$out"; return; }
    sleep 1
  done
  echo "0 0"
}

# Four runs from namespace $1 to $2 (IPv4) and $3 (IPv6); sets UP DOWN V6 P4 and BYTES.
iperf_suite() {
  local r
  r=$(iperf "$1" "$2");       UP=${r% *};   BYTES=${r#* }
  r=$(iperf "$1" "$2" -R);    DOWN=${r% *}; BYTES=$((BYTES + ${r#* }))
  r=$(iperf "$1" "$3");       V6=${r% *};   BYTES=$((BYTES + ${r#* }))
  r=$(iperf "$1" "$2" -P 4);  P4=${r% *};   BYTES=$((BYTES + ${r#* }))
}

# Waits up to 10 s for a TCP listener on port $2 in namespace $1.
wait_for_listener() {
  for _ in $(seq 1 100); do
    ip netns exec "$1" ss -Hltn "sport = :$2" | grep -q . && return
    sleep 0.1
  done
  echo "nothing listens on port $2 in $1" >&2; return 1
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$APP/stat"; }

# Loomstack's used heap in MiB after a full GC (young and old generations as jstat counts them).
heap_mib() {
  timeout 60 "$JDK/bin/jcmd" "$APP" GC.run >/dev/null 2>&1 || true
  timeout 30 "$JDK/bin/jstat" -gc "$APP" 2>/dev/null | awk 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i }
    NR == 2 { printf "%.0f", ($col["S0U"] + $col["S1U"] + $col["EU"] + $col["OU"]) / 1024 }'
}

rss_mib() { awk '/VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$APP/status"; }

# ---- the kernel over a veth pair ----------------------------------------------------------------
say "kernel over veth: iperf3"
ip netns add "$VA"
ip netns add "$VB"
ip link add "${P}va" netns "$VA" mtu "$MTU" type veth peer name "${P}vb" netns "$VB" mtu "$MTU"
for ns in "$VA" "$VB"; do ip -n "$ns" link set lo up; done
ip -n "$VA" link set "${P}va" up
ip -n "$VB" link set "${P}vb" up
ip -n "$VA" addr add 198.18.0.1/24 dev "${P}va"
ip -n "$VB" addr add 198.18.0.2/24 dev "${P}vb"
ip -n "$VA" addr add fd7a:115c:a1e0:1::1/64 dev "${P}va" nodad
ip -n "$VB" addr add fd7a:115c:a1e0:1::2/64 dev "${P}vb" nodad
background ip netns exec "$VB" iperf3 -s -p "$IPERF_PORT"
KERNEL_SERVER=$BG
wait_for_listener "$VB" "$IPERF_PORT"
ip netns exec "$VA" iperf3 -c 198.18.0.2 -p "$IPERF_PORT" -t 1 >/dev/null 2>&1 || true
iperf_suite "$VA" 198.18.0.2 fd7a:115c:a1e0:1::2
K_UP=$UP K_DOWN=$DOWN K_V6=$V6 K_P4=$P4
kill "$KERNEL_SERVER" 2>/dev/null || true
ip netns del "$VA"
ip netns del "$VB"

# ---- Loomstack ------------------------------------------------------------------------------------
say "starting Loomstack ($JAR, offload $OFFLOAD, heap ${HEAP:-default})"
ip netns add "$R"
ip netns add "$C"
ip -n "$R" link set lo up
# Many short connections: room in the ephemeral port range on both sides of the forwarder.
ip netns exec "$R" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
OFFLOAD_PROPERTY=$([[ "$OFFLOAD" == 0 ]] && echo false || echo true)
JAVA_ARGS=(--enable-native-access=ALL-UNNAMED)
[[ -n "$HEAP" ]] && JAVA_ARGS+=("-Xmx$HEAP")
# shellcheck disable=SC2206
[[ -n "${JAVA_OPTS:-}" ]] && JAVA_ARGS+=($JAVA_OPTS)
ip netns exec "$R" "$JDK/bin/java" "${JAVA_ARGS[@]}" -jar "$JAR" \
  --loomstack.tun.name="$DEV" --loomstack.tun.mtu="$MTU" --loomstack.tun.offload="$OFFLOAD_PROPERTY" \
  --loomstack.state-dir="$STATE" --server.port=18080 --management.server.port=18081 >"$LOG" 2>&1 &
APP=$!
for _ in $(seq 1 200); do ip -n "$R" link show "$DEV" >/dev/null 2>&1 && break; sleep 0.1; done
ip -n "$R" link show "$DEV" >/dev/null 2>&1 || { echo "Loomstack did not create $DEV; its log:" >&2; cat "$LOG" >&2; exit 1; }
ip -n "$R" link set "$DEV" netns "$C"
ip -n "$C" link set lo up
ip -n "$C" link set "$DEV" mtu "$MTU" up
ip -n "$C" addr add 100.64.0.2/32 dev "$DEV"
ip -n "$C" addr add fd7a:115c:a1e0::2/128 dev "$DEV" nodad
ip -n "$C" route add 100.64.0.0/10 dev "$DEV"
ip -n "$C" route add fd7a:115c:a1e0::/48 dev "$DEV"
ip netns exec "$C" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"

background ip netns exec "$R" iperf3 -s -p "$IPERF_PORT"
wait_for_listener "$R" "$IPERF_PORT"
# Warm-up, so the JIT has compiled the hot path; the service may still be starting.
for _ in $(seq 1 20); do
  ip netns exec "$C" timeout 10 iperf3 -c 100.64.0.1 -p "$IPERF_PORT" -t 3 >/dev/null 2>&1 && break
  sleep 1
done
say "Loomstack: iperf3"
CPU_BEFORE=$(cpu_ticks)
iperf_suite "$C" 100.64.0.1 fd7a:115c:a1e0::1
CPU_AFTER=$(cpu_ticks)
CPU_PER_GB=$(awk -v a="$CPU_AFTER" -v b="$CPU_BEFORE" -v t="$(getconf CLK_TCK)" -v n="$BYTES" \
  'BEGIN { if (n > 0) printf "%.1f", (a - b) / t / (n / 1e9); else print "-" }')

background ip netns exec "$R" "$JDK/bin/java" -cp "$FLOWLOAD_CP" dev.loomstack.testing.FlowLoad serve-echo "127.0.0.1:$DIAL_PORT"
background ip netns exec "$R" "$JDK/bin/java" -cp "$FLOWLOAD_CP" dev.loomstack.testing.FlowLoad serve-echo "127.0.0.1:$HOLD_PORT"
wait_for_listener "$R" "$DIAL_PORT"
wait_for_listener "$R" "$HOLD_PORT"
say "Loomstack: connections per second"
DIAL=$(ip netns exec "$C" "$JDK/bin/java" -cp "$FLOWLOAD_CP" dev.loomstack.testing.FlowLoad \
  dial "100.64.0.1:$DIAL_PORT" 32 5 2>&1 | grep 'conns/s' | tail -1 || true)
RATE=$(sed -E 's/^([0-9]+) conns\/s, ([0-9]+) failed.*/\1 (\2)/' <<<"${DIAL:-0 conns/s, ? failed}")

# Held flows: FlowLoad opens them all, pauses while the heap is measured, then echoes on each again.
say "Loomstack: $FLOWS held flows"
HEAP_IDLE=$(heap_mib)
coproc HOLD { ip netns exec "$C" "$JDK/bin/java" -cp "$FLOWLOAD_CP" dev.loomstack.testing.FlowLoad \
  hold "100.64.0.1:$HOLD_PORT" "$FLOWS" 120 --pause 2>&1; }
PIDS+=("$HOLD_PID")
OPENED="" HELD="" HEAP_HELD="" RSS_HELD=""
while read -r -t 180 line <&"${HOLD[0]}"; do
  case "$line" in
    opened*)
      OPENED=$line
      HEAP_HELD=$(heap_mib)
      RSS_HELD=$(rss_mib)
      echo >&"${HOLD[1]}" ;;
    held*)
      HELD=$line
      echo >&"${HOLD[1]}"
      break ;;
  esac
done
wait "$HOLD_PID" 2>/dev/null || true
# "opened N in T s": all N open and each echoed once.
OPEN_TIME=$(awk '{ print $4 }' <<<"${OPENED:-opened 0 in - s}")
OPEN_COUNT=$(awk '{ print $2 }' <<<"${OPENED:-opened 0 in - s}")
# Fewer open than asked for (refused, or the service broke): say how many in the table.
OPEN_PREFIX=$([[ "$OPEN_COUNT" == "$FLOWS" ]] && echo "" || echo "$OPEN_COUNT open, ")
HELD_NOTE=$([[ "$HELD" == "held $FLOWS in"* ]] && echo "" || echo "  [${HELD:-no answer}]")
PER_FLOW=$(awk -v h="${HEAP_HELD:-0}" -v i="$HEAP_IDLE" -v n="$OPEN_COUNT" \
  'BEGIN { if (n > 0 && h > 0) printf "%.1f", (h - i) * 1024 / n; else print "-" }')

COUNTERS=$(ip netns exec "$R" curl -s -m 10 "http://127.0.0.1:18081/actuator/netstack" 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
keys = ["counter_link_gso_segments_received", "counter_link_gso_segments_sent",
        "counter_link_gro_coalesced_packets", "gauge_link_offload"]
print(", ".join("%s %s" % (k, d.get(k, "-")) for k in keys))' || true)

say "done"
# ---- the table --------------------------------------------------------------------------------------
LABEL="loomstack"
[[ "$OFFLOAD" == 0 ]] && LABEL="loomstack, offload off"
printf '\nMTU %d, %s s per iperf3 run, %s CPUs, %s, heap %s, %s\n' "$MTU" "$SECONDS_PER_RUN" "$(nproc)" \
  "$(date -u '+%Y-%m-%d %H:%M UTC')" "${HEAP:-JVM default}" "$(git log -1 --format='%h %s' 2>/dev/null | cut -c1-60)"
printf '%-24s %6s %6s %6s %6s | %-16s | %-31s | %s\n' "forwarder" "up" "down" "v6-up" "4-up" "conns/s (failed)" \
  "$FLOWS held: time, heap, RSS" "CPU s/GB"
printf '%-24s %6s %6s %6s %6s | %-16s | %-31s | %s\n' "kernel veth" "$K_UP" "$K_DOWN" "$K_V6" "$K_P4" "-" "-" "-"
printf '%-24s %6s %6s %6s %6s | %-16s | %-31s | %s\n' "$LABEL" "$UP" "$DOWN" "$V6" "$P4" "$RATE" \
  "$(printf '%s%s s, %s MiB, %s MiB' "$OPEN_PREFIX" "$OPEN_TIME" "${HEAP_HELD:--}" "${RSS_HELD:--}")" "$CPU_PER_GB"
echo "(Gbit/s; heap is used heap after a full GC)"
printf 'heap per held flow: %s KiB ((%s - %s MiB idle) / %s flows open)%s\n' "$PER_FLOW" "${HEAP_HELD:--}" \
  "$HEAP_IDLE" "$OPEN_COUNT" "$HELD_NOTE"
[[ -n "$COUNTERS" ]] && echo "link: $COUNTERS"
exit 0
