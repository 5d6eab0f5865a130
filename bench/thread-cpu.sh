#!/usr/bin/env bash
# Where the gateway's CPU goes, thread by thread: one closed-loop run through a config, then user and
# system CPU per request for each kind of thread (epoll loops, thread-pool workers, audit writer, ...),
# read from /proc/PID/task/*/stat at the start and the end of an 8 s window, with audit records per fsync
# from /metrics over the same window. Cheaper than perf and without its sampling skid (issue #14).
#   bench/thread-cpu.sh CONFIG [label]
# Env: GATEWAY (published fastmcp; default artifacts/bench/gateway/fastmcp), LOAD, UPSTREAM,
#      CONNECTIONS (32), GATEWAY_ENV ("K=V ..." for the gateway process).
# Ticks are 10 ms: at ~10,000 req/s an 8 s window resolves about 0.1 µs per request.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CFG=$(realpath "$1") LABEL=${2:-$(basename "$1" .json)}
GW="${GATEWAY:-$ROOT/artifacts/bench/gateway/fastmcp}"
WINDOW=8
# shellcheck source=bench/single-gateway-run.sh
source "$ROOT/bench/single-gateway-run.sh"
sleep 0.3
# shellcheck disable=SC2086 # GATEWAY_ENV is a list of K=V words
(cd "$W" && exec env ${GATEWAY_ENV:-} "$GW" serve --config "$CFG" --upstream http://127.0.0.1:$UPORT/mcp --listen 127.0.0.1:$GPORT \
  --admin 127.0.0.1:$APORT --anonymous) >"$W/gw.log" 2>&1 & GPID=$!; PIDS+=($GPID)
for _ in $(seq 50); do grep -q "listening on" "$W/gw.log" && break; sleep 0.1; done
# utime and stime are fields 14 and 15 of stat; the name (field 2) may hold spaces, so count from after its ')'.
snapshot() {
  echo "process $(sed 's/.*) //' /proc/$GPID/stat | awk '{print $12, $13}')"
  for t in /proc/$GPID/task/*; do
    echo "$(tr ' ' '_' <"$t/comm" 2>/dev/null) $(sed 's/.*) //' "$t/stat" 2>/dev/null | awk '{print $12, $13}')"
  done
}
( sleep 3; snapshot >"$W/a.txt"; curl -s http://127.0.0.1:$APORT/metrics >"$W/a.metrics"
  sleep $WINDOW; snapshot >"$W/b.txt"; curl -s http://127.0.0.1:$APORT/metrics >"$W/b.metrics" ) & SNAP=$!
"$LOAD" --url http://127.0.0.1:$GPORT/mcp --connections "${CONNECTIONS:-32}" --duration $((WINDOW + 2)) --warmup 2 --pid $GPID \
  --label "$LABEL" --json "$W/load.json" >/dev/null
wait $SNAP
python3 - "$W" "$LABEL" "$WINDOW" "$(getconf CLK_TCK)" <<'P'
import collections, json, re, sys
w, label, window, hz = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
d = json.load(open(w + '/load.json'))
requests = d['rps'] * window  # the load generator's rate over its measured window, applied to the snapshot window
def read(path):
    cpu, count = collections.defaultdict(lambda: [0, 0]), collections.Counter()
    for line in open(path):
        p = line.split()
        if len(p) != 3: continue
        kind = re.sub(r'[-_]?\d+$', '', p[0])  # numbered threads (fastmcp-epoll-0, -1) count as one kind
        cpu[kind][0] += int(p[1]); cpu[kind][1] += int(p[2]); count[kind] += 1
    return cpu, count
a, _ = read(w + '/a.txt'); b, count = read(w + '/b.txt')
per = lambda ticks: ticks * 1e6 / hz / requests
def metric(path, name):
    m = re.search(r'^' + name + r' (\d+)', open(path).read(), re.M)
    return int(m.group(1)) if m else 0
records = metric(w + '/b.metrics', 'fastmcp_audit_records_synced_total') - metric(w + '/a.metrics', 'fastmcp_audit_records_synced_total')
fsyncs = metric(w + '/b.metrics', 'fastmcp_audit_fsyncs_total') - metric(w + '/a.metrics', 'fastmcp_audit_fsyncs_total')
print(f"{label}: {d['rps']:,.0f} req/s, p99 {d['latency_ms']['p99']:.3f} ms, records/fsync {records / fsyncs:.1f}" if fsyncs else
      f"{label}: {d['rps']:,.0f} req/s, p99 {d['latency_ms']['p99']:.3f} ms, no fsyncs")
print(f"| thread | count | user µs/req | system µs/req |")
print(f"|---|---:|---:|---:|")
named = 0.0
for kind in sorted(k for k in b if k != 'process'):
    u, s = per(b[kind][0] - a[kind][0]), per(b[kind][1] - a[kind][1])
    named += u + s
    if u + s >= 0.05: print(f"| {kind} | {count[kind]} | {u:.1f} | {s:.1f} |")
pu, ps = per(b['process'][0] - a['process'][0]), per(b['process'][1] - a['process'][1])
print(f"| threads gone before the end | | {pu + ps - named:.1f} (user and system) | |")
print(f"| whole process | | {pu:.1f} | {ps:.1f} |")
P
