#!/usr/bin/env bash
# Side-by-side proxy comparison: the same MCP workload, in one run, against
#   direct          the canned upstream itself (the ceiling)
#   fastmcp-full    the FastMcp gateway with its default pipeline (or --gateway-config FILE)
#   fastmcp-pass    the FastMcp gateway with --passthrough (no inspection, masking, policy, audit)
#   haproxy         HAProxy in HTTP mode (Debian package)
#   yarp            a minimal YARP pass-through (bench/FastMcp.YarpProxy, JIT)
#   fastmcp-tls     fastmcp-pass terminating TLS itself (tls section; certificates made by openssl here)
#   haproxy-tls     haproxy in HTTP mode terminating TLS with the same certificate (bind ... ssl)
# The TLS pair is opt-in (--targets "... fastmcp-tls haproxy-tls"): the load generator speaks
# TLS 1.3 with ALPN http/1.1 to both, trusting the generated CA (--ca), keep-alive connections.
# With --baseline-ref REF the gateway is also built at git REF and its fastmcp targets run beside
# the current ones (fastmcp-full-base, fastmcp-pass-base, fastmcp-tls-base): a change measured against what it
# changed, in the same run.
# Targets are alternated in rounds so that drift on a shared machine hits all of them alike.
# Writes the table under "## Proxy comparison" in bench/RESULTS.md (only that section is replaced).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ART="$ROOT/artifacts/bench"
RESULTS="$ROOT/bench/RESULTS.md"

CONNECTIONS=32
DURATION=10
WARMUP=2
ROUNDS=2
SCENARIOS="echo"
TARGETS="direct fastmcp-full fastmcp-pass haproxy yarp"
GATEWAY_CONFIG=""
GATEWAY_CONFIG_B=""
GATEWAY_ENV_B=""
BUILD=1
WRITE_RESULTS=1
BASELINE_REF=""
RATE=""
SYSCALL_PASS=1
SYSCALL_SECONDS=5

usage() {
  cat <<'EOF'
usage: bench/compare.sh [options]
  --connections N        closed-loop connections per run (default 32)
  --duration S           measured seconds per target per round (default 10)
  --warmup S             warm-up seconds before each measurement (default 2)
  --rounds N             rounds; each round runs every target once (default 2)
  --scenario LIST        comma-separated: echo,cards,stream,mixed (default echo)
  --targets "LIST"       subset of: direct fastmcp-full fastmcp-pass haproxy yarp fastmcp-tls haproxy-tls
  --gateway-config FILE  config for fastmcp-full (default: a generated one with policy, masking
                         and strict audit on)
  --gateway-config-b FILE
                         also run fastmcp-full-b: the same gateway build with this second config,
                         alternated with fastmcp-full in the same rounds (a feature on vs off)
  --gateway-env-b "K=V ..."
                         also run fastmcp-pass-b and fastmcp-full-b: the same build and config with
                         these environment variables (a runtime setting on vs off, in the same rounds)
  --no-build             reuse binaries already in artifacts/bench
  --no-results           print the table but leave bench/RESULTS.md alone
  --rate R               open loop at R requests/s in total (coordinated-omission corrected)
                         instead of the closed loop; the table goes under its own heading
  --baseline-ref REF     also build the gateway at git REF (a worktree) and run its fastmcp
                         targets beside the current build; the table goes under its own heading
  --no-syscalls          skip the separate strace -c pass (system calls per request column)
  --syscall-seconds S    length of that pass per target (default 5)
EOF
}

ARGS_TEXT="bench/compare.sh${*:+ $*}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --connections) CONNECTIONS=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --scenario) SCENARIOS=${2//,/ }; shift 2 ;;
    --targets) TARGETS=$2; shift 2 ;;
    --gateway-config) GATEWAY_CONFIG=$(realpath "$2"); shift 2 ;;
    --gateway-config-b) GATEWAY_CONFIG_B=$(realpath "$2"); shift 2 ;;
    --gateway-env-b) GATEWAY_ENV_B=$2; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-results) WRITE_RESULTS=0; shift ;;
    --baseline-ref) BASELINE_REF=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --no-syscalls) SYSCALL_PASS=0; shift ;;
    --syscall-seconds) SYSCALL_SECONDS=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
