#!/usr/bin/env python3
# secrets-client.py HOST PORT N BYTES [PROXYPORT]: for bench/secrets.sh. On
# one kept-alive HTTPS connection (through an HTTP CONNECT to 127.0.0.1
# PROXYPORT when given: moat's proxy inside a sandbox), N small requests with
# an Authorization header from $TOKEN, then one download of BYTES bytes.
# Prints "median_us p90_us MBps cpu_s": the per-request latency, the
# download's throughput and this process's CPU time (user and system) from
# its start to its end. The CA is the default context's (SSL_CERT_FILE).
import http.client, os, ssl, sys, time

host, port, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ctx = ssl.create_default_context()
if len(sys.argv) > 5:
    c = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[5]), context=ctx)
    c.set_tunnel(host, port)
else:
    c = http.client.HTTPSConnection(host, port, context=ctx)
hdr = {"Authorization": "Bearer " + os.environ.get("TOKEN", "none")}
c.request("GET", "/warm", headers=hdr)
c.getresponse().read()
lat = []
for i in range(n):
    t = time.perf_counter()
    c.request("GET", "/r%d" % i, headers=hdr)
    r = c.getresponse()
    r.read()
    lat.append(time.perf_counter() - t)
    assert r.status == 200, r.status
t = time.perf_counter()
c.request("GET", "/bytes/%d" % size, headers=hdr)
r = c.getresponse()
got = 0
while True:
    b = r.read(1 << 20)
    if not b:
        break
    got += len(b)
dt = time.perf_counter() - t
assert got == size, got
lat.sort()
print("%.0f %.0f %.1f %.3f" % (lat[len(lat) // 2] * 1e6, lat[int(len(lat) * 0.9)] * 1e6,
                              size / dt / 1e6, time.process_time()))
