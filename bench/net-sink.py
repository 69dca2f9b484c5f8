#!/usr/bin/python3
# net-sink.py: the benchmark's HTTP source on the host's loopback, and a
# reference relay to compare moat's with.
#   net-sink.py PORTFILE SPARSEFILE
#       GET /N answers N zero bytes with sendfile(2) from a sparse file, so
#       the server costs almost nothing and the client and the relay are
#       what is measured. GET /N/K sends the N bytes in K writes 1 ms apart.
#   net-sink.py --relay PORTFILE DPORT
#       the least a relay can do: a plain TCP forwarder to 127.0.0.1:DPORT
#       (no proxy protocol, no policy, no events), splice(2) through a
#       1 MiB pipe per direction, a thread per direction blocking in the
#       kernel, and the client's leg on Reno as moat's relay sets it. What
#       it reaches is what any splice relay can reach on this machine.
import os, socket, sys, threading, time

def listen():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(1024)
    return s

def announce(portfile, s):
    with open(portfile + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)

def serve(c, sparse, size):
    try:
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = c.recv(4096)
            if not d:
                return
            buf += d
        path = buf.split(b" ", 2)[1].decode().strip("/").split("/")
        n = min(int(path[0] or "0"), size)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % n)
        if len(path) > 1:
            # /N/K: the body in K writes 1 ms apart, after the head, as a
            # server that answers in pieces (TLS records, a streamed
            # page) does: each small write may wait on the one before.
            k = max(int(path[1]), 1)
            for i in range(k):
                time.sleep(0.001)
                c.sendall(b"x" * (n * (i + 1) // k - n * i // k))
            return
        with open(sparse, "rb") as f:
            off = 0
            while off < n:
                off += os.sendfile(c.fileno(), f.fileno(), off, n - off)
    except OSError:
        pass
    finally:
        c.close()

def pump(src, dst):
    r, w = os.pipe()
    try:
        import fcntl
        fcntl.fcntl(w, 1031, 1 << 20)       # F_SETPIPE_SZ
    except OSError:
        pass
    try:
        while True:
            n = os.splice(src.fileno(), w, 1 << 20, flags=os.SPLICE_F_MOVE)
            if n == 0:
                break
            while n > 0:
                n -= os.splice(r, dst.fileno(), n, flags=os.SPLICE_F_MOVE)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        os.close(r)
        os.close(w)

def relay(c, dport):
    u = socket.create_connection(("127.0.0.1", dport))
    u.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"reno")
    except OSError:
        pass
    t = threading.Thread(target=pump, args=(c, u), daemon=True)
    t.start()
    pump(u, c)
    t.join()
    c.close()
    u.close()

if sys.argv[1] == "--relay":
    portfile, dport = sys.argv[2], int(sys.argv[3])
    s = listen()
    announce(portfile, s)
    while True:
        c, _ = s.accept()
        threading.Thread(target=relay, args=(c, dport), daemon=True).start()

portfile, sparse = sys.argv[1:3]
size = 1 << 30
with open(sparse, "wb") as f:
    f.truncate(size)
s = listen()
announce(portfile, s)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c, sparse, size), daemon=True).start()
