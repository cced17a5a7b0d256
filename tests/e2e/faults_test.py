#!/usr/bin/env python3
"""tests/e2e/faults_test.py - roomd when the modem goes away under it (issue 8 item 7).

meshair (fast preset: SF7, 500 kHz) is roomd's modem and the clients'.
Two long-lived `roomc --json` clients log in; A posts and B is pushed the
post.  Then meshair is killed (SIGKILL: the modem unplugged) and started
again on the same port some seconds later.  roomd must stay up, notice the
link going down, reconnect by itself (backoff) and resume: A's next post is
delivered, B is pushed it, and both posts are in the database once.

Prints "faults: N passed, N failed".
"""
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

O = os.environ.get("O", "build")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, O)
RADIO = ["--sf", "7", "--bw", "500"]
passed = failed = 0
procs = []


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAILED: " + what, file=sys.stderr)


def count(path, pattern):
    try:
        with open(path, errors="replace") as f:
            return len(re.findall(pattern, f.read()))
    except FileNotFoundError:
        return 0


def wait_for(path, pattern, timeout=10.0, n=1):
    end = time.time() + timeout
    while time.time() < end:
        if count(path, pattern) >= n:
            return True
        time.sleep(0.05)
    return False


def start_meshair(tmp, port, gen):
    log = os.path.join(tmp, "air-%d.log" % gen)
    with open(log, "w") as f:
        p = subprocess.Popen([os.path.join(BIN, "meshair"), "--listen",
                              "127.0.0.1:%d" % port, "--seed", "7"] + RADIO,
                             stderr=f, stdout=f)
    procs.append(p)
    if not wait_for(log, r"listening on 127\.0\.0\.1:\d+"):
        return p, 0
    with open(log) as f:
        return p, int(re.search(r"listening on 127\.0\.0\.1:(\d+)", f.read()).group(1))


class Client:
    """A roomc --json process; events are collected by a reader thread."""

    def __init__(self, tmp, name, port):
        self.events = []
        self.cond = threading.Condition()
        self.err = open(os.path.join(tmp, name + ".err"), "w")
        self.p = subprocess.Popen(
            [os.path.join(BIN, "roomc"), "--data", os.path.join(tmp, name), "--radio",
             "tcp:127.0.0.1:%d" % port, "--json", "--no-remember", "-q"] + RADIO,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err, text=True,
            bufsize=1)
        procs.append(self.p)
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.p.stdout:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                self.events.append(e)
                self.cond.notify_all()

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()

    def wait(self, pred, timeout):
        with self.cond:
            self.cond.wait_for(lambda: any(pred(e) for e in self.events), timeout=timeout)
            return [e for e in self.events if pred(e)]

    def key(self):
        r = self.wait(lambda e: e.get("event") == "ready", 10)
        return r[0]["key"] if r else None


def outcome(text):
    return lambda e: e.get("event") in ("delivered", "failed") and e.get("text") == text


def main():
    tmp = tempfile.mkdtemp(prefix="roomd-faults.")
    try:
        run(tmp)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print("faults: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


def run(tmp):
    air, port = start_meshair(tmp, 0, 0)
    check(port != 0, "meshair started")
    if not port:
        return
    rd = os.path.join(tmp, "rd")
    os.mkdir(rd)
    with open(os.path.join(rd, "roomd.conf"), "w") as f:
        f.write("sf = 7\nbw = 500\n")
    rd_log = os.path.join(tmp, "roomd.log")
    with open(rd_log, "w") as f:
        roomd = subprocess.Popen([os.path.join(BIN, "roomd"), "--data", rd, "--radio",
                                  "tcp:127.0.0.1:%d" % port, "--name", "faultroom"],
                                 stdin=subprocess.DEVNULL, stdout=f, stderr=f)
    procs.append(roomd)
    check(wait_for(rd_log, r"radio \S+ up", 15), "roomd up")
    with open(os.path.join(rd, "room-1.id"), "rb") as f:
        room = f.read(32).hex()

    a = Client(tmp, "a", port)
    b = Client(tmp, "b", port)
    akey = a.key()
    for c in (a, b):
        c.cmd("add %s faultroom" % room)
        c.cmd("login faultroom hello")
        check(c.wait(lambda e: e.get("event") == "login", 30), "client logged in")
    a.cmd("post faultroom before the outage")
    r = a.wait(outcome("before the outage"), 30)
    check(r and r[0]["event"] == "delivered", "first post delivered")
    check(b.wait(lambda e: e.get("event") == "post" and e["text"] == "before the outage", 30),
          "B pushed the first post")

    # the modem goes away: roomd notices, keeps running
    air.send_signal(signal.SIGKILL)
    air.wait()
    check(wait_for(rd_log, r"radio \S+ down", 10), "roomd saw the link go down")
    time.sleep(3)  # a few reconnect attempts with backoff
    check(roomd.poll() is None, "roomd still running without its modem")

    # ... and comes back on the same port
    air, port2 = start_meshair(tmp, port, 1)
    check(port2 == port, "meshair back on port %d" % port)
    check(wait_for(rd_log, r"radio \S+ up", 20, n=2), "roomd reconnected")
    check(a.wait(lambda e: e.get("event") == "radio" and e.get("up") and
                 sum(1 for x in a.events if x.get("event") == "radio" and x.get("up")) >= 2,
                 20), "client A reconnected")
    check(b.wait(lambda e: e.get("event") == "radio" and e.get("up") and
                 sum(1 for x in b.events if x.get("event") == "radio" and x.get("up")) >= 2,
                 20), "client B reconnected")

    # resume: post, push, storage
    a.cmd("post faultroom after the outage")
    r = a.wait(outcome("after the outage"), 30)
    check(r and r[0]["event"] == "delivered", "post after the outage delivered")
    # B, still a member with recent activity, is pushed it without logging in again
    check(b.wait(lambda e: e.get("event") == "post" and e["text"] == "after the outage", 30),
          "B pushed the post made after the outage")
    check(roomd.poll() is None, "roomd still running")
    roomd.send_signal(signal.SIGTERM)
    check(roomd.wait(10) == 0, "roomd stops cleanly")
    con = sqlite3.connect(os.path.join(rd, "roomd.db"))
    rows = con.execute("SELECT lower(hex(author)), text FROM posts ORDER BY post_ts").fetchall()
    ok = con.execute("PRAGMA integrity_check").fetchone()[0]
    con.close()
    texts = [(t.decode() if isinstance(t, bytes) else t) for _, t in rows]
    check(texts == ["before the outage", "after the outage"], "both posts stored once: %s" %
          texts)
    check(all(au == akey for au, _ in rows), "by A")
    check(ok == "ok", "integrity_check: %s" % ok)


if __name__ == "__main__":
    sys.exit(main())
