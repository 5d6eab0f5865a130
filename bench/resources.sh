#!/usr/bin/env bash
# What the gateway costs besides throughput, measured on the published native binary:
#   start-up   spawn -> port accepting -> first MCP answer, N runs per configuration
#   memory     resident set idle, then with 1,000 client connections open (each made one call,
#              all 1,000 calls in flight at once), and the peak
#   latency    open loop at half of each gateway's own peak: p50/p99/p99.9 of the gateway and of
#              the direct path at the same rate, alternating; "added" = gateway minus direct
# Writes the section "## Start-up, memory and latency at half load" of bench/RESULTS.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ART="$ROOT/artifacts/bench"
RESULTS="$ROOT/bench/RESULTS.md"
STARTS=20
CONNECTIONS=1000
DURATION=10
ROUNDS=2
BUILD=1
WRITE_RESULTS=1

usage() {
  cat <<'EOF'
usage: bench/resources.sh [options]
  --starts N          start-up runs per configuration (default 20)
  --connections N     client connections for the memory measurement (default 1000)
  --duration S        seconds per open-loop latency run (default 10)
  --rounds N          latency rounds, each runs every target once (default 2)
  --no-build          reuse binaries already in artifacts/bench
  --no-results        print the section but leave bench/RESULTS.md alone
EOF
}

ARGS_TEXT="bench/resources.sh${*:+ $*}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --starts) STARTS=$2; shift 2 ;;
    --connections) CONNECTIONS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-results) WRITE_RESULTS=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done

