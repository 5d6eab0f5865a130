#!/usr/bin/env bash
# System calls per request, thread by thread (issue #14): one closed-loop run through a config while `perf trace -s`
# counts every system call of the gateway for a window, then the calls per request for each kind of thread (epoll
# loops, audit writer, thread-pool workers, ...), with audit records and fsyncs per request from /metrics over the same
# window. Counts, not times: the tracing slows the gateway, so the group sizes it shows are those of a slower gateway
# (records per fsync is printed beside them), but a call that happens per group, per record or per request shows as such.
#   bench/thread-syscalls.sh CONFIG [label]
# Env: GATEWAY (published fastmcp; default artifacts/bench/gateway/fastmcp), LOAD, UPSTREAM, CONNECTIONS (32),
#      WINDOW (seconds traced, 5), GATEWAY_ENV ("K=V ..." for the gateway process).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CFG=$(realpath "$1") LABEL=${2:-$(basename "$1" .json)}
GW="${GATEWAY:-$ROOT/artifacts/bench/gateway/fastmcp}"
WINDOW=${WINDOW:-5}
command -v perf >/dev/null || { echo "perf is not installed" >&2; exit 2; }
# shellcheck source=bench/single-gateway-run.sh
source "$ROOT/bench/single-gateway-run.sh"
sleep 0.3
# shellcheck disable=SC2086 # GATEWAY_ENV is a list of K=V words
(cd "$W" && exec env ${GATEWAY_ENV:-} "$GW" serve --config "$CFG" --upstream http://127.0.0.1:$UPORT/mcp --listen 127.0.0.1:$GPORT \
  --admin 127.0.0.1:$APORT --anonymous) >"$W/gw.log" 2>&1 & GPID=$!; PIDS+=($GPID)
for _ in $(seq 50); do grep -q "listening on" "$W/gw.log" && break; sleep 0.1; done
# The thread names are read while the gateway runs: perf prints each thread's name as it was when it first saw it.
( sleep 3; for t in /proc/$GPID/task/*; do echo "${t##*/} $(tr ' ' '_' <"$t/comm")"; done >"$W/names.txt"
  curl -s http://127.0.0.1:$APORT/metrics >"$W/a.metrics"
  perf trace -s -p $GPID -o "$W/trace.txt" -- sleep "$WINDOW" 2>/dev/null || true
  curl -s http://127.0.0.1:$APORT/metrics >"$W/b.metrics" ) & SNAP=$!
"$LOAD" --url http://127.0.0.1:$GPORT/mcp --connections "${CONNECTIONS:-32}" --duration $((WINDOW + 3)) --warmup 2 --pid $GPID \
  --label "$LABEL" --json "$W/load.json" >/dev/null
wait $SNAP
python3 - "$W" "$LABEL" <<'P'
import collections, json, re, sys
w, label = sys.argv[1], sys.argv[2]
def metric(name):
    v = []
    for f in ('a', 'b'):
        m = re.search(r'^' + name + r'(?:\{[^}]*\})? (\d+)', open(f'{w}/{f}.metrics').read(), re.M)
        v.append(int(m.group(1)) if m else 0)
    return v[1] - v[0]
requests, fsyncs, records = metric('fastmcp_requests_total'), metric('fastmcp_audit_fsyncs_total'), metric('fastmcp_audit_records_synced_total')
names = dict(l.split() for l in open(w + '/names.txt') if len(l.split()) == 2)
calls, threads = collections.defaultdict(collections.Counter), collections.defaultdict(set)
tid = None
for line in open(w + '/trace.txt'):
    m = re.match(r'\s*(\S.*?) \((\d+)\), \d+ events', line)
    if m:
        tid = m.group(2)
        kind = re.sub(r'[-_]?\d+$', '', names.get(tid, m.group(1).replace(' ', '_')))
        threads[kind].add(tid)
        continue
    m = re.match(r'\s+(\w+)\s+(\d+)\s+\d+\s', line)
    if m and tid and m.group(1) != 'syscall': calls[kind][m.group(1)] += int(m.group(2))
d = json.load(open(w + '/load.json'))
print(f"{label}: {requests} requests in the window ({d['rps']:,.0f} req/s under tracing), "
      f"{records / max(fsyncs, 1):.1f} records per fsync, {fsyncs / max(requests, 1):.3f} fsyncs per request")
print("| thread | system call | per request | per fsync |")
print("|---|---|---:|---:|")
total = 0
for kind in sorted(calls):
    for name, n in calls[kind].most_common():
        total += n
        if n / requests >= 0.005: print(f"| {kind} ({len(threads[kind])}) | {name} | {n / requests:.3f} | {n / max(fsyncs, 1):.2f} |")
print(f"| all | all | {total / requests:.2f} | {total / max(fsyncs, 1):.1f} |")
P
