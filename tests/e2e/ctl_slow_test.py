#!/usr/bin/env python3
"""tests/e2e/ctl_slow_test.py SOCKET ROOMCTL DATA AIRLOG - roomd's control socket
never blocks the daemon on a client that does not read (issue 15).

1. A client sends 175 `help` (about 350 KB of replies, more than the kernel
   buffers) and does not read for 2 s: meanwhile another client's command is
   answered and roomd's advert goes on the air; then the slow client reads all
   175 replies.  (The old roomd blocked up to 1 s in a write, then dropped the
   client: it got about half.)
2. A client sends 800 `help` (1.6 MB) and never reads: it is cut off (its
   connection closed), roomd logs it, and still answers.
Prints "ok: ..." or "FAILED: ..." lines; exits 1 on any failure."""
import socket
import subprocess
import sys
import time

sock, roomctl, data, airlog = sys.argv[1:5]
failed = 0


def check(cond, what):
    global failed
    print(("ok: " if cond else "FAILED: ") + what)
    if not cond:
        failed += 1


def ctl(*args):
    return subprocess.run([roomctl, "-d", data, *args], capture_output=True, text=True, timeout=20)


def sent_count():
    with open(airlog, errors="replace") as f:
        return sum(1 for line in f if " sent " in line)


def read_all(s, deadline_s=20):
    s.settimeout(deadline_s)
    buf = b""
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            buf += b
    except (socket.timeout, ConnectionResetError):
        pass
    return buf


# 1. slow, then reads
slow = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
slow.connect(sock)
slow.sendall(b"help\n" * 175)
time.sleep(0.5)
before = sent_count()
out = ctl("get", "name")
check(out.returncode == 0 and out.stdout.startswith(">"), "another client answered while one does not read: %r" % out.stdout)
out = ctl("advert")
check(out.returncode == 0, "advert while one client does not read: %r" % out.stdout)
for _ in range(100):
    if sent_count() > before:
        break
    time.sleep(0.1)
check(sent_count() > before, "the radio keeps transmitting while one client does not read")
time.sleep(1.5)  # the old roomd gave up on the slow client after 1 s
slow.shutdown(socket.SHUT_WR)
got = read_all(slow)
slow.close()
oks = sum(1 for line in got.split(b"\n") if line == b"OK")
check(oks == 175, "the slow client got every reply: %d of 175 OK (%d bytes)" % (oks, len(got)))

# 2. never reads: cut off past the bound
stuck = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
stuck.connect(sock)
stuck.sendall(b"help\n" * 800)
time.sleep(1)
out = ctl("get", "name")
check(out.returncode == 0 and out.stdout.startswith(">"), "answered while a client is cut off: %r" % out.stdout)
got = read_all(stuck)
stuck.close()
oks = sum(1 for line in got.split(b"\n") if line == b"OK")
check(0 < oks < 800, "the stuck client was cut off after %d of 800 replies" % oks)
sys.exit(1 if failed else 0)
