#!/usr/bin/env python3
"""ttydrive.py: runs a command on a new pseudo-terminal, as a user at a
terminal would, and plays a script against it.

    ttydrive.py [--size ROWSxCOLS] [--out FILE] [--timeout SECS] STEP... -- CMD [ARG]...

Steps, in order:
    wait:REGEX      until the output so far matches (Python re, bytes, DOTALL)
    send:TEXT       type TEXT (Python escapes: \\r, \\x03 is ^C, \\x1a is ^Z)
    resize:RxC      set the terminal's size (the command gets SIGWINCH)
    sleep:SECS
    signal:NAME     send a signal to the command (moat), e.g. signal:TERM
    mark:NAME       remember the output's length as NAME (printed at the end)

At the end it waits for the command, then prints, one per line:
    rc=N            its exit status (128+N after signal N)
    termios=same    the terminal's settings are as before the command
    termios=changed and which flags differ
    mark:NAME=N     offsets of marks
The whole output goes to --out. A step that times out prints
"timeout at STEP" and the output so far (escaped) to stderr, exit 3.
"""
import fcntl, os, pty, re, select, signal, struct, subprocess, sys, termios, time


def main():
    args = sys.argv[1:]
    size, out, limit = (24, 80), None, 15.0
    while args and args[0].startswith("--") and args[0] != "--":
        opt = args.pop(0)
        if opt == "--size":
            r, c = args.pop(0).split("x")
            size = (int(r), int(c))
        elif opt == "--out":
            out = args.pop(0)
        elif opt == "--timeout":
            limit = float(args.pop(0))
    sep = args.index("--")
    steps, cmd = args[:sep], args[sep + 1:]

    m, s = pty.openpty()
    fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
    before = termios.tcgetattr(s)

    def child():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    p = subprocess.Popen(cmd, stdin=s, stdout=s, stderr=s, preexec_fn=child)
    os.set_blocking(m, False)
    buf = bytearray()
    marks = []

    def pump(t):
        r, _, _ = select.select([m], [], [], t)
        if m in r:
            try:
                d = os.read(m, 65536)
                buf.extend(d)
                return len(d) > 0
            except OSError:
                return False
        return True

    def fail(step):
        sys.stderr.write("timeout at %s; output so far: %r\n" % (step, bytes(buf)))
        if out:
            open(out, "wb").write(bytes(buf))
        p.kill()
        sys.exit(3)

    for st in steps:
        kind, _, arg = st.partition(":")
        if kind == "wait":
            rx = re.compile(arg.encode(), re.S)
            t0 = time.time()
            while not rx.search(bytes(buf)):
                if time.time() - t0 > limit or (not pump(0.05) and p.poll() is not None):
                    if not rx.search(bytes(buf)):
                        fail(st)
        elif kind == "send":
            os.write(m, arg.encode().decode("unicode_escape").encode("latin-1"))
        elif kind == "resize":
            r, c = arg.split("x")
            fcntl.ioctl(s, termios.TIOCSWINSZ, struct.pack("HHHH", int(r), int(c), 0, 0))
            # as a terminal emulator does: the foreground group gets SIGWINCH
            try:
                os.killpg(os.tcgetpgrp(s), signal.SIGWINCH)
            except OSError:
                pass
        elif kind == "sleep":
            t0 = time.time()
            while time.time() - t0 < float(arg):
                pump(0.02)
        elif kind == "signal":
            p.send_signal(getattr(signal, "SIG" + arg))
        elif kind == "mark":
            marks.append((arg, len(buf)))
        else:
            sys.exit("ttydrive.py: unknown step %r" % st)

    t0 = time.time()
    while p.poll() is None and time.time() - t0 < limit:
        pump(0.05)
    if p.poll() is None:
        fail("the end")
    while pump(0.05) and select.select([m], [], [], 0)[0]:
        pass
    rc = p.returncode if p.returncode >= 0 else 128 - p.returncode
    after = termios.tcgetattr(s)
    print("rc=%d" % rc)
    if after == before:
        print("termios=same")
    else:
        names = ["iflag", "oflag", "cflag", "lflag", "ispeed", "ospeed", "cc"]
        print("termios=changed " + " ".join(n for n, a, b in zip(names, before, after) if a != b))
    for name, off in marks:
        print("mark:%s=%d" % (name, off))
    if out:
        open(out, "wb").write(bytes(buf))


main()
