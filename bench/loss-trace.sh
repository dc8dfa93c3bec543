#!/usr/bin/env bash
# A trace of Loomstack sending under random loss: iperf3 -R through the TUN with LOSS % of the
# packets dropped each way at the client (nftables random drop on the device, as the side-by-side
# bench does), recorded three ways:
#   - the JFR event dev.loomstack.tcp.Recovery (one per loss-recovery turn), summarised by kind;
#   - Loomstack's TCP counters from /actuator/netstack and the client kernel's from nstat;
#   - if tcpdump is installed, the gaps in Loomstack's data on the wire: where the sender sat idle.
# Needs root, /dev/net/tun, iperf3 and nft. Usage: [LOSS=2] bash bench/loss-trace.sh [seconds]
# LOSS_IN / LOSS_OUT set the two directions apart (data to the client / ACKs from it); both default to LOSS.
# Leaves target/loss-trace.jfr (jfr print --events dev.loomstack.tcp.Recovery target/loss-trace.jfr).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
SECONDS_PER_RUN="${1:-3}"
LOSS="${LOSS:-2}"
LOSS_IN="${LOSS_IN:-$LOSS}"
LOSS_OUT="${LOSS_OUT:-$LOSS}"
DEV="lstrace$$"
NS="lstrace$$"
PORT=5201
MGMT=18391
JDK="$(ls -d /usr/lib/jvm/temurin-25* | head -1)"

./mvnw -B -ntp -q package -DskipTests
JAR="$(ls target/loomstack-*.jar | grep -v original | head -1)"
REC="$PWD/target/loss-trace.jfr"
PCAP="/tmp/$DEV.pcap"
rm -f "$REC" "$PCAP"

cleanup() {
  [[ -n "${DUMP:-}" ]] && kill "$DUMP" 2>/dev/null || true
  [[ -n "${APP:-}" ]] && kill "$APP" 2>/dev/null && wait "$APP" 2>/dev/null || true
  [[ -n "${SERVER:-}" ]] && kill "$SERVER" 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  rm -f "$PCAP"
}
trap cleanup EXIT

"$JDK/bin/java" --enable-native-access=ALL-UNNAMED \
  "-XX:StartFlightRecording:filename=$REC,+dev.loomstack.tcp.Recovery#enabled=true" -jar "$JAR" \
  --loomstack.tun.name="$DEV" --server.port=0 --management.server.port="$MGMT" >"/tmp/$DEV.log" 2>&1 &
APP=$!
wait_for_device "$DEV"
client_namespace "$NS" "$DEV"
ip netns exec "$NS" nft -f - <<NFT
table inet lstrace {
  chain i { type filter hook input priority 0; policy accept; iifname "$DEV" numgen random mod 100 < $LOSS_IN drop; }
  chain o { type filter hook output priority 0; policy accept; oifname "$DEV" numgen random mod 100 < $LOSS_OUT drop; }
}
NFT

iperf3 -s -B 127.0.0.1 -p "$PORT" >/dev/null 2>&1 &
SERVER=$!
sleep 0.5
ip netns exec "$NS" iperf3 -c 100.64.0.1 -p "$PORT" -t 1 -R >/dev/null

if command -v tcpdump >/dev/null; then
  ip netns exec "$NS" tcpdump -i "$DEV" -n -s 80 -w "$PCAP" "tcp src port $PORT" >/dev/null 2>&1 &
  DUMP=$!
  sleep 0.5
fi
ip netns exec "$NS" nstat -n
ip netns exec "$NS" iperf3 -c 100.64.0.1 -p "$PORT" -t "$SECONDS_PER_RUN" -R -J \
  | python3 -c 'import json,sys; d=json.load(sys.stdin); print("Loomstack -> client, %s %% of data and %s %% of ACKs lost: %.3f Gbit/s" % (sys.argv[1], sys.argv[2], d["end"]["sum_received"]["bits_per_second"]/1e9))' "$LOSS_IN" "$LOSS_OUT"
echo "client kernel (nstat):"
ip netns exec "$NS" nstat | grep -E 'TcpExtDelayedACKs|TcpExtTCPAckCompressed|TcpExtTCPDSACKOldSent|TcpExtTCPOFOQueue' | sed 's/^/  /' || true
echo "Loomstack (/actuator/netstack):"
curl -s "http://127.0.0.1:$MGMT/actuator/netstack" | tr ',' '\n' | tr -d '{}"' \
  | grep -E 'tcp_(retransmits|sack_recovery|fast_recovery|rack_lost|tlp_recovery|timeouts|segments_acked_with_dsack|spurious)' | sed 's/^/  /'
if [[ -n "${DUMP:-}" ]]; then
  sleep 0.5; kill "$DUMP"; wait "$DUMP" 2>/dev/null || true; DUMP=
  echo "idle gaps in Loomstack's data on the wire:"
  tcpdump -r "$PCAP" -n -tt 2>/dev/null | awk '
    { t = $1; if (p > 0) { g = (t - p) * 1000; if (g >= 2) {
        b = g < 5 ? "2-5 ms" : g < 20 ? "5-20 ms" : g < 100 ? "20-100 ms" : g < 300 ? "100-300 ms" : ">= 300 ms";
        n[b]++; s[b] += g; idle += g } } else f = t; p = t }
    END { for (b in n) printf "  %-11s %4d gaps, %6.0f ms\n", b, n[b], s[b]; printf "  idle %.2f s of %.2f s\n", idle / 1000, p - f }'
fi
kill "$APP"; wait "$APP" 2>/dev/null || true; APP=
echo "JFR (dev.loomstack.tcp.Recovery) by kind:"
"$JDK/bin/jfr" print --events dev.loomstack.tcp.Recovery "$REC" | grep 'kind =' | sort | uniq -c | sed 's/^/  /'
