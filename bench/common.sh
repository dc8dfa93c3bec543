# Shared by the bench scripts (source it): progress lines, stopping what a bench started, and the
# client side of a Loomstack TUN.

# Progress on stderr, so the table on stdout stays clean.
say() { printf '[%s] %s\n' "$(date -u +%T)" "$*" >&2; }

# Starts "$@" in the background (its pid joins PIDS, for stop_started) and sets BG to its pid.
background() {
  "$@" >/dev/null 2>&1 &
  BG=$!
  PIDS+=("$BG")
}

# Stops what a bench started: the background processes in PIDS, then the service APP (SIGTERM, up
# to 10 s to drain and exit, then SIGKILL).
stop_started() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  if [[ -n "${APP:-}" ]]; then
    kill "$APP" 2>/dev/null
    for _ in $(seq 1 100); do kill -0 "$APP" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$APP" 2>/dev/null
  fi
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
}

# Waits up to 20 s for the service to create TUN device $1.
wait_for_device() {
  for _ in $(seq 1 100); do ip link show "$1" >/dev/null 2>&1 && break; sleep 0.2; done
  ip link show "$1" >/dev/null
}

# Moves TUN device $2 into a new namespace $1, the tailnet client 100.64.0.2 with 100.64.0.0/10
# routed through the device (Loomstack's own address is 100.64.0.1).
client_namespace() {
  ip netns add "$1"
  ip link set "$2" netns "$1"
  ip -n "$1" link set lo up
  ip -n "$1" link set "$2" up
  ip -n "$1" addr add 100.64.0.2/32 dev "$2"
  ip -n "$1" route add 100.64.0.0/10 dev "$2"
}
