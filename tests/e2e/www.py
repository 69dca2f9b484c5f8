# www.py PORTFILE ROOT LOG: the e2e tests' web server on the host's
# 127.0.0.1. Serves ROOT on a free port, which it writes to PORTFILE once
# it listens; logs "CLIENT-ADDRESS REQUEST-LINE" per request to LOG (so a
# test can tell who reached it). Many requests at once are fine.
import http.server
import os
import sys

out, root, log = sys.argv[1:4]


class Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        with open(log, "a") as f:
            f.write("%s %s\n" % (self.client_address[0], self.requestline))


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True


s = Server(("127.0.0.1", 0), Handler)
os.chdir(root)
with open(out + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(out + ".tmp", out)
s.serve_forever()
