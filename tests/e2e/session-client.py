#!/usr/bin/env python3
# session-client.py SOCKET WHAT: speaks (or mangles) a session's control
# protocol (src/sandbox/chan.h) for session.sh, and prints what came back:
# "error: TEXT", "hello", "closed", or "nothing" (an error's tag too, when it
# has one: "error (tag N): TEXT").
import os, socket, struct, sys

MSG_SPAWN, MSG_HELLO, MSG_ERROR, MSG_ASK, MSG_AUDIT = 8, 11, 12, 21, 23
AUDIT_WANT_REPLY, AUDIT_IN_FD = 1, 2
SPAWN_AFTER_ROW = 0x10
MAGIC = struct.pack("=I", 0x3152414d)
FMT = "=iiiiiIiiiI480s"
PROTOCOL = 5

def msg(t, code=0, tag=0, flags=0):
    return struct.pack(FMT, t, 0, code, 0, 0, tag, flags, 0, 0, 0, b"")

def audit(s, payload, flags=AUDIT_WANT_REPLY, fd=None, code=0):
    s.send(msg(MSG_HELLO, PROTOCOL))
    s.recv(65536)
    m = msg(MSG_AUDIT, code, 0, flags)
    if fd is None:
        s.send(m + payload)
    else:
        socket.send_fds(s, [m], [fd])

path, what = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(path)
if what == "short":
    s.send(b"\x0b\x00\x00")
elif what == "huge":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    s.send(msg(MSG_HELLO, PROTOCOL) + b"x" * (300 * 1024))
elif what == "version":
    s.send(msg(MSG_HELLO, 999))
elif what == "nohello":
    s.send(msg(MSG_SPAWN, 0, 1) + b"/\0/bin/true\0")
elif what == "hello":
    s.send(msg(MSG_HELLO, PROTOCOL))
elif what == "badask":
    # an answer that is none of deny, once, session, always
    s.send(msg(MSG_HELLO, PROTOCOL))
    s.recv(65536)
    s.send(msg(MSG_ASK, 9, 5))
elif what == "badoffer":
    # an offer to answer, held for longer than a connection ever is
    s.send(msg(MSG_HELLO, PROTOCOL))
    s.recv(65536)
    s.send(msg(MSG_ASK, 601, 0))
elif what == "lateanswer":
    # a well-formed answer to a question never asked: no reply
    s.send(msg(MSG_HELLO, PROTOCOL))
    s.recv(65536)
    s.send(msg(MSG_ASK, 1, 77))
elif what == "badspawn":
    s.send(msg(MSG_HELLO, PROTOCOL))
    s.recv(65536)
    # argc says 3 strings, the payload holds one
    m = struct.pack(FMT, MSG_SPAWN, 0, 0, 0, 0, 7, 0, 3, 0, 0, b"")
    s.send(m + b"/\0/bin/true\0")
elif what == "afterrow":
    # a command that says its row's begin came just before, with none
    s.send(msg(MSG_HELLO, PROTOCOL))
    s.recv(65536)
    m = struct.pack(FMT, MSG_SPAWN, 0, 0, 0, 0, 7, SPAWN_AFTER_ROW, 1, 0, 0, b"")
    s.send(m + b"/\0/bin/true\0")
elif what == "afterbadrow":
    # ... after a begin the session refused: the refusal of each comes back
    audit(s, b"not a request")
    print(("error: " if struct.unpack("=i", s.recv(1 << 20)[:4])[0] == MSG_ERROR
        else "begun ") + "then ", end="")
    m = struct.pack(FMT, MSG_SPAWN, 0, 0, 0, 0, 7, SPAWN_AFTER_ROW, 1, 0, 0, b"")
    s.send(m + b"/\0/bin/true\0")
elif what == "auditjunk":
    # a request that is not the record's wire
    audit(s, b"not a request")
elif what == "audittrunc":
    # a begin cut short after its path's length
    audit(s, MAGIC + struct.pack("=II", 1, 200) + b"/tmp")
elif what == "auditforeign":
    # the completion of a run this client never began
    audit(s, MAGIC + struct.pack("=Iq", 5, 1))
elif what == "auditquiet":
    # junk without asking for an answer: none comes, and the session
    # still answers a greeting afterwards
    audit(s, b"junk", flags=0)
    s.send(msg(MSG_HELLO, PROTOCOL))
elif what == "auditpipe":
    # "in a file" that is a pipe nobody writes: never read from
    r, w = os.pipe()
    audit(s, b"", flags=AUDIT_WANT_REPLY | AUDIT_IN_FD, fd=r, code=100)
elif what == "auditshort":
    # a file shorter than it says
    f = os.memfd_create("x")
    os.write(f, MAGIC)
    audit(s, b"", flags=AUDIT_WANT_REPLY | AUDIT_IN_FD, fd=f, code=100)
elif what in ("auditsecret", "auditowner"):
    # a well-formed begin in the log argv[3] names: with a secret the
    # session was not given, or claiming a sender that is not of ours
    def st(x):
        return struct.pack("=I", 0xffffffff) if x is None else \
            struct.pack("=I", len(x)) + x + b"\0"
    def sv(v):
        return struct.pack("=I", len(v)) + b"".join(st(x) for x in v)
    q = lambda v: struct.pack("=q", v)
    claim, names = (q(int(sys.argv[4])), sv([])) if what == "auditowner" else \
        (q(os.getpid()), sv([b"NOPE_" + sys.argv[4].encode()]))
    body = MAGIC + struct.pack("=I", 1) + st(sys.argv[3].encode()) + \
        st(None) + st(b"cli") + st(None) * 7 + sv([b"echo", b"owned-" + sys.argv[4].encode()]) + \
        q(0) + st(None) + q(0) + q(0) + struct.pack("=d", 0) + claim + names
    audit(s, body)
    d = s.recv(1 << 20)
    t = struct.unpack("=i", d[:4])[0]
    if t == MSG_ERROR:
        print("error: " + d[40:520].split(b"\0")[0].decode())
    else:
        print("begun by %d" % os.getpid())
    sys.exit(0)
try:
    d = s.recv(1 << 20)
except socket.timeout:
    print("nothing")
    sys.exit(0)
if not d:
    print("closed")
    sys.exit(0)
t, err, code, _, _, tag = struct.unpack("=iiiiiI", d[:24])
text = d[40:520].split(b"\0")[0].decode()
if t == MSG_ERROR:
    print(("error (tag %d): " % tag if tag else "error: ") + text)
elif t == MSG_HELLO:
    print("hello")
else:
    print("type %d code %d tag %d: %s" % (t, code, tag, text))
