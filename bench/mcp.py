#!/usr/bin/env python3
"""mcp.py: what a tools/call run_command of /bin/true costs through moat mcp
in a warm session (the server's own session, made by a first call), against
bare fork+exec+wait of /bin/true (posix_spawn) in the same run: N of each,
interleaved, median and quartiles. Usage: bench/mcp.py [N] (MOAT names the
binary; BASE another one, whose server is timed too, interleaved with the
first: a change measured before and after in one run). Prints a markdown
table."""
import json
import os
import statistics
import subprocess
import sys
import time

n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
rid = 0


def server(binary):
    return subprocess.Popen([binary, "mcp", "-p", "isolated"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def call(p, method, params):
    global rid
    rid += 1
    p.stdin.write(json.dumps({"jsonrpc": "2.0", "id": rid, "method": method,
                              "params": params}).encode() + b"\n")
    p.stdin.flush()
    while True:
        m = json.loads(p.stdout.readline())
        if m.get("id") == rid:
            return m


args = {"name": "run_command", "arguments": {"command": ["/bin/true"]}}
servers = [server(os.environ.get("MOAT", "./moat"))]
if os.environ.get("BASE"):
    servers.append(server(os.environ["BASE"]))
for p in servers:
    call(p, "initialize", {"protocolVersion": "2025-11-25", "capabilities": {},
                           "clientInfo": {"name": "bench", "version": "1"}})
    r = call(p, "tools/call", args)
    assert r["result"]["structuredContent"]["exit_code"] == 0, r
    for _ in range(5):
        call(p, "tools/call", args)
times, bare = [[] for _ in servers], []
for _ in range(n):
    for i, p in enumerate(servers):
        t = time.perf_counter()
        call(p, "tools/call", args)
        times[i].append(time.perf_counter() - t)
    t = time.perf_counter()
    os.waitpid(os.posix_spawn("/bin/true", ["/bin/true"], {}), 0)
    bare.append(time.perf_counter() - t)
for p in servers:
    p.stdin.close()
    p.wait()
mcp = times[0]


def row(name, v):
    q = statistics.quantiles(v, n=4)
    return "| %s | %.3f | %.3f | %.3f | %d |" % (name, statistics.median(v) * 1e3,
                                                q[0] * 1e3, q[2] * 1e3, len(v))


print("| what | median ms | q1 ms | q3 ms | runs |")
print("|---|---|---|---|---|")
print(row("bare fork+exec+wait /bin/true", bare))
print(row("moat mcp tools/call run_command /bin/true (warm session)", mcp))
if len(times) > 1:
    print(row("the same through BASE's moat mcp", times[1]))
