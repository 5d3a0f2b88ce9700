#!/usr/bin/env bash
# Serve the lab from several Streamlit processes behind HAProxy, with cookie-based sticky sessions.
#
#   deploy/serve_multi.sh                 # 2 processes on 8601-8602, HAProxy on 127.0.0.1:8501
#   deploy/serve_multi.sh -n 3 -p 8080    # 3 processes on 8601-8603, HAProxy on 8080
#   deploy/serve_multi.sh -a 0.0.0.0      # HAProxy listens on every interface (the processes never do)
#   deploy/serve_multi.sh --print-config -n 2 -p 8501 -b 8601   # print the filled-in haproxy.cfg, start nothing
#
# Options: -n N processes, -p HAProxy's port, -b the first process's port (the others follow),
# -a HAProxy's address. Environment: PYTHON (default .venv/bin/python, else python3), APP (streamlit_app.py),
# HAPROXY (the haproxy binary), LAB_WORKERS (calc_core worker processes per Streamlit process; default
# the cores divided among the N processes, at least 1). Extra arguments after -- go to every `streamlit run`.
# Needs Debian's haproxy: apt-get install -y haproxy. Runs in the foreground; Ctrl-C, SIGTERM or
# any process dying stops them all (each by its own PID). See docs/scaling.md.
set -euo pipefail
cd "$(dirname "$0")/.."

N=2; FRONT_PORT=8501; FIRST_PORT=8601; FRONT_ADDR=127.0.0.1; PRINT_ONLY=0; EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n) N="$2"; shift 2 ;;
    -p) FRONT_PORT="$2"; shift 2 ;;
    -b) FIRST_PORT="$2"; shift 2 ;;
    -a) FRONT_ADDR="$2"; shift 2 ;;
    --print-config) PRINT_ONLY=1; shift ;;
    --) shift; EXTRA=("$@"); break ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
case "$N$FRONT_PORT$FIRST_PORT" in *[!0-9]*) echo "-n, -p and -b take numbers" >&2; exit 2 ;; esac
[ "$N" -ge 1 ] || { echo "-n must be at least 1" >&2; exit 2; }

render_config() {
  local servers="" i port
  for ((i = 1; i <= N; i++)); do
    port=$((FIRST_PORT + i - 1))
    servers+="    server app$i 127.0.0.1:$port check cookie app$i"$'\n'
  done
  local template
  template="$(cat deploy/haproxy.cfg)"
  template="${template//__FRONTEND_ADDRESS__/$FRONT_ADDR}"
  template="${template//__FRONTEND_PORT__/$FRONT_PORT}"
  printf '%s\n' "${template//__BACKEND_SERVERS__/${servers%$'\n'}}"
}

if [ "$PRINT_ONLY" = 1 ]; then render_config; exit 0; fi

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
APP="${APP:-streamlit_app.py}"
HAPROXY="${HAPROXY:-$(command -v haproxy || echo /usr/sbin/haproxy)}"
[ -x "$HAPROXY" ] || { echo "haproxy not found: apt-get install -y haproxy" >&2; exit 1; }

# the cores shared out: each process gets its share of calc_core workers (ui/workers.py), at least one
CORES="$(nproc 2>/dev/null || echo 2)"
export LAB_WORKERS="${LAB_WORKERS:-$(( CORES / N > 0 ? CORES / N : 1 ))}"

WORK="$(mktemp -d)"
PIDS=()
stop_all() {
  trap - EXIT INT TERM
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for ((i = 1; i <= N; i++)); do
  port=$((FIRST_PORT + i - 1))
  "$PYTHON" -m streamlit run "$APP" --server.address 127.0.0.1 --server.port "$port" \
    --server.headless true --server.fileWatcherType none --browser.gatherUsageStats false \
    "${EXTRA[@]}" >"$WORK/app$i.log" 2>&1 &
  PIDS+=("$!")
  echo "app$i: streamlit on 127.0.0.1:$port (pid $!, $LAB_WORKERS calc_core workers, log $WORK/app$i.log)"
done

healthy() { "$PYTHON" - "$1" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/_stcore/health", timeout=2) as r:
        sys.exit(0 if r.read().strip() == b"ok" else 1)
except OSError:
    sys.exit(1)
PY
}
for ((i = 1; i <= N; i++)); do
  port=$((FIRST_PORT + i - 1))
  for try in $(seq 120); do
    healthy "$port" && break
    kill -0 "${PIDS[$((i - 1))]}" 2>/dev/null || { echo "app$i died:" >&2; tail -20 "$WORK/app$i.log" >&2; exit 1; }
    [ "$try" = 120 ] && { echo "app$i never became healthy" >&2; exit 1; }
    sleep 0.5
  done
done

render_config >"$WORK/haproxy.cfg"
"$HAPROXY" -c -q -f "$WORK/haproxy.cfg"
"$HAPROXY" -db -f "$WORK/haproxy.cfg" &
PIDS+=("$!")
echo "haproxy on http://$FRONT_ADDR:$FRONT_PORT/ (pid $!) in front of $N processes; Ctrl-C stops everything"

# Run until one of them exits (or a signal arrives); then stop_all stops the rest.
set +e
wait -n "${PIDS[@]}"
status=$?
echo "a process exited (status $status): stopping the others" >&2
exit "$status"
