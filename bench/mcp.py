#!/usr/bin/env python3
"""mcp.py: what a tools/call run_command of /bin/true costs through moat mcp
in a warm session (the server's own session, made by a first call), against
bare fork+exec+wait of /bin/true (posix_spawn) in the same run: N of each,
interleaved, median and quartiles. Usage: bench/mcp.py [N] (MOAT names the
binary). Prints a markdown table."""
import json
import os
import statistics
import subprocess
import sys
import time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
p = subprocess.Popen([os.environ.get("MOAT", "./moat"), "mcp", "-p", "isolated"],
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
rid = 0


def call(method, params):
    global rid
    rid += 1
    p.stdin.write(json.dumps({"jsonrpc": "2.0", "id": rid, "method": method,
                              "params": params}).encode() + b"\n")
    p.stdin.flush()
    while True:
        m = json.loads(p.stdout.readline())
        if m.get("id") == rid:
            return m


call("initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                    "clientInfo": {"name": "bench", "version": "1"}})
args = {"name": "run_command", "arguments": {"command": ["/bin/true"]}}
r = call("tools/call", args)
assert r["result"]["structuredContent"]["exit_code"] == 0, r
mcp, bare = [], []
for _ in range(5):
    call("tools/call", args)
for _ in range(n):
    t = time.perf_counter()
    call("tools/call", args)
    mcp.append(time.perf_counter() - t)
    t = time.perf_counter()
    os.waitpid(os.posix_spawn("/bin/true", ["/bin/true"], {}), 0)
    bare.append(time.perf_counter() - t)
p.stdin.close()
p.wait()


def row(name, v):
    q = statistics.quantiles(v, n=4)
    return "| %s | %.3f | %.3f | %.3f | %d |" % (name, statistics.median(v) * 1e3,
                                                q[0] * 1e3, q[2] * 1e3, len(v))


print("| what | median ms | q1 ms | q3 ms | runs |")
print("|---|---|---|---|---|")
print(row("bare fork+exec+wait /bin/true", bare))
print(row("moat mcp tools/call run_command /bin/true (warm session)", mcp))
