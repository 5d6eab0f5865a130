#!/usr/bin/env bash
# Where the gateway's CPU goes, stage by stage (issue #14): the full pipeline (anonymous identity, one allow
# rule, card masking both ways, signed audit at the given durability) under closed-loop load, sampled with
# `perf record -g` on the gateway process, each sample attributed to the stage that owns its innermost
# FastMcp frame (or the thread / system call it is in). Prints a markdown table: share of the gateway's
# samples and µs per request (share x the gateway's CPU per request from fastmcp-load).
#   bench/profile-pipeline.sh GATEWAY_BINARY [Strict|Batched] [label]
# The binary should keep its symbols: dotnet publish src/FastMcp.Gateway -c Release -r linux-x64 -p:StripSymbols=false
# Env: LOAD, UPSTREAM (published fastmcp-load / fastmcp-bench-upstream), CONNECTIONS (32), DURATION (10), SECONDS (6, sampled).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GW=$1 MODE=${2:-Strict} LABEL=${3:-$MODE}
CONN=${CONNECTIONS:-32} DUR=${DURATION:-10} SAMPLE=${SECONDS_SAMPLED:-6}
command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)" >&2; exit 2; }
# shellcheck source=bench/single-gateway-run.sh
source "$ROOT/bench/single-gateway-run.sh"
cat >"$W/c.json" <<J
{ "policy": { "rules": [ { "name": "all", "action": "allow" } ] }, "masking": { "enabled": true },
  "audit": { "directory": "$W/audit", "durability": "$MODE" } }
J
sleep 0.5
"$GW" serve --config "$W/c.json" --anonymous --upstream http://127.0.0.1:$UPORT/mcp --listen 127.0.0.1:$GPORT --admin 127.0.0.1:$APORT >"$W/gw.log" 2>&1 & GPID=$!; PIDS+=($GPID)
for _ in $(seq 50); do grep -q "listening on" "$W/gw.log" && break; sleep 0.1; done
( sleep 2; perf record -q -F 1999 -g -p $GPID -o "$W/perf.data" -- sleep "$SAMPLE" >/dev/null 2>&1 ) & PERF=$!
"$LOAD" --url http://127.0.0.1:$GPORT/mcp --connections "$CONN" --duration "$DUR" --warmup 1 --pid $GPID --label "$LABEL" --json "$W/load.json" >/dev/null
wait $PERF || true
kill -TERM $GPID; wait $GPID 2>/dev/null || true
perf script -i "$W/perf.data" 2>/dev/null >"$W/samples.txt"
python3 - "$W" "$LABEL" <<'P'
import json, sys, collections
w, label = sys.argv[1], sys.argv[2]
d = json.load(open(w + '/load.json'))
cpu = float(d['cpu'][0]['us_per_request'])

def stage_of_frame(sym):
    if sym.startswith('FastMcp_Http_'): return 'frame: HTTP head and body framing'
    if sym.startswith('FastMcp_Mcp_'): return 'inspect: JSON-RPC / MCP parsing'
    if sym.startswith('FastMcp_Identity_') or '_Stages_Authentication' in sym: return 'authenticate'
    if sym.startswith('FastMcp_Policy_') or '_Stages_PolicyAuthorization' in sym: return 'decide: policy'
    if sym.startswith('FastMcp_Pan_') or '_Stages_PanMasking' in sym or '_Stages_CardText' in sym: return 'mask: card numbers'
    if sym.startswith('FastMcp_Audit_') or '_Stages_AuditRecording' in sym: return 'record: building and handing audit records'
    if '_Gateway_Tracing_' in sym or '_Hosting_AccessLog' in sym: return 'trace and access log'
    if '_Gateway_Transport_' in sym: return 'socket loops (Transport)'
    if '_Gateway_Forwarding_' in sym or '_Gateway_Upstream_' in sym: return 'forward and relay'
    if '_Gateway_Proxy_' in sym or '_Gateway_Stages_' in sym: return 'connection and stage logic'
    if sym.startswith('fastmcp_FastMcp_Gateway_') : return 'other gateway code'
    return None

def syscall_of(frames):
    # First user-space frame above the kernel frames names the call.
    for sym, dso in frames:
        if dso == '[kernel.kallsyms]': continue
        s = sym
        if 'send' in s: return 'kernel: send (with the peer\'s loopback receive)'
        if 'recv' in s: return 'kernel: recv'
        if 'epoll_wait' in s: return 'kernel: epoll_wait (sleep and wake)'
        if 'fdatasync' in s or 'fsync' in s: return 'kernel: fdatasync'
        if 'pwrite' in s or 'write' in s: return 'kernel: write'
        if 'futex' in s or 'pthread_cond' in s or 'lll_lock' in s or 'SignalSemaphore' in s: return 'kernel: thread wake/wait (futex)'
        if 'sched_yield' in s or 'SpinWait' in s or 'Yield' in s: return 'kernel: sched_yield'
        return 'kernel: other (' + s.split('+')[0][:40] + ')'
    return 'kernel: interrupts and scheduling'

counts = collections.Counter(); total = 0
thread = None; frames = []
def flush():
    global total
    if thread is None or not frames: return
    total += 1
    leaf_sym, leaf_dso = frames[0]
    writer = thread.startswith('fastmcp-audit')
    if leaf_dso == '[kernel.kallsyms]':
        k = syscall_of(frames)
        counts[('audit writer thread: ' if writer else '') + k] += 1
        return
    if leaf_sym.startswith('ZstdSharp_'): counts['record: zstd compression' + (' (writer thread)' if writer else '')] += 1; return
    if 'libcrypto' in leaf_dso: counts['record: SHA-256 / ECDSA (libcrypto)' + (' (writer thread)' if writer else '')] += 1; return
    for sym, dso in frames:
        st = stage_of_frame(sym)
        if st:
            counts[(st + ' (writer thread)') if writer else st] += 1
            return
    counts['runtime: thread pool, async machinery, GC' + (' (writer thread)' if writer else '')] += 1

for line in open(w + '/samples.txt', errors='replace'):
    if not line.strip():
        flush(); thread = None; frames = []; continue
    if not line.startswith('\t') and not line.startswith(' '):
        parts = line.split()
        # "comm with spaces TID time: period event:" -> comm is everything before the first all-digit field
        name = []
        for p in parts:
            if p.isdigit(): break
            name.append(p)
        thread = ' '.join(name); frames = []
        continue
    t = line.strip().split(' ', 1)
    if len(t) < 2: continue
    rest = t[1]
    dso = rest[rest.rfind('(')+1:-1] if rest.endswith(')') else ''
    sym = rest[:rest.rfind(' (')] if ' (' in rest else rest
    frames.append((sym, dso))
flush()
print(f"{label}: {d['rps']:,.0f} req/s, gateway CPU {cpu} µs/request, {total} samples")
print()
print('| where | share of gateway CPU | µs/request |')
print('|---|---:|---:|')
for k, n in counts.most_common():
    share = n / total
    if share < 0.005: continue
    print(f'| {k} | {share*100:.1f} % | {share*cpu:.1f} |')
P
