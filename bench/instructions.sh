#!/usr/bin/env bash
# User-space instructions the gateway executes per request (issue #14), counted by valgrind's callgrind: unlike CPU
# time, the count does not move with what else runs on the machine, so two builds can be compared on a busy one.
# The gateway runs under callgrind against the canned upstream; fastmcp-load warms it up, the counts are zeroed,
# a measured load runs, the counts are dumped, and the total is divided by the requests the load completed.
# Valgrind runs the threads one at a time: this counts the work, not the waiting (nor the kernel's part).
#   bench/instructions.sh GATEWAY_BINARY pass|full [label]
# pass: serve --passthrough. full: bench/configs/full-batched.json (policy, masking both ways, Batched signed audit).
# The binary is copied alone into a scratch directory: valgrind gives up on the fastmcp.dbg that a publish puts beside it.
# Env: LOAD, UPSTREAM (published fastmcp-load / fastmcp-bench-upstream), CONNECTIONS (8), WARMUP (5), DURATION (10);
# PER_THREAD=1 also prints each thread's share (valgrind numbers threads in creation order): with the full pipeline the
# process's total moves with the load (the audit writer and the timers run by time too), its socket loops' does not.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GW=$1 MODE=${2:-pass} LABEL=${3:-$2}
CONN=${CONNECTIONS:-8} WARM=${WARMUP:-5} DUR=${DURATION:-10}
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
# shellcheck source=bench/single-gateway-run.sh
source "$ROOT/bench/single-gateway-run.sh"
case $MODE in
  pass) ARGS=(--passthrough) ;;
  full) sed -E "s#(\"directory\"[[:space:]]*:[[:space:]]*\")[^\"]*\"#\1$W/audit\"#" "$ROOT/bench/configs/full-batched.json" >"$W/c.json"; ARGS=(--config "$W/c.json") ;;
  *) echo "mode must be pass or full" >&2; exit 2 ;;
esac
cp "$GW" "$W/fastmcp"
sleep 0.5
valgrind --tool=callgrind ${PER_THREAD:+--separate-threads=yes} --callgrind-out-file="$W/cg.out" "$W/fastmcp" serve "${ARGS[@]}" --anonymous --upstream http://127.0.0.1:$UPORT/mcp \
  --listen 127.0.0.1:$GPORT --admin 127.0.0.1:$APORT >"$W/gw.log" 2>&1 & GPID=$!; PIDS+=($GPID)
for _ in $(seq 600); do grep -q "listening on" "$W/gw.log" && break; sleep 0.1; done
grep -q "listening on" "$W/gw.log" || { cat "$W/gw.log" >&2; exit 1; }
"$LOAD" --url http://127.0.0.1:$GPORT/mcp --connections "$CONN" --duration "$WARM" --warmup 0 --timeout 120 >/dev/null
callgrind_control -z $GPID >/dev/null 2>&1
"$LOAD" --url http://127.0.0.1:$GPORT/mcp --connections "$CONN" --duration "$DUR" --warmup 0 --timeout 120 --json "$W/load.json" >/dev/null
callgrind_control -d $GPID >/dev/null 2>&1
sleep 1
python3 - "$W" "$LABEL" <<'P'
import glob, json, sys
w, label = sys.argv[1], sys.argv[2]
d = json.load(open(w + '/load.json'))
requests = d['requests']
instructions = 0
for f in sorted(glob.glob(w + '/cg.out.*')):
    for line in open(f, errors='replace'):
        if line.startswith('summary:') or line.startswith('totals:'):
            n = int(line.split()[1])
            instructions += n
            if '-' in f.rsplit('.', 1)[1] and n: print(f"  thread {f.rsplit('-', 1)[1]}: {n / requests:,.0f} per request")
            break
print(f"{label}: {instructions / requests:,.0f} instructions per request ({instructions:,} over {requests:,} requests)")
P
