#!/usr/bin/env python3
# tlsd.py PORTFILE CERT KEY LOG: an HTTPS server on 127.0.0.1 (a free port,
# written to PORTFILE) for the secrets tests. It logs each request it
# receives, as it received it, to LOG (one JSON object a line: method, path,
# headers, body) and answers:
#   /echo        200, the request's Authorization and X-Api-Key as the body
#   /echo-header 200, a header X-Echo that repeats the Authorization
#   /echo-pad/N  200, the Authorization between two runs of N dots
#   /echo-many/N 200, N lines: the Authorization, then i % 97 dots (line i
#                from 0), one write
#   /echo-glued  200, a Basic credential's base64 without its padding, then
#                the password it holds, with nothing between them
#   /chunked     200, a chunked body of three chunks
#   /bytes/N     200, N bytes (for bench/secrets.sh)
#   anything     200 "ok METHOD PATH"
# HTTP/1.1 with keep-alive. CERT "-": plain HTTP. Each request's log line
# also names the TLS suite of its connection ("cipher"). The server picks
# the suite by its own order (Python's default: AES-256-GCM first); with
# TLSD_CLIENT_ORDER=1 in its environment, by the client's (as nginx does
# by default).
import base64, json, os, ssl, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

portfile, cert, key, log = sys.argv[1:5]
lock = threading.Lock()

class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *a):
        pass

    def handle_one(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = b""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                body += self.rfile.read(size)
                self.rfile.readline()
        elif n:
            body = self.rfile.read(n)
        if log != "/dev/null":
            tls = getattr(self.connection, "cipher", None)
            with lock, open(log, "a") as f:
                f.write(json.dumps({"method": self.command, "path": self.path,
                                    "headers": dict(self.headers.items()),
                                    "body": body.decode("latin-1"),
                                    "cipher": tls()[0] if tls else ""}) + "\n")
        if self.path.startswith("/bytes/"):
            n = int(self.path[7:])
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            block = b"x" * 65536
            while n > 0:
                self.wfile.write(block[:min(n, len(block))])
                n -= min(n, len(block))
            return
        if self.path.startswith("/chunked"):
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (b"one ", b"two ", b"three\n"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        extra = {}
        if self.path.startswith("/echo-header"):
            out = b"see X-Echo\n"
            extra["X-Echo"] = self.headers.get("Authorization", "")
        elif self.path.startswith("/echo-many/"):
            auth = self.headers.get("Authorization", "").encode()
            out = b"".join(auth + b"." * (i % 97) + b"\n"
                           for i in range(int(self.path[11:])))
        elif self.path.startswith("/echo-glued"):
            b64 = self.headers.get("Authorization", "").split(" ")[-1]
            pw = base64.b64decode(b64).split(b":", 1)[-1]
            out = b64.rstrip("=").encode() + pw + b"\n"
        elif self.path.startswith("/echo-pad/"):
            pad = b"." * int(self.path[10:])
            out = pad + self.headers.get("Authorization", "").encode() + pad
        elif self.path.startswith("/echo"):
            out = ("%s|%s\n" % (self.headers.get("Authorization", ""),
                                self.headers.get("X-Api-Key", ""))).encode()
        else:
            out = ("ok %s %s\n" % (self.command, self.path)).encode()
        self.send_response(200)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = handle_one

srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
if cert != "-":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if os.environ.get("TLSD_CLIENT_ORDER") == "1":
        ctx.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(portfile + ".tmp", portfile)
srv.serve_forever()
