#!/usr/bin/env bash
# The test command: builds everything, publishes the Native AOT binaries, runs every test project
# (the interop/e2e suite against the published binary) and prints as its last line
#   N passed, N failed, N skipped
# Exits non-zero when a build or publish failed, a publish warned, or any test failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
RESULTS="$ROOT/artifacts/test-results"
LOGS="$ROOT/artifacts/logs"
NATIVE="$ROOT/artifacts/native"
FAILED_STEPS=()

step() { printf '\n==> %s\n' "$*"; }

summary_and_exit() {
  local passed=0 failed=0 skipped=0
  if compgen -G "$RESULTS/*.trx" >/dev/null; then
    read -r passed failed skipped < <(python3 - "$RESULTS" <<'PY'
import glob, sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for path in sorted(glob.glob(sys.argv[1] + "/*.trx")):
    for result in ET.parse(path).getroot().iter():
        if not result.tag.endswith("UnitTestResult"):
            continue
        outcome = result.get("outcome", "")
        if outcome == "Passed":
            passed += 1
        elif outcome in ("Failed", "Error", "Timeout", "Aborted"):
            failed += 1
        else:  # NotExecuted, Inconclusive, ...: counted as skipped
            skipped += 1
print(passed, failed, skipped)
PY
)
  fi
  if ((${#FAILED_STEPS[@]} > 0)); then
    echo
    echo "failed steps:"
    printf '  %s\n' "${FAILED_STEPS[@]}"
  fi
  echo "$passed passed, $failed failed, $skipped skipped"
  if ((failed > 0 || ${#FAILED_STEPS[@]} > 0)); then
    exit 1
  fi
  exit 0
}

# --- prerequisites -----------------------------------------------------------------------------
missing=0
if ! command -v dotnet >/dev/null 2>&1; then
  echo "error: dotnet not found on PATH: install the .NET 10 SDK (see global.json)" >&2
  missing=1
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "error: node/npm not found on PATH: install Node.js 20 or later (the interop peers run on it)" >&2
  missing=1
fi
if ! command -v python3 >/dev/null 2>&1; then
  echo "error: python3 not found on PATH: it sums the test results" >&2
  missing=1
fi
if ((missing)); then
  FAILED_STEPS+=("prerequisites")
  RESULTS=/nonexistent summary_and_exit
fi

rm -rf "$RESULTS" "$LOGS"
mkdir -p "$RESULTS" "$LOGS"

# --- node peers (MCP SDK, server-everything, OIDC provider, S3) --------------------------------
step "npm ci (tests/node)"
if ! (cd tests/node && npm ci --no-audit --no-fund --loglevel=error >"$LOGS/npm-ci.log" 2>&1); then
  cat "$LOGS/npm-ci.log"
  FAILED_STEPS+=("npm ci in tests/node")
fi

# --- build -------------------------------------------------------------------------------------
step "dotnet build FastMcp.sln -c Release"
if ! dotnet build FastMcp.sln -c Release -nologo -clp:ErrorsOnly\;Summary >"$LOGS/build.log" 2>&1; then
  grep -E ': (error|warning) ' "$LOGS/build.log" | sort -u
  tail -n 5 "$LOGS/build.log"
  # MSBuild still builds the projects that do not depend on the broken one: run what built, so
  # the summary says as much as it can, and fail the run all the same.
  FAILED_STEPS+=("dotnet build FastMcp.sln -c Release (log: artifacts/logs/build.log)")
else
  tail -n 4 "$LOGS/build.log"
fi

# Test projects are found by glob; one that is not in the solution is built on its own.
mapfile -t TEST_PROJECTS < <(ls tests/*/*.Tests.csproj 2>/dev/null | sort)
IN_SLN="$(dotnet sln FastMcp.sln list 2>/dev/null)"
for project in "${TEST_PROJECTS[@]}"; do
  if ! grep -qF "$project" <<<"$IN_SLN"; then
    step "dotnet build $project -c Release (not in FastMcp.sln)"
    if ! dotnet build "$project" -c Release -nologo -clp:ErrorsOnly >>"$LOGS/build.log" 2>&1; then
      FAILED_STEPS+=("dotnet build $project")
    fi
  fi
done

# --- native binaries (must publish with zero warnings) ----------------------------------------
publish() {
  local project="$1" name log
  name="$(basename "$project")"
  log="$LOGS/publish-$name.log"
  step "dotnet publish $project -c Release -r linux-x64 -o artifacts/native"
  if ! dotnet publish "$project" -c Release -r linux-x64 -o "$NATIVE" -nologo >"$log" 2>&1; then
    grep -E ': (error|warning) ' "$log" | sort -u
    tail -n 5 "$log"
    FAILED_STEPS+=("publish $project (log: artifacts/logs/publish-$name.log)")
    return
  fi
  local warnings
  warnings="$(grep -E ': warning [A-Z]*[0-9]+' "$log" | sort -u)"
  if [[ -n "$warnings" ]]; then
    echo "$warnings"
    FAILED_STEPS+=("publish $project produced warnings (log: artifacts/logs/publish-$name.log)")
  fi
}
rm -rf "$NATIVE"
publish src/FastMcp.Gateway
publish src/FastMcp.Verify
ls -l "$NATIVE" 2>/dev/null | grep -E ' fastmcp(-verify)?$' || true

export FASTMCP_BIN="$NATIVE/fastmcp"
export FASTMCP_VERIFY_BIN="$NATIVE/fastmcp-verify"

# --- tests -------------------------------------------------------------------------------------
for project in "${TEST_PROJECTS[@]}"; do
  name="$(basename "$project" .csproj)"
  step "dotnet test $project (FASTMCP_BIN=artifacts/native/fastmcp)"
  # Bounded: a hung test host is killed and reported, never left running.
  timeout --kill-after=30 1200 dotnet test "$project" --no-build -c Release -nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" \
    --results-directory "$RESULTS" --blame-hang-timeout 5m 2>&1 | tee "$LOGS/test-$name.log"
  rc=${PIPESTATUS[0]}
  if ((rc != 0)); then
    FAILED_STEPS+=("dotnet test $project exited $rc (log: artifacts/logs/test-$name.log)")
  fi
done

summary_and_exit
