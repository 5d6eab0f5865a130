# Sourced by the one-gateway measurement scripts (thread-cpu.sh, profile-pipeline.sh, strict-audit-profile.sh):
# a scratch directory and the processes to stop at exit, three free loopback ports (upstream, gateway, admin)
# and the canned upstream started on the first. Needs ROOT; LOAD and UPSTREAM override the published tools.
LOAD="${LOAD:-$ROOT/artifacts/bench/load/fastmcp-load}" UP="${UPSTREAM:-$ROOT/artifacts/bench/upstream/fastmcp-bench-upstream}"
W="$(mktemp -d)"; PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$W"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
UPORT=$(free_port); GPORT=$(free_port); APORT=$(free_port)
"$UP" --listen 127.0.0.1:$UPORT >"$W/up.log" 2>&1 & PIDS+=($!)
