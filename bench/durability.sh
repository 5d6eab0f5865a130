#!/usr/bin/env bash
# Measures what strict audit durability costs through the gateway: the same closed-loop load
# against direct, --passthrough, and the full pipeline with audit "Strict" and "Batched",
# alternating in rounds, and writes the table under "## Audit durability cost" in bench/RESULTS.md.
# Needs the published binaries: artifacts/native/fastmcp (tests/run.sh or dotnet publish) and
# artifacts/bench/{load,upstream} (bench/compare.sh builds them).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GW="${FASTMCP_BIN:-$ROOT/artifacts/native/fastmcp}"
UP="$ROOT/artifacts/bench/upstream/fastmcp-bench-upstream"
LOAD="$ROOT/artifacts/bench/load/fastmcp-load"
ROUNDS="${ROUNDS:-2}" DURATION="${DURATION:-8}" CONNECTIONS="${CONNECTIONS:-32}"
for b in "$GW" "$UP" "$LOAD"; do [[ -x $b ]] || { echo "missing $b (publish it first)" >&2; exit 2; }; done
WORK="$(mktemp -d)"; PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
UPORT=$(free_port); GPORT=$(free_port)
"$UP" --listen "127.0.0.1:$UPORT" >"$WORK/up.log" 2>&1 & UPID=$!; PIDS+=("$UPID"); sleep 1
for mode in Strict Batched; do
  cat >"$WORK/$mode.json" <<EOF
{ "policy": { "rules": [ { "name": "all", "action": "allow" } ] },
  "masking": { "enabled": true },
  "audit": { "directory": "$WORK/audit-$mode", "durability": "$mode" } }
EOF
done
run() { # label pid url
  timeout $((DURATION + 30)) "$LOAD" --url "$3" --connections "$CONNECTIONS" --duration "$DURATION" --warmup 2 --pid "$2" --label "$1" --json "$WORK/$1-$r.json" >/dev/null
}
for r in $(seq 1 "$ROUNDS"); do
  run direct "$UPID" "http://127.0.0.1:$UPORT/mcp"
  for target in passthrough Strict Batched; do
    if [[ $target == passthrough ]]; then args=(--passthrough); else args=(--config "$WORK/$target.json" --anonymous); fi
    "$GW" serve "${args[@]}" --upstream "http://127.0.0.1:$UPORT/mcp" --listen "127.0.0.1:$GPORT" --admin "" >"$WORK/gw.log" 2>&1 & GPID=$!
    for _ in $(seq 50); do grep -q "listening on" "$WORK/gw.log" && break; sleep 0.1; done
    run "$target" "$GPID" "http://127.0.0.1:$GPORT/mcp"
    kill -TERM "$GPID"; wait "$GPID" 2>/dev/null || true
  done
done
TABLE=$(python3 - "$WORK" "$ROUNDS" <<'PY'
import json, sys, glob
work, rounds = sys.argv[1], int(sys.argv[2])
rows = []
direct = None
for label in ["direct", "passthrough", "Strict", "Batched"]:
    runs = [json.load(open(f)) for f in sorted(glob.glob(f"{work}/{label}-*.json"))]
    def avg(path):
        xs = []
        for d in runs:
            v = d
            for k in path: v = v[k]
            xs.append(float(v))
        return sum(xs) / len(xs)
    rps = avg(["rps"]); p50 = avg(["latency_ms", "p50"]); p99 = avg(["latency_ms", "p99"])
    cpu = sum(float(d["cpu"][0]["us_per_request"]) for d in runs) / len(runs)
    if label == "direct": direct = rps
    name = {"direct": "direct (canned upstream)", "passthrough": "fastmcp --passthrough", "Strict": "fastmcp full, audit Strict", "Batched": "fastmcp full, audit Batched"}[label]
    rows.append(f"| {name} | {rps:,.0f} | {rps/direct:.2f}x | {p50:.3f} | {p99:.3f} | {cpu:.1f} |")
print("| target | req/s | vs direct | p50 ms | p99 ms | target CPU µs/req |")
print("|---|---:|---:|---:|---:|---:|")
print("\n".join(rows))
PY
)
SECTION="## Audit durability cost

Written by \`bench/durability.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') (do not edit by hand).
Machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), load average at the end: $(cut -d' ' -f1-3 /proc/loadavg).
Workload: fastmcp-load, echo scenario, closed loop, $CONNECTIONS connections, ${DURATION} s after 2 s warm-up, $ROUNDS rounds alternating targets (means).
Full pipeline = anonymous identity, a one-rule policy, PAN masking, signed audit; Strict fsyncs (group commit) the request record before forwarding and the response record before releasing it.

$TABLE
"
python3 - "$ROOT/bench/RESULTS.md" "$SECTION" <<'PY'
import sys, re
path, section = sys.argv[1], sys.argv[2]
text = open(path).read()
pattern = re.compile(r"## Audit durability cost\n.*?(?=\n## |\Z)", re.S)
text = pattern.sub(section.strip() + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section.strip() + "\n"
open(path, "w").write(text)
PY
echo "$SECTION"