log() { printf '[resources %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

WORK=$(mktemp -d -t fastmcp-resources.XXXXXX)
declare -a STARTED=()
cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${STARTED[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

publish_native() { # project output-dir
  log "publishing $1 (Native AOT)"
  dotnet publish "$ROOT/$1" -c Release -r linux-x64 -o "$2" -nologo -v quiet >"$WORK/publish.log" 2>&1 \
    || { cat "$WORK/publish.log" >&2; return 1; }
}
if [[ $BUILD -eq 1 ]]; then
  publish_native bench/FastMcp.Load/FastMcp.Load.csproj "$ART/load"
  publish_native bench/FastMcp.BenchUpstream/FastMcp.BenchUpstream.csproj "$ART/upstream"
  publish_native src/FastMcp.Gateway/FastMcp.Gateway.csproj "$ART/gateway"
fi
LOAD="$ART/load/fastmcp-load"
UPSTREAM="$ART/upstream/fastmcp-bench-upstream"
GATEWAY="$ART/gateway/fastmcp"
for exe in "$LOAD" "$UPSTREAM" "$GATEWAY"; do
  [[ -x $exe ]] || { echo "missing $exe (run without --no-build)" >&2; exit 1; }
done

# 1,000 client sockets plus as many upstream ones, in the gateway and in the measuring script.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
(( $(ulimit -n) >= 2 * CONNECTIONS + 256 )) || { echo "ulimit -n is $(ulimit -n): too low for $CONNECTIONS connections" >&2; exit 1; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
wait_for_line() { # file pattern pid seconds
  local deadline=$((SECONDS + $4))
  while (( SECONDS < deadline )); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

UP_PORT=$(free_port)
"$UPSTREAM" --listen "127.0.0.1:$UP_PORT" >"$WORK/upstream.log" 2>&1 &
UP_PID=$!; STARTED+=("$UP_PID")
wait_for_line "$WORK/upstream.log" "listening on" "$UP_PID" 20 || { cat "$WORK/upstream.log" >&2; exit 1; }
UP_URL="http://127.0.0.1:$UP_PORT/mcp"
log "canned upstream $UP_URL"

# The full configuration of bench/compare.sh: rules, masking both ways, strict signed audit.
cat >"$WORK/full.json" <<EOF
{
  "policy": {
    "defaultAction": "deny",
    "rules": [
      { "name": "no-destructive-tools", "action": "deny", "methods": ["tools/call"], "names": ["drop_*", "delete_*"] },
      { "name": "no-cards-in-arguments", "action": "deny", "methods": ["tools/call"],
        "arguments": [ { "pointer": "", "containsCardNumber": true } ] },
      { "name": "bench-tools", "action": "allow", "methods": ["tools/call"], "names": ["echo", "cards", "stream"] },
      { "name": "session-and-lists", "action": "allow", "methods": ["initialize", "ping", "tools/list", "notifications/*"] }
    ]
  },
  "masking": { "enabled": true, "requests": "mask" },
  "audit": { "directory": "$WORK/audit-full", "durability": "Strict" }
}
EOF

# ---------------------------------------------------------------- start-up
log "start-up: $STARTS runs per configuration"
python3 - "$GATEWAY" "$UP_URL" "$WORK" "$STARTS" >"$WORK/startup.md" <<'PY'
import json, os, shutil, signal, socket, statistics, subprocess, sys, time
gateway, upstream, work, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

CALL = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"message": "hi"}}}).encode()

def answer(port):
    """One MCP call; True on HTTP 200 with a JSON-RPC result."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    head = (f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json, text/event-stream\r\nContent-Length: {len(CALL)}\r\nConnection: close\r\n\r\n").encode()
    s.sendall(head + CALL)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk: break
        data += chunk
    s.close()
    return data.startswith(b"HTTP/1.1 200") and b'"result"' in data

def one(args, cwd):
    port = free_port()
    t0 = time.perf_counter()
    p = subprocess.Popen([gateway, "serve", "--listen", f"127.0.0.1:{port}", "--admin", "", *args], cwd=cwd,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t_listen = t_answer = None
    deadline = t0 + 10
    while time.perf_counter() < deadline:
        try:
            c = socket.create_connection(("127.0.0.1", port), timeout=0.05); c.close()
            t_listen = time.perf_counter() - t0
            break
        except OSError:
            time.sleep(0.0005)
    while t_listen is not None and time.perf_counter() < deadline:
        try:
            if answer(port):
                t_answer = time.perf_counter() - t0
                break
        except OSError:
            pass
        time.sleep(0.0005)
    p.send_signal(signal.SIGTERM)
    try: p.wait(10)
    except subprocess.TimeoutExpired: p.kill(); p.wait()
    if t_listen is None or t_answer is None: raise SystemExit(f"gateway {' '.join(args)} did not serve within 10 s")
    return t_listen * 1000, t_answer * 1000

configs = [
    ("embedded defaults, first start (generates the audit key)", ["--anonymous"], "fresh"),
    ("embedded defaults, later starts (demo upstream, audit on)", ["--anonymous"], "warm"),
    ("full pipeline config, canned upstream", ["--anonymous", "--config", os.path.join(work, "full.json"), "--upstream", upstream], "warm"),
    ("pass-through, canned upstream", ["--passthrough", "--upstream", upstream], "warm"),
]
print("| configuration | runs | port accepting: min / median / p90 ms | first MCP answer: min / median / p90 ms |")
print("|---|---:|---:|---:|")
for name, args, mode in configs:
    listen, ans = [], []
    for i in range(runs):
        cwd = os.path.join(work, "start-" + mode + (str(i) if mode == "fresh" else ""))
        os.makedirs(cwd, exist_ok=True)
        a, b = one(args, cwd)
        listen.append(a); ans.append(b)
        if mode == "fresh": shutil.rmtree(cwd, ignore_errors=True)
    def fmt(v):
        v = sorted(v); return f"{v[0]:.1f} / {statistics.median(v):.1f} / {v[int(0.9 * (len(v) - 1))]:.1f}"
    print(f"| {name} | {runs} | {fmt(listen)} | {fmt(ans)} |")
PY

# ---------------------------------------------------------------- memory
log "memory: idle, then $CONNECTIONS connections"
G_PORT=$(free_port)
(cd "$WORK" && exec "$GATEWAY" serve --anonymous --config "$WORK/full.json" --upstream "$UP_URL" --listen "127.0.0.1:$G_PORT" --admin "") >"$WORK/gw-mem.log" 2>&1 &
G_PID=$!; STARTED+=("$G_PID")
wait_for_line "$WORK/gw-mem.log" "fastmcp listening on" "$G_PID" 20 || { cat "$WORK/gw-mem.log" >&2; exit 1; }
python3 - "$G_PID" "$G_PORT" "$CONNECTIONS" >"$WORK/memory.md" <<'PY'
import json, socket, sys, time
pid, port, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

def status():
    fields = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "VmHWM", "Threads"): fields[k] = v.strip()
    return fields

def mib(v): return f"{int(v.split()[0]) / 1024:.1f} MiB"

time.sleep(1)
idle = status()
body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "echo", "arguments": {"message": "hi"}}}).encode()
request = (f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
           f"Accept: application/json, text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body

def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data: data += s.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = next(int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length"))
    while len(rest) < length: rest += s.recv(65536)
    return head.startswith(b"HTTP/1.1 200")

socks = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(n)]
ok = 0
for i in range(0, n, 50):                     # each connection makes one call, 50 in flight at a time
    batch = socks[i:i + 50]
    for s in batch: s.sendall(request)
    ok += sum(read_response(s) for s in batch)
time.sleep(1)
open_idle = status()
for s in socks: s.sendall(request)           # then every connection calls at once
burst = sum(read_response(s) for s in socks)
time.sleep(1)
after_burst = status()
for s in socks: s.close()
print("| state | resident (VmRSS) | threads |")
print("|---|---:|---:|")
print(f"| idle after start | {mib(idle['VmRSS'])} | {idle['Threads']} |")
print(f"| {n} connections open, each after one call (50 in flight at a time; {ok} answered 200) | {mib(open_idle['VmRSS'])} | {open_idle['Threads']} |")
print(f"| the same {n} connections after all {n} called at once ({burst} answered 200) | {mib(after_burst['VmRSS'])} | {after_burst['Threads']} |")
print(f"| peak over the run (VmHWM) | {mib(after_burst['VmHWM'])} | |")
PY
kill "$G_PID" 2>/dev/null || true; wait "$G_PID" 2>/dev/null || true

# ---------------------------------------------------------------- latency at half load
# "Half load" is half of the gateway's own peak (closed loop, 32 connections). At that rate the
# direct path and the gateway are both measured open loop, so "added" compares equal offered load.
declare -A URL=([direct]=$UP_URL) RATE=()
# Not called in $(...): the pid must reach STARTED in this shell so that cleanup stops the gateway.
start_gateway() { # name args...
  local name=$1; shift
  local port; port=$(free_port)
  (cd "$WORK" && exec "$GATEWAY" serve --upstream "$UP_URL" --listen "127.0.0.1:$port" --admin "" "$@") >"$WORK/$name.log" 2>&1 &
  local pid=$!; STARTED+=("$pid")
  wait_for_line "$WORK/$name.log" "fastmcp listening on" "$pid" 20 || { cat "$WORK/$name.log" >&2; exit 1; }
  URL[$name]="http://127.0.0.1:$port/mcp"
}
start_gateway full --anonymous --config "$WORK/full.json"
start_gateway pass --passthrough
rps_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rps"])' "$1"; }
for t in full pass; do
  "$LOAD" --url "${URL[$t]}" --scenario echo --connections 32 --duration 5 --warmup 2 --json "$WORK/peak.$t.json" >/dev/null
  RATE[$t]=$(python3 -c 'import sys; print(int(float(sys.argv[1]) / 2))' "$(rps_of "$WORK/peak.$t.json")")
  log "latency: $t peak $(rps_of "$WORK/peak.$t.json") req/s; open loop at ${RATE[$t]} req/s against it and direct"
done
for round in $(seq 1 "$ROUNDS"); do
  for t in full pass; do
    for target in direct "$t"; do
      "$LOAD" --url "${URL[$target]}" --scenario echo --connections 64 --rate "${RATE[$t]}" --duration "$DURATION" --warmup 2 \
        --json "$WORK/lat.$t.$target.$round.json" >/dev/null
    done
  done
done
python3 - "$WORK" >"$WORK/latency.md" <<'PY'
import glob, json, os, statistics, sys
work = sys.argv[1]
def runs(t, target): return [json.load(open(p)) for p in sorted(glob.glob(os.path.join(work, f"lat.{t}.{target}.*.json")))]
def m(rs, k): return statistics.fmean(r["latency_ms"][k] for r in rs)
print("Open loop (64 connections, corrected for coordinated omission) at half of each gateway's own closed-loop peak;")
print("the direct path runs at the same rate right before it in every round.\n")
print("| gateway | its peak req/s | offered req/s | direct p50 / p99 ms | gateway p50 / p99 / p99.9 ms | added p50 µs | **added p99 µs** | errors |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for t, name in (("full", "full pipeline (strict audit)"), ("pass", "pass-through")):
    d, g = runs(t, "direct"), runs(t, t)
    peak = json.load(open(os.path.join(work, f"peak.{t}.json")))["rps"]
    rate = statistics.fmean(r["rate"] for r in g)
    print(f"| {name} | {peak:,.0f} | {rate:,.0f} | {m(d,'p50'):.3f} / {m(d,'p99'):.3f} | {m(g,'p50'):.3f} / {m(g,'p99'):.3f} / {m(g,'p999'):.3f} | "
          f"{(m(g,'p50') - m(d,'p50')) * 1000:,.0f} | {(m(g,'p99') - m(d,'p99')) * 1000:,.0f} | {sum(r['errors'] for r in d + g)} |")
PY

# ---------------------------------------------------------------- section
NOW=$(date -u '+%Y-%m-%d %H:%M UTC')
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)
CPU=$(lscpu 2>/dev/null | awk -F: '/Model name/ {gsub(/^ +/, "", $2); print $2; exit}')
{
  echo "## Start-up, memory and latency at half load"
  echo
  echo "Command: \`$ARGS_TEXT\` ($NOW; $CPU, $(nproc) cores, load average $LOADAVG after the run;"
  echo "native binaries published by the script; full = the bench/compare.sh configuration: anonymous identity,"
  echo "4-rule policy, card masking, strict signed audit)."
  echo
  echo "### Start-up (spawn to port accepting, and to the first successful tools/call)"
  echo
  cat "$WORK/startup.md"
  echo
  echo "### Resident memory"
  echo
  cat "$WORK/memory.md"
  echo
  echo "### Latency at half load"
  echo
  cat "$WORK/latency.md"
} >"$WORK/section.md"
cat "$WORK/section.md"

if [[ $WRITE_RESULTS -eq 1 ]]; then
  python3 - "$RESULTS" "$WORK/section.md" <<'PY'
import re, sys
path, section_path = sys.argv[1], sys.argv[2]
text = open(path).read()
section = open(section_path).read().rstrip() + "\n"
pattern = re.compile(r"^## Start-up, memory and latency at half load\n.*?(?=^## |\Z)", re.S | re.M)
text = pattern.sub(lambda m: section + "\n", text, count=1) if pattern.search(text) else text.rstrip() + "\n\n" + section
open(path, "w").write(text.rstrip() + "\n")
PY
  log "wrote $RESULTS"
fi