done

log() { printf '[compare %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
has_target() { [[ " $TARGETS " == *" $1 "* ]]; }

WORK=$(mktemp -d -t fastmcp-compare.XXXXXX)
declare -a STARTED=()
cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  sleep 0.5
  for pid in "${STARTED[@]}"; do
    kill -9 "$pid" 2>/dev/null || true
  done
  if [[ -d $WORK/baseline-src ]]; then git -C "$ROOT" worktree remove --force "$WORK/baseline-src" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- build
publish_native() { # project output-dir
  log "publishing $1 (Native AOT)"
  dotnet publish "$ROOT/$1" -c Release -r linux-x64 -o "$2" -nologo -v quiet >"$WORK/publish.log" 2>&1 \
    || { cat "$WORK/publish.log" >&2; return 1; }
}

GATEWAY_NOTE=""
BASELINE_COMMIT=""
if [[ -n $BASELINE_REF ]]; then
  BASELINE_COMMIT=$(git -C "$ROOT" rev-parse --short "$BASELINE_REF^{commit}") || { echo "unknown git ref: $BASELINE_REF" >&2; exit 2; }
fi
if [[ $BUILD -eq 1 ]]; then
  command -v haproxy >/dev/null || { log "installing haproxy"; apt-get install -y haproxy >/dev/null; }
  publish_native bench/FastMcp.Load/FastMcp.Load.csproj "$ART/load"
  publish_native bench/FastMcp.BenchUpstream/FastMcp.BenchUpstream.csproj "$ART/upstream"
  if has_target yarp; then
    log "building the YARP peer (framework-dependent, JIT)"
    dotnet publish "$ROOT/bench/FastMcp.YarpProxy/FastMcp.YarpProxy.csproj" -c Release -o "$ART/yarp" -nologo -v quiet >"$WORK/publish.log" 2>&1 \
      || { cat "$WORK/publish.log" >&2; exit 1; }
  fi
  if has_target fastmcp-full || has_target fastmcp-pass || has_target fastmcp-tls; then
    if ! publish_native src/FastMcp.Gateway/FastMcp.Gateway.csproj "$ART/gateway"; then
      GATEWAY_NOTE="gateway failed to build"
      log "$GATEWAY_NOTE: skipping the fastmcp targets"
    fi
    if [[ -n $BASELINE_REF ]]; then
      log "building the baseline gateway at $BASELINE_REF ($BASELINE_COMMIT)"
      git -C "$ROOT" worktree add --detach "$WORK/baseline-src" "$BASELINE_COMMIT" >/dev/null 2>&1 \
        || { echo "cannot check out $BASELINE_REF" >&2; exit 1; }
      ROOT_SAVED=$ROOT; ROOT="$WORK/baseline-src"
      if ! publish_native src/FastMcp.Gateway/FastMcp.Gateway.csproj "$ART/gateway-baseline"; then
        GATEWAY_NOTE="${GATEWAY_NOTE:+$GATEWAY_NOTE; }baseline gateway failed to build"
      fi
      ROOT=$ROOT_SAVED
    fi
  fi
fi

LOAD="$ART/load/fastmcp-load"
UPSTREAM="$ART/upstream/fastmcp-bench-upstream"
GATEWAY="$ART/gateway/fastmcp"
BASELINE_GATEWAY="$ART/gateway-baseline/fastmcp"
YARP_DLL="$ART/yarp/fastmcp-yarp-proxy.dll"
for exe in "$LOAD" "$UPSTREAM"; do
  [[ -x $exe ]] || { echo "missing $exe (run without --no-build)" >&2; exit 1; }
done

# ---------------------------------------------------------------- start targets
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

wait_for_line() { # log-file pattern pid seconds
  local deadline=$((SECONDS + $4))
  while (( SECONDS < deadline )); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

wait_for_port() { # port pid seconds
  local deadline=$((SECONDS + $3))
  while (( SECONDS < deadline )); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

declare -A URL=() PID=() NOTE=() ADMIN=() LOADARGS=()

# One CA and one server certificate (EC P-256, 127.0.0.1) for both TLS targets.
if has_target fastmcp-tls || has_target haproxy-tls; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/ca.key" -out "$WORK/ca.pem" \
    -days 2 -subj "/CN=fastmcp bench CA" -addext basicConstraints=critical,CA:TRUE 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/tls.key" -out "$WORK/tls.csr" -subj "/CN=127.0.0.1" 2>/dev/null
  printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$WORK/tls.ext"
  openssl x509 -req -in "$WORK/tls.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -set_serial 1 -days 2 \
    -extfile "$WORK/tls.ext" -out "$WORK/tls.pem" 2>/dev/null
  cat "$WORK/tls.pem" "$WORK/tls.key" >"$WORK/tls-haproxy.pem"
fi

UP_PORT=$(free_port)
"$UPSTREAM" --listen "127.0.0.1:$UP_PORT" >"$WORK/upstream.log" 2>&1 &
STARTED+=($!); UP_PID=$!
wait_for_line "$WORK/upstream.log" "listening on" "$UP_PID" 20 || { cat "$WORK/upstream.log" >&2; exit 1; }
UP_URL="http://127.0.0.1:$UP_PORT/mcp"
log "upstream $UP_URL (pid $UP_PID)"
if has_target direct; then URL[direct]=$UP_URL; PID[direct]=$UP_PID; NOTE[direct]="canned upstream, Native AOT"; fi

if has_target haproxy; then
  HA_PORT=$(free_port)
  cat >"$WORK/haproxy.cfg" <<EOF
global
    # Few connections are used; a small maxconn keeps haproxy under a container's FD limit.
    maxconn 4096
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend bench
    bind 127.0.0.1:$HA_PORT
    default_backend upstream
backend upstream
    server canned 127.0.0.1:$UP_PORT
EOF
  haproxy -db -f "$WORK/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
  STARTED+=($!)
  if wait_for_port "$HA_PORT" $! 20; then
    URL[haproxy]="http://127.0.0.1:$HA_PORT/mcp"; PID[haproxy]=$!
    NOTE[haproxy]="$(haproxy -v 2>/dev/null | awk 'NR==1 {print "HAProxy " $3}'), mode http, keep-alive, http-reuse always"
  else
    log "haproxy did not start: $(tail -3 "$WORK/haproxy.log")"
  fi
fi

if has_target haproxy-tls; then
  HT_PORT=$(free_port)
  cat >"$WORK/haproxy-tls.cfg" <<EOF
global
    maxconn 4096
    ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend bench
    bind 127.0.0.1:$HT_PORT ssl crt $WORK/tls-haproxy.pem alpn http/1.1
    default_backend upstream
backend upstream
    server canned 127.0.0.1:$UP_PORT
EOF
  haproxy -db -f "$WORK/haproxy-tls.cfg" >"$WORK/haproxy-tls.log" 2>&1 &
  STARTED+=($!)
  if wait_for_port "$HT_PORT" $! 20; then
    URL[haproxy-tls]="https://127.0.0.1:$HT_PORT/mcp"; PID[haproxy-tls]=$!; LOADARGS[haproxy-tls]="--ca $WORK/ca.pem"
    NOTE[haproxy-tls]="$(haproxy -v 2>/dev/null | awk 'NR==1 {print "HAProxy " $3}'), mode http, TLS terminated (EC P-256, ALPN http/1.1), keep-alive, http-reuse always"
  else
    log "haproxy-tls did not start: $(tail -3 "$WORK/haproxy-tls.log")"
  fi
fi

if has_target yarp && [[ -f $YARP_DLL ]]; then
  Y_PORT=$(free_port)
  dotnet "$YARP_DLL" --listen "127.0.0.1:$Y_PORT" --upstream "http://127.0.0.1:$UP_PORT" >"$WORK/yarp.log" 2>&1 &
  STARTED+=($!)
  if wait_for_line "$WORK/yarp.log" "listening on" $! 30; then
    URL[yarp]="http://127.0.0.1:$Y_PORT/mcp"; PID[yarp]=$!
    NOTE[yarp]="Yarp.ReverseProxy 2.3.0 on Kestrel, JIT, server GC"
  else
    log "yarp did not start: $(tail -3 "$WORK/yarp.log")"
  fi
fi

start_gateway() { # name note binary extra-args...   (GW_ENV: "K=V ..." for this gateway only)
  local name=$1 note=$2 binary=$3; shift 3
  local port; port=$(free_port)
  # Run from the temp dir so anything written relative to the working directory stays there.
  local admin; admin=$(free_port)
  ADMIN[$name]="127.0.0.1:$admin"
  # shellcheck disable=SC2086 # GW_ENV is a list of K=V words
  (cd "$WORK" && exec env ${GW_ENV:-} "$binary" serve --upstream "$UP_URL" --listen "127.0.0.1:$port" --admin "127.0.0.1:$admin" --anonymous "$@") >"$WORK/$name.log" 2>&1 &
  local pid=$!
  STARTED+=("$pid")
  if wait_for_line "$WORK/$name.log" "fastmcp listening on" "$pid" 20; then
    URL[$name]="http://127.0.0.1:$port/mcp"; PID[$name]=$pid; NOTE[$name]=$note
  else
    log "$name did not start: $(tail -3 "$WORK/$name.log" | tr '\n' ' ')"
    GATEWAY_NOTE="${GATEWAY_NOTE:+$GATEWAY_NOTE; }$name did not start"
  fi
}

if [[ -x $GATEWAY ]]; then
  if has_target fastmcp-full; then
    if [[ -z $GATEWAY_CONFIG ]]; then
      # Everything on: a real rule list (drop_* denied, the bench tools allowed, default deny),
      # card masking both ways, and the signed audit log with fsync'd group commit (strict).
      GATEWAY_CONFIG="$WORK/fastmcp-full.json"
      cat >"$GATEWAY_CONFIG" <<EOF
{
  "policy": {
    "defaultAction": "deny",
    "defaultMessage": "not allowed by the benchmark policy",
    "rules": [
      { "name": "no-destructive-tools", "action": "deny", "methods": ["tools/call"], "names": ["drop_*", "delete_*"],
        "message": "destructive tools are denied" },
      { "name": "no-cards-in-arguments", "action": "deny", "methods": ["tools/call"],
        "arguments": [ { "pointer": "", "containsCardNumber": true } ] },
      { "name": "bench-tools", "action": "allow", "methods": ["tools/call"], "names": ["echo", "cards", "stream"] },
      { "name": "session-and-lists", "action": "allow",
        "methods": ["initialize", "ping", "tools/list", "notifications/*"] }
    ]
  },
  "masking": { "enabled": true, "requests": "mask" },
  "audit": { "directory": "$WORK/audit-full", "durability": "Strict" }
}
EOF
      FULL_NOTE="Native AOT, anonymous identity, 4-rule policy, card masking, signed audit (strict: fsync'd group commit)"
    else
      FULL_NOTE="Native AOT, config $(basename "$GATEWAY_CONFIG")"
    fi
    start_gateway fastmcp-full "$FULL_NOTE" "$GATEWAY" --config "$GATEWAY_CONFIG"
    if [[ -n $GATEWAY_CONFIG_B ]]; then
      start_gateway fastmcp-full-b "the same build, config $(basename "$GATEWAY_CONFIG_B")" "$GATEWAY" --config "$GATEWAY_CONFIG_B"
    elif [[ -n $GATEWAY_ENV_B ]]; then
      sed -E 's#("directory"[[:space:]]*:[[:space:]]*"[^"]*)"#\1-b"#' "$GATEWAY_CONFIG" >"$WORK/fastmcp-full-b.json"
      GW_ENV=$GATEWAY_ENV_B start_gateway fastmcp-full-b "the fastmcp-full configuration with $GATEWAY_ENV_B" "$GATEWAY" --config "$WORK/fastmcp-full-b.json"
    fi
    if [[ -n $BASELINE_REF && -x $BASELINE_GATEWAY ]]; then
      # Its own copy of the configuration, so that the two gateways never share an audit folder.
      # Any audit "directory" gets a -base suffix (a given --gateway-config names its own folder).
      sed -E 's#("directory"[[:space:]]*:[[:space:]]*"[^"]*)"#\1-base"#' "$GATEWAY_CONFIG" >"$WORK/fastmcp-full-base.json"
      start_gateway fastmcp-full-base "the fastmcp-full configuration, gateway built at $BASELINE_REF ($BASELINE_COMMIT)" "$BASELINE_GATEWAY" --config "$WORK/fastmcp-full-base.json"
    fi
  fi
  if has_target fastmcp-tls; then
    cat >"$WORK/fastmcp-tls.json" <<EOF
{ "tls": { "certificateFile": "$WORK/tls.pem", "keyFile": "$WORK/tls.key" }, "publicScheme": "https" }
EOF
    start_gateway fastmcp-tls "Native AOT, --passthrough, TLS terminated (EC P-256, ALPN http/1.1)" "$GATEWAY" --passthrough --config "$WORK/fastmcp-tls.json"
    if [[ -n ${URL[fastmcp-tls]:-} ]]; then URL[fastmcp-tls]=${URL[fastmcp-tls]/http:/https:}; LOADARGS[fastmcp-tls]="--ca $WORK/ca.pem"; fi
    if [[ -n $BASELINE_REF && -x $BASELINE_GATEWAY ]]; then
      start_gateway fastmcp-tls-base "--passthrough, TLS terminated, gateway built at $BASELINE_REF ($BASELINE_COMMIT)" "$BASELINE_GATEWAY" --passthrough --config "$WORK/fastmcp-tls.json"
      if [[ -n ${URL[fastmcp-tls-base]:-} ]]; then URL[fastmcp-tls-base]=${URL[fastmcp-tls-base]/http:/https:}; LOADARGS[fastmcp-tls-base]="--ca $WORK/ca.pem"; fi
    fi
  fi
  if has_target fastmcp-pass; then
    start_gateway fastmcp-pass "Native AOT, --passthrough (no inspection, policy, masking or audit)" "$GATEWAY" --passthrough
    if [[ -n $BASELINE_REF && -x $BASELINE_GATEWAY ]]; then
      start_gateway fastmcp-pass-base "--passthrough, gateway built at $BASELINE_REF ($BASELINE_COMMIT)" "$BASELINE_GATEWAY" --passthrough
    fi
    if [[ -n $GATEWAY_ENV_B ]]; then
      GW_ENV=$GATEWAY_ENV_B start_gateway fastmcp-pass-b "--passthrough with $GATEWAY_ENV_B" "$GATEWAY" --passthrough
    fi
  fi
elif has_target fastmcp-full || has_target fastmcp-pass || has_target fastmcp-tls; then
  GATEWAY_NOTE=${GATEWAY_NOTE:-"no gateway binary at $GATEWAY"}
fi

# ---------------------------------------------------------------- run
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
# CPU is read for the target and (behind a proxy) the upstream it forwards to.
pids_of() { if [[ $1 == direct ]]; then echo "$UP_PID"; else echo "${PID[$1]},$UP_PID"; fi; }

ACTIVE=()
for t in $TARGETS; do
  [[ -n ${URL[$t]:-} ]] && ACTIVE+=("$t")
  [[ -n ${URL[$t-base]:-} ]] && ACTIVE+=("$t-base")
  [[ -n ${URL[$t-b]:-} ]] && ACTIVE+=("$t-b")
done
[[ ${#ACTIVE[@]} -gt 0 ]] || { echo "no target started" >&2; exit 1; }
log "targets: ${ACTIVE[*]}; scenarios: $SCENARIOS; $ROUNDS rounds x ${DURATION}s (+${WARMUP}s warm-up), $CONNECTIONS connections"

# One unrecorded pass per target first: the JIT peer (YARP) reaches tier-1 code and every target
# has its connections and pools warm before anything is measured.
for t in "${ACTIVE[@]}"; do
  log "pre-warm $t"
  timeout 40 "$LOAD" --url "${URL[$t]}" ${LOADARGS[$t]:-} --scenario "${SCENARIOS%% *}" --connections "$CONNECTIONS" \
    --duration 3 --warmup 0 --timeout 5 >/dev/null 2>&1 || log "pre-warm of $t failed"
done

BACKSTOP=$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { print int(d + w + 30) }')
for scenario in $SCENARIOS; do
  for round in $(seq 1 "$ROUNDS"); do
    for t in "${ACTIVE[@]}"; do
      out="$WORK/$scenario.$t.$round.json"
      log "round $round/$ROUNDS  $scenario  $t"
      # Bounded: the generator stops itself; timeout is the backstop if a target wedges.
      if ! timeout "$BACKSTOP" "$LOAD" --url "${URL[$t]}" ${LOADARGS[$t]:-} --label "$t" --scenario "$scenario" \
          --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP" --timeout 5 \
          ${RATE:+--rate "$RATE"} --pid "$(pids_of "$t")" --json "$out" >"$WORK/$scenario.$t.$round.txt" 2>&1; then
        log "$t failed: $(tail -2 "$WORK/$scenario.$t.$round.txt" | tr '\n' ' ')"
      fi
    done
  done
done

# ---------------------------------------------------------------- system calls, audit fsyncs
# A separate short pass per target under `strace -c -f` (all threads of the target process), after
# the measured rounds so that tracing never slows them: system calls per request = calls counted
# during the pass / requests the generator completed in it. Per-call breakdown kept for the notes.
if [[ $SYSCALL_PASS -eq 1 ]] && command -v strace >/dev/null; then
  for t in "${ACTIVE[@]}"; do
    target_pid=${PID[$t]}
    log "strace pass $t (pid $target_pid, ${SYSCALL_SECONDS}s)"
    strace -c -f -q -o "$WORK/strace.$t.txt" -p "$target_pid" 2>"$WORK/strace.$t.err" &
    strace_pid=$!
    sleep 1
    timeout $((SYSCALL_SECONDS + 30)) "$LOAD" --url "${URL[$t]}" ${LOADARGS[$t]:-} --label "$t" --scenario "${SCENARIOS%% *}" \
      --connections "$CONNECTIONS" --duration "$SYSCALL_SECONDS" --warmup 0 --timeout 5 \
      --json "$WORK/strace.$t.json" >/dev/null 2>&1 || log "strace pass of $t failed"
    kill -INT "$strace_pid" 2>/dev/null || true
    wait "$strace_pid" 2>/dev/null || true
  done
fi
# Audit records per fsync, from the gateway's /metrics when it exposes the figures (a
# records-per-fsync gauge, or record and fsync counters); otherwise the column says n/a.
for t in "${ACTIVE[@]}"; do
  [[ -n ${ADMIN[$t]:-} ]] || continue
  curl -fsS --max-time 5 "http://${ADMIN[$t]}/metrics" >"$WORK/metrics.$t.txt" 2>/dev/null || true
done

# ---------------------------------------------------------------- table
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
KERNEL=$(uname -r)
DOTNET=$(dotnet --version 2>/dev/null || echo unknown)
NOW=$(date -u '+%Y-%m-%d %H:%M UTC')
LOADAVG=$(cut -d' ' -f1-3 /proc/loadavg)

TABLES="$WORK/tables.md"
: >"$TABLES"
for scenario in $SCENARIOS; do
  python3 - "$WORK" "$scenario" "${ACTIVE[*]}" >>"$TABLES" <<'PY'
import json, sys, glob, os, statistics
work, scenario, targets = sys.argv[1], sys.argv[2], sys.argv[3].split()
rows = {}
for t in targets:
    runs = []
    for path in sorted(glob.glob(os.path.join(work, f"{scenario}.{t}.*.json"))):
        with open(path) as f:
            runs.append(json.load(f))
    rows[t] = runs
def mean(values):
    return statistics.fmean(values) if values else float("nan")
direct = rows.get("direct") or []
direct_rps = mean([r["rps"] for r in direct]) if direct else None
direct_p99 = mean([r["latency_ms"]["p99"] for r in direct]) if direct else None
print(f"### Scenario `{scenario}`\n")
def syscalls(t):
    """(calls per request, top calls per request) from the separate strace pass, or None."""
    try:
        with open(os.path.join(work, f"strace.{t}.json")) as f:
            requests = json.load(f)["requests"]
        per = {}
        with open(os.path.join(work, f"strace.{t}.txt")) as f:
            for line in f:
                parts = line.split()
                if len(parts) < 5 or not parts[0].replace(".", "").isdigit():
                    continue
                name = parts[-1]
                per[name] = int(parts[3])
        total = per.pop("total", None)
        if not requests or total is None:
            return None
        top = sorted(per.items(), key=lambda kv: -kv[1])[:5]
        return total / requests, ", ".join(f"{n} {c / requests:.2f}" for n, c in top)
    except (OSError, ValueError, KeyError):
        return None
def records_per_fsync(t):
    path = os.path.join(work, f"metrics.{t}.txt")
    if not os.path.exists(path):
        return "–"
    values = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        name, _, value = line.rpartition(" ")
        try:
            values[name.split("{")[0]] = float(value)
        except ValueError:
            pass
    for name, value in values.items():
        if "records_per_fsync" in name:
            return f"{value:.1f}"
    fsyncs = [v for n, v in values.items() if "fsync" in n and n.endswith("_total")]
    records = [v for n, v in values.items() if n.startswith("fastmcp_audit_records") and n.endswith("_total")]
    if fsyncs and records and fsyncs[0] > 0:
        return f"{records[0] / fsyncs[0]:.1f}"
    return "n/a"
notes = []
print("| target | req/s | vs direct | p50 ms | p99 ms | p99 vs direct | target CPU µs/req | upstream CPU µs/req | system calls/req | audit records/fsync | load generator cores | errors | rounds |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for t in targets:
    runs = rows[t]
    if not runs:
        print(f"| {t} | failed | | | | | | | | | 0 |")
        continue
    rps = mean([r["rps"] for r in runs])
    p50 = mean([r["latency_ms"]["p50"] for r in runs])
    p99 = mean([r["latency_ms"]["p99"] for r in runs])
    cpu = mean([r["cpu"][0]["us_per_request"] for r in runs if r["cpu"]])
    upstream_cpu = mean([r["cpu"][-1]["us_per_request"] for r in runs if r["cpu"]])
    loadgen = mean([r["loadgen_cpu_cores"] for r in runs])
    errors = sum(r["errors"] for r in runs)
    ratio = f"{rps / direct_rps:.2f}×" if direct_rps else "–"
    p99_ratio = f"{p99 / direct_p99:.2f}×" if direct_p99 else "–"
    sc = syscalls(t)
    sc_text = f"{sc[0]:.1f}" if sc else "–"
    if sc:
        notes.append(f"{t}: system calls per request by call (strace pass): {sc[1]}")
    print(f"| {t} | {rps:,.0f} | {ratio} | {p50:.3f} | {p99:.3f} | {p99_ratio} | {cpu:.1f} | {upstream_cpu:.1f} | {sc_text} | {records_per_fsync(t)} | {loadgen:.2f} | {errors} | {len(runs)} |")
extras = []
for t in targets:
    for r in rows[t]:
        if r.get("unmasked_cards") and scenario == "cards":
            extras.append(f"{t}: {r['unmasked_cards']} of {r['requests']} answers carried a card number unmasked (round mean not taken)")
            break
for t in targets:
    for r in rows[t]:
        if r.get("deny_calls"):
            extras.append(f"{t}: {r['denied']} of {r['deny_calls']} drop_database calls denied")
            break
extras.extend(notes)
if extras:
    print()
    for e in extras:
        print(f"- {e}")
print()
PY
done

HEADING="Proxy comparison"
[[ -n $BASELINE_REF ]] && HEADING="Proxy comparison against $BASELINE_REF"
[[ -n $RATE ]] && HEADING="$HEADING, open loop at $RATE req/s"
LOOP="closed loop"
[[ -n $RATE ]] && LOOP="open loop at $RATE req/s in total (latency from each request's intended send time)"
{
  echo "## $HEADING"
  echo
  echo "Written by \`bench/compare.sh\` on $NOW; re-run it to refresh (do not edit by hand)."
  echo
  echo "- Command: \`$ARGS_TEXT\`"
  echo "- Machine: $(nproc) CPUs ($CPU_MODEL), Linux $KERNEL, .NET SDK $DOTNET; load average (1/5/15 min) at the start: $LOADAVG_START, at the end: $LOADAVG"
  echo "- Workload: \`fastmcp-load\`, $LOOP, $CONNECTIONS keep-alive connections (each: initialize, notifications/initialized, then tools/call), ${DURATION} s measured after ${WARMUP} s warm-up per target, $ROUNDS rounds alternating targets, after one unrecorded 3 s pass per target; numbers are means over rounds."
  echo "- System calls/req: a separate ${SYSCALL_SECONDS} s pass per target after the measured rounds, under \`strace -c -f -p PID\` (every thread of the target process; for direct, the upstream), calls counted / requests completed in that pass; tracing slows that pass, so its req/s are not used. Audit records/fsync: from the gateway's /metrics at the end (n/a: the gateway exposes no record and fsync counters; –: not a gateway)."
  echo "- Load generator, upstream and proxy share the same CPUs, so a proxy's numbers include competing with them for cores; \"target CPU\" is the target process's utime+stime per request (for direct, the upstream itself)."
  echo "- Targets:"
  for t in "${ACTIVE[@]}"; do
    echo "  - \`$t\`: ${NOTE[$t]}"
  done
  if [[ -n $GATEWAY_NOTE ]]; then
    echo "- Not measured: $GATEWAY_NOTE"
  fi
  echo
  cat "$TABLES"
} >"$WORK/section.md"

cat "$WORK/section.md"

if [[ $WRITE_RESULTS -eq 1 ]]; then
  if [[ ! -f $RESULTS ]]; then
    printf '# Benchmark results\n\nTables in this file are written by the scripts under bench/, not by hand.\n\n' >"$RESULTS"
  fi
  # Replace only this run's section (up to the next "## " heading), or append it.
  python3 - "$RESULTS" "$WORK/section.md" "$HEADING" <<'PY'
import sys, re
path, section_path, heading = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(path).read()
section = open(section_path).read().rstrip() + "\n"
pattern = re.compile(r"^## " + re.escape(heading) + r"\n.*?(?=^## |\Z)", re.S | re.M)
if pattern.search(text):
    text = pattern.sub(lambda m: section + "\n", text, count=1)
else:
    text = text.rstrip() + "\n\n" + section
open(path, "w").write(text.rstrip() + "\n")
PY
  log "wrote $RESULTS"
fi
