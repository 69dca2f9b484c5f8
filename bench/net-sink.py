#!/usr/bin/python3
# net-sink.py: the benchmark's HTTP source on the host's loopback. GET /N
# answers N zero bytes with sendfile(2) from a sparse file, so the server
# costs almost nothing and the client and the relay are what is measured.
# Usage: net-sink.py PORTFILE SPARSEFILE
import os, socket, sys, threading

portfile, sparse = sys.argv[1:3]
size = 1 << 30
with open(sparse, "wb") as f:
    f.truncate(size)

def serve(c):
    try:
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = c.recv(4096)
            if not d:
                return
            buf += d
        path = buf.split(b" ", 2)[1].decode()
        n = min(int(path.strip("/") or "0"), size)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % n)
        with open(sparse, "rb") as f:
            off = 0
            while off < n:
                off += os.sendfile(c.fileno(), f.fileno(), off, n - off)
    except OSError:
        pass
    finally:
        c.close()

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(1024)
with open(portfile + ".tmp", "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(portfile + ".tmp", portfile)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
