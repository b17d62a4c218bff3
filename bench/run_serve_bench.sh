#!/usr/bin/env bash
# Load test of `embtune serve`: starts the server on a free port of 127.0.0.1, runs serve_load
# (CONNECTIONS clients, default 16, for DURATION seconds, default 60) and stops the server with SIGTERM.
# Not a test: it prints serve_load's JSON line (requests/s, p50/p90/p99 latency, errors, retries),
# serve_load's line per failed request (on stderr), the machine's TCP listen-queue counters over
# the run (from nstat, when present; machine-wide) and the server's exit code; nothing is asserted.
#
# Usage: bench/run_serve_bench.sh [BUILD_DIR] [-- extra serve flags]
# MODEL=DIR (or file / hub id) serves that model; without it a random-weight model of the
# all-MiniLM-L6-v2 shape is made with `embtune init` and its real tokenizer from ../shared.
# CONNECTIONS and DURATION (seconds) shape the load; INPUTS sets the texts per request (default
# 1); THREADS the server's threads (default all cores).
set -euo pipefail
build=${1:-build}
shift || true
[[ "${1:-}" == "--" ]] && shift
here=$(cd "$(dirname "$0")/.." && pwd)
bin="$here/$build/embtune" load="$here/$build/bench/serve_load"
[[ -x "$bin" && -x "$load" ]] || { echo "bench: $bin or $load not found (build the embtune and serve_load targets)" >&2; exit 1; }
connections=${CONNECTIONS:-16} seconds=${DURATION:-60} inputs=${INPUTS:-1} threads=${THREADS:-$(nproc)}

work=$(mktemp -d)
server_pid=""
cleanup() {
  [[ -n "$server_pid" ]] && kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

model=${MODEL:-}
if [[ -z "$model" ]]; then
  tok="$here/../shared/data/tokenizers/sentence-transformers__all-MiniLM-L6-v2"
  [[ -d "$tok" ]] || { echo "bench: $tok not found; set MODEL=DIR" >&2; exit 1; }
  model="$work/model"
  "$bin" -q init --config minilm-l6 --tokenizer "$tok" --out "$model" --seed 0
  echo "model: random weights, all-MiniLM-L6-v2 shape and tokenizer"
else
  echo "model: $model"
fi

"$bin" -q --threads "$threads" serve --model "$model" --host 127.0.0.1 --port 0 "$@" 2>"$work/serve.log" &
server_pid=$!
port=""
for _ in $(seq 1 600); do
  port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/serve.log" | head -n 1)
  [[ -n "$port" ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$port" ]] || { echo "bench: the server did not start" >&2; cat "$work/serve.log" >&2; exit 1; }
echo "server: port $port, threads $threads, flags ${*:-none}; load: $connections connections, $seconds s, $inputs input(s) per request"

counters="TcpExtListenOverflows TcpExtListenDrops TcpExtSyncookiesSent TcpExtSyncookiesFailed"
tcp_counters() { command -v nstat >/dev/null && nstat -az $counters 2>/dev/null | awk 'NR > 1 {print $1, $2}'; }
before=$(tcp_counters || true)
rc=0
"$load" --host 127.0.0.1 --port "$port" --connections "$connections" --seconds "$seconds" --inputs "$inputs" || rc=$?
after=$(tcp_counters || true)
if [[ -n "$before" && -n "$after" ]]; then
  echo "TCP counters over the run (machine-wide):" $(paste <(echo "$before") <(echo "$after") | awk '{printf "%s +%d ", $1, $4 - $2}')
fi
kill -TERM "$server_pid"
server_rc=0
wait "$server_pid" || server_rc=$?
server_pid=""
echo "server exit code after SIGTERM: $server_rc"
exit $((rc != 0 ? rc : server_rc))
