#!/usr/bin/env bash
# One strict (or batched) audit run through the full pipeline with the syscall profile the audit path
# is judged by (issue #14): req/s, p50/p99 from fastmcp-load, then sched_yield / fdatasync / fsync per
# request from `strace -c -f` over 5 s of the run, and records per fsync from /metrics and from the
# segments written (records frames are one flush each).
#   bench/strict-audit-profile.sh GATEWAY_BINARY [Strict|Batched] [label]
# Env: LOAD, UPSTREAM (published fastmcp-load / fastmcp-bench-upstream), CONNECTIONS (32), DURATION (8),
#      STRACE=0 to skip strace (strace slows the gateway: its run gives the syscall ratios, not the speed),
#      LOADARGS (e.g. "--rate 5000" for an open-loop run).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GW=$1 MODE=${2:-Strict} LABEL=${3:-$MODE}
CONN=${CONNECTIONS:-32} DUR=${DURATION:-8}
# shellcheck source=bench/single-gateway-run.sh
source "$ROOT/bench/single-gateway-run.sh"
cat >"$W/c.json" <<J
{ "policy": { "rules": [ { "name": "all", "action": "allow" } ] }, "masking": { "enabled": true },
  "audit": { "directory": "$W/audit", "durability": "$MODE" } }
J
sleep 0.5
"$GW" serve --config "$W/c.json" --anonymous --upstream http://127.0.0.1:$UPORT/mcp --listen 127.0.0.1:$GPORT --admin 127.0.0.1:$APORT >"$W/gw.log" 2>&1 & GPID=$!; PIDS+=($GPID)
for _ in $(seq 50); do grep -q "listening on" "$W/gw.log" && break; sleep 0.1; done
SPID=""
if [[ ${STRACE:-1} == 1 ]]; then ( sleep 3; timeout -s INT 5 strace -c -f -p $GPID -o "$W/strace.txt" 2>/dev/null ) & SPID=$!; fi
"$LOAD" --url http://127.0.0.1:$GPORT/mcp --connections "$CONN" --duration "$DUR" --warmup 2 --pid $GPID --label "$LABEL" --json "$W/load.json" ${LOADARGS:-} >/dev/null
if [[ -n $SPID ]]; then wait $SPID || true; fi
curl -s http://127.0.0.1:$APORT/metrics >"$W/metrics.txt"
kill -TERM $GPID; wait $GPID 2>/dev/null || true
python3 - "$W" "$LABEL" <<'P'
import json, sys, re, glob, struct
w, label = sys.argv[1], sys.argv[2]
d = json.load(open(w + '/load.json'))
out = f"{label}: {d['rps']:,.0f} req/s, p50 {d['latency_ms']['p50']:.3f} ms, p99 {d['latency_ms']['p99']:.3f} ms, CPU {d['cpu'][0]['us_per_request']} µs/req"
try:
    t = open(w + '/strace.txt').read()
    calls = {m.group(2): int(m.group(1)) for m in re.finditer(r'^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$', t, re.M)}
    # Each exchange sends once to the upstream and once to the client.
    req = calls.get('sendto', 0) / 2
    if req: out += "; under strace per request: " + ", ".join(f"{n} {calls.get(n, 0) / req:.2f}" for n in ['sched_yield', 'fdatasync', 'fsync', 'fstat', 'futex'])
except FileNotFoundError:
    pass
m = dict(re.findall(r'^(fastmcp_audit_(?:fsyncs|records_synced)_total) (\d+)', open(w + '/metrics.txt').read(), re.M))
if m: out += f"; /metrics records per fsync {int(m['fastmcp_audit_records_synced_total']) / max(1, int(m['fastmcp_audit_fsyncs_total'])):.1f}"
frames = recs = 0
for f in glob.glob(w + '/audit/*/*.seg') + glob.glob(w + '/audit/*/*.open'):
    b = open(f, 'rb').read(); p = 0
    while p + 24 <= len(b) and b[p:p + 4] == b'FMA1':
        stored, raw, cnt = struct.unpack_from('<iii', b, p + 8)
        if b[p + 4] == 2: frames += 1; recs += cnt
        p += 24 + stored
out += f"; segments: {recs / max(frames, 1):.1f} records per records frame (= per flush)"
print(out)
P
