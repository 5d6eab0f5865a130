#!/usr/bin/env python3
"""Instructions per request from callgrind's per-thread dumps (bench/instructions-per-stage.sh).

    instructions-per-stage.py LABEL REQUESTS FILE... [--top N]

Each thread is put in one kind by what it ran: the audit writer (its batch loop), a socket loop (the epoll
engine's run loop) or the rest (timers, thread pool, start-up). A stage's count is the inclusive count of its
entry functions on every thread (what they and their callees executed): the entries are synchronous calls made
once or twice per exchange, so the count is that stage's work wherever it ran. A function that calls itself is
counted once per outermost call (callgrind_annotate's inclusive column already does that).
"""
import re
import subprocess
import sys
from collections import defaultdict

# (stage, entry-function patterns). Patterns are searched in the symbol as the Native AOT compiler names it
# (namespace_Type__Method); each function is counted in the first stage it matches, and a stage's entries do not
# call one another (checked on the profiles this was written for).
STAGES = [
    ("HTTP heads parsed (request, upstream response)", [r"FastMcp_Http_HttpRequestHead__Parse$", r"FastMcp_Http_HttpResponseHead__Parse$"]),
    ("authenticate (anonymous here) and origin check", [r"_Stages_Authentication__Authenticate$", r"_Stages_OriginGuard__IsAllowed$"]),
    ("inspect the request (McpInspector)", [r"FastMcp_Mcp_McpInspector__Inspect$"]),
    ("card scan of the request (MessageCardScan)", [r"FastMcp_Pan_MessageCardScan__Scan$"]),
    ("decide: policy", [r"_Stages_PolicyAuthorization__Decide$"]),
    ("mask the request (body, header fields, query)", [r"_Stages_PanMasking__ApplyToRequest$"]),
    ("upstream request head written", [r"_Forwarding_UpstreamRequestWriter__WriteHead$"]),
    ("inspect the response (ResponseRelay.ViewBody)", [r"_Forwarding_ResponseRelay__ViewBody$"]),
    ("mask the response (body, head)", [r"_Stages_PanMasking__Apply$", r"_Stages_PanMasking__ApplyToHead$"]),
    ("record: fill the two events (AuditRecording.Fill)", [r"_Stages_AuditRecording__Fill$"]),
    ("record: serialize and queue the two records (AuditLog.Append)", [r"FastMcp_Audit_AuditLog__Append$"]),
]

# Rows printed under a stage ("of which"): not added to the sum.
PARTS = [
    ("of which the record fields' re-mask", [r"PanMasker__MaskInPlace_0<FastMcp_Pan_FastMcp_Pan_Scanning_NoSink>$"]),
    ("writer: of which the chain hashes (ChainCursor.Append)", [r"FastMcp_Audit_Reading_ChainCursor__Append$"]),
    ("writer: of which zstd (Compressor.Wrap)", [r"ZstdSharp_Compressor__Wrap_1$"]),
]

# Thread kinds, by a function only that thread runs (searched in order).
KINDS = [
    ("audit writer thread", re.compile(r"FastMcp_Audit_AuditLog__Run$")),
    ("socket loops", re.compile(r"_Transport_Epoll_ReadinessEngine__Run$")),
]

LINE = re.compile(r"^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(?:\*\s+)?(.+?)\s*$")


def inclusive(path):
    """{function: inclusive Ir} and the thread's total, from callgrind_annotate."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                         capture_output=True, text=True, check=True).stdout
    total, funcs, body = 0, {}, False
    for line in out.splitlines():
        if "PROGRAM TOTALS" in line:
            total = int(line.split()[0].replace(",", ""))
            continue
        if line.startswith("Ir") and "file:function" in line:
            body = True
            continue
        if not body:
            continue
        m = LINE.match(line)
        if not m:
            continue
        name = m.group(2)
        name = name.split(":", 1)[1] if ":" in name else name
        name = re.sub(r"\s*\[.*\]$", "", name)
        count = int(m.group(1).replace(",", ""))
        funcs[name] = max(funcs.get(name, 0), count)
    return total, funcs


def main():
    args = sys.argv[1:]
    top = 0
    if "--top" in args:
        i = args.index("--top")
        top = int(args[i + 1])
        del args[i:i + 2]
    label, requests, files = args[0], int(args[1]), args[2:]
    kinds = defaultdict(int)
    stages = defaultdict(int)
    everything = defaultdict(int)
    grand = 0
    for path in files:
        total, funcs = inclusive(path)
        grand += total
        kind = next((k for k, rx in KINDS if any(rx.search(f) for f in funcs)), "other threads")
        kinds[kind] += total
        for f, n in funcs.items():
            everything[f] += n
        for f, n in funcs.items():
            for stage, patterns in STAGES + PARTS:
                if any(re.search(p, f) for p in patterns):
                    stages[stage] += n
                    break
    per = lambda n: f"{n / requests:,.0f}"
    print(f"### {label}: {requests} requests, instructions per request\n")
    print("| where | instructions/request |")
    print("|---|---:|")
    print(f"| whole process | {per(grand)} |")
    for kind in ("socket loops", "audit writer thread", "other threads"):
        print(f"| thread: {kind} | {per(kinds[kind])} |")
    for stage, _ in STAGES:
        print(f"| stage: {stage} | {per(stages[stage])} |")
        if stage.startswith("record: serialize"):
            print(f"| stage: {PARTS[0][0]} | {per(stages[PARTS[0][0]])} |")
    staged = sum(stages[stage] for stage, _ in STAGES)
    print(f"| socket loops outside those stages (transport, async chain, connection logic, metrics) | {per(kinds['socket loops'] - staged)} |")
    for part, _ in PARTS[1:]:
        print(f"| {part} | {per(stages[part])} |")
    if top:
        print(f"\nTop {top} functions by inclusive count per request:\n")
        for f, n in sorted(everything.items(), key=lambda kv: -kv[1])[:top]:
            print(f"{n / requests:12,.0f}  {f}")


if __name__ == "__main__":
    main()
