#!/usr/bin/env bash
# Resident memory an idle keep-alive TLS connection costs the gateway: N clients connect over TLS, each makes one
# tools/list call, then all stay open and idle; the gateway's RSS (/proc) before and 2 s after, per connection.
# Each gateway binary given is measured in turn, ROUNDS times alternating (--passthrough with a tls section, so only
# the connection's own memory is counted). Uses artifacts/bench (run bench/compare.sh once to build it).
# Prints one line per run; bench/RESULTS.md ("An idle TLS connection holds no receive buffer") records them by hand.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
UPSTREAM="$ROOT/artifacts/bench/upstream/fastmcp-bench-upstream"
CONNECTIONS=1000
ROUNDS=2
GATEWAYS=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --connections) CONNECTIONS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    -h|--help) echo "usage: bench/tls-idle-memory.sh [--connections N] [--rounds N] [GATEWAY_BINARY ...]"; exit 0 ;;
    *) GATEWAYS+=("$(realpath "$1")"); shift ;;
  esac
done
[[ ${#GATEWAYS[@]} -gt 0 ]] || GATEWAYS=("$ROOT/artifacts/bench/gateway/fastmcp")
for exe in "$UPSTREAM" "${GATEWAYS[@]}"; do [[ -x $exe ]] || { echo "missing $exe (run bench/compare.sh once to build artifacts/bench)" >&2; exit 1; }; done

WORK=$(mktemp -d /tmp/fastmcp-tls-idle.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

cd "$WORK"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -subj "/CN=bench CA" -days 2 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout tls.key -out tls.csr -subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > tls.ext
openssl x509 -req -in tls.csr -CA ca.pem -CAkey ca.key -set_serial 1 -days 2 -extfile tls.ext -out tls.pem 2>/dev/null
printf '{ "tls": { "certificateFile": "%s/tls.pem", "keyFile": "%s/tls.key" }, "publicScheme": "https" }\n' "$WORK" "$WORK" > fastmcp.json

cat > idle.py <<'EOF'
import asyncio, ssl, sys, resource
port, ca, pid, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
resource.setrlimit(resource.RLIMIT_NOFILE, (n + 256, n + 256))
def rss():
    for line in open(f'/proc/{pid}/status'):
        if line.startswith('VmRSS'): return int(line.split()[1]) / 1024
body = b'{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}'
request = (b'POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n'
           b'Accept: application/json, text/event-stream\r\nContent-Length: ' + str(len(body)).encode() + b'\r\n\r\n' + body)
async def one(ctx):
    r, w = await asyncio.open_connection('127.0.0.1', port, ssl=ctx, server_hostname='127.0.0.1')
    w.write(request); await w.drain()
    head = await r.readuntil(b'\r\n\r\n')
    length = next(int(l.split(b':')[1]) for l in head.split(b'\r\n') if l.lower().startswith(b'content-length:'))
    await r.readexactly(length)
    return w
async def main():
    ctx = ssl.create_default_context(cafile=ca)
    ctx.set_alpn_protocols(['http/1.1'])
    before = rss()
    writers = []
    for i in range(0, n, 50):
        writers += await asyncio.gather(*[one(ctx) for _ in range(min(50, n - i))])
    await asyncio.sleep(2)
    after = rss()
    print(f'{n} idle TLS connections: RSS {before:.1f} -> {after:.1f} MiB, {(after - before) * 1024 / n:.1f} KiB per connection')
    for w in writers: w.close()
asyncio.run(main())
EOF

UPORT=$(free_port)
"$UPSTREAM" --listen "127.0.0.1:$UPORT" > upstream.log 2>&1 & PIDS+=($!)
sleep 0.3
for round in $(seq 1 "$ROUNDS"); do
  for gw in "${GATEWAYS[@]}"; do
    GPORT=$(free_port); APORT=$(free_port)
    "$gw" serve --passthrough --config fastmcp.json --upstream "http://127.0.0.1:$UPORT/mcp" \
      --listen "127.0.0.1:$GPORT" --admin "127.0.0.1:$APORT" > gateway.log 2>&1 & GPID=$!
    for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$GPORT") 2>/dev/null && break; sleep 0.05; done
    echo -n "round $round, $gw: "
    python3 idle.py "$GPORT" ca.pem "$GPID" "$CONNECTIONS"
    kill "$GPID"; wait "$GPID" 2>/dev/null || true
  done
done
