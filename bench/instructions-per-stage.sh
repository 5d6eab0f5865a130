#!/usr/bin/env bash
# Instructions per request, by thread and by stage, for one gateway build (issue #14): the gateway runs under
# valgrind's callgrind (one thread at a time, so the counts measure the work and not the machine's load) with a
# configuration (default bench/configs/full-batched.json, its audit directory moved to a scratch folder) in front of
# the canned upstream; fastmcp-load warms it up, the counts are zeroed, a bounded closed-loop load runs, the counts
# are dumped per thread and divided by the requests the load completed.
#   bench/instructions-per-stage.sh GATEWAY_BINARY [label] [config|pass]
# "pass" runs serve --passthrough instead of a configuration (no stage rows then, only the threads and the total).
# Prints a markdown table: instructions per request for each thread kind (socket loops, audit writer, the rest) and
# the inclusive count of each stage's entry functions (bench/instructions-per-stage.py). Valgrind cannot read the DWARF
# of the fastmcp.dbg that dotnet publish leaves beside the binary ("possibly corrupted debuginfo file"), so the run
# uses a copy of the binary whose debug link names a copy of fastmcp.dbg with its symbol table only (objcopy).
# Env: LOAD, UPSTREAM (published fastmcp-load / fastmcp-bench-upstream), CONNECTIONS (8), WARMUP (5), DURATION (10),
# KEEP (a directory to copy the callgrind files to).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GW=$(realpath "$1") LABEL=${2:-gateway} CONFIG=${3:-$ROOT/bench/configs/full-batched.json}
CONN=${CONNECTIONS:-8} WARM=${WARMUP:-5} DUR=${DURATION:-10}
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }
# shellcheck source=bench/single-gateway-run.sh
source "$ROOT/bench/single-gateway-run.sh"
if [[ $CONFIG == pass ]]; then
  ARGS=(--passthrough)
else
  # The configuration as given, but auditing into the scratch folder (never a directory another run may share).
  python3 - "$CONFIG" "$W/c.json" "$W/audit" <<'P'
import json, sys
c = json.load(open(sys.argv[1]))
if 'audit' in c: c['audit']['directory'] = sys.argv[3]
json.dump(c, open(sys.argv[2], 'w'))
P
  ARGS=(--config "$W/c.json")
fi
if [[ -f ${GW%/*}/fastmcp.dbg ]]; then
  objcopy --strip-debug "${GW%/*}/fastmcp.dbg" "$W/fastmcp.syms"
  objcopy --remove-section=.gnu_debuglink "$GW" "$W/fastmcp"
  objcopy --add-gnu-debuglink="$W/fastmcp.syms" "$W/fastmcp"
  GW="$W/fastmcp"
fi
sleep 0.5
valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$W/cg.out" \
  "$GW" serve "${ARGS[@]}" --anonymous --upstream "http://127.0.0.1:$UPORT/mcp" \
  --listen "127.0.0.1:$GPORT" --admin "127.0.0.1:$APORT" >"$W/gw.log" 2>&1 & GPID=$!; PIDS+=($GPID)
for _ in $(seq 600); do grep -q "listening on" "$W/gw.log" && break; kill -0 $GPID || break; sleep 0.1; done
grep -q "listening on" "$W/gw.log" || { echo "the gateway did not start under valgrind:" >&2; tail -5 "$W/gw.log" >&2; exit 1; }
"$LOAD" --url "http://127.0.0.1:$GPORT/mcp" --connections "$CONN" --duration "$WARM" --warmup 0 >/dev/null
callgrind_control -z $GPID >/dev/null
"$LOAD" --url "http://127.0.0.1:$GPORT/mcp" --connections "$CONN" --duration "$DUR" --warmup 0 --json "$W/load.json" >/dev/null
callgrind_control -d $GPID >/dev/null
kill -TERM $GPID; wait $GPID 2>/dev/null || true
REQUESTS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["requests"])' "$W/load.json")
# The dump callgrind_control asked for is the one numbered .1 (per thread: cg.out.1-NN); the exit dump is left out.
shopt -s nullglob
FILES=("$W"/cg.out.1-*)
(( ${#FILES[@]} )) || { echo "no callgrind dump found" >&2; ls "$W" >&2; exit 1; }
[[ -n ${KEEP:-} ]] && { mkdir -p "$KEEP"; cp "${FILES[@]}" "$W/load.json" "$KEEP/"; }
python3 "$ROOT/bench/instructions-per-stage.py" "$LABEL" "$REQUESTS" "${FILES[@]}"
