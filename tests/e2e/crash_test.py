#!/usr/bin/env python3
"""tests/e2e/crash_test.py - crash durability: roomd killed with SIGKILL mid-burst.

Issue 8 item 6.  meshair runs a fast preset (SF7, 500 kHz: a post is ~15 ms
on air); roomd and CLIENTS long-lived `roomc --json` clients use it too.
Each client posts without pause (the next post as soon as the previous one
is delivered or failed).  CRASH_ROUNDS times, roomd is killed with SIGKILL
after a random 0.2..2.5 s (seeded: CRASH_SEED), the database is checked
with `PRAGMA integrity_check` while roomd is down, and roomd is started
again on the same directory.  At the end every post a client saw
`delivered` (the room's ACK arrived) must be in DIR/roomd.db, exactly once,
by the right author, and the database must be intact.

A post stored but whose ACK was lost (roomd died between the commit and the
ACK) is fine and counted as "stored, not acknowledged"; a delivered post
missing from the database is a failure.

Environment: O (build dir, default build), CRASH_ROUNDS (default 10),
CRASH_CLIENTS (default 3), CRASH_SEED (default 1).
Prints the figures and "crash: N passed, N failed".
"""
import json
import os
import random
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
ROUNDS = int(os.environ.get("CRASH_ROUNDS", "10"))
CLIENTS = int(os.environ.get("CRASH_CLIENTS", "3"))
SEED = int(os.environ.get("CRASH_SEED", "1"))
FACTOR = os.environ.get("CRASH_TIMEOUT_FACTOR", "1")
VERBOSE = bool(os.environ.get("CRASH_VERBOSE"))
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


def wait_for(path, pattern, timeout=10.0, start=0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with open(path, errors="replace") as f:
                f.seek(start)
                m = re.search(pattern, f.read())
                if m:
                    return m
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    return None


class Client:
    """One roomc --json process that posts without pause."""

    def __init__(self, tmp, idx, port, room_key):
        self.idx = idx
        self.data = os.path.join(tmp, "c%d" % idx)
        self.key = None
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.delivered = []  # texts
        self.failed = []
        self.queued = {}  # id -> text
        self.outcomes = 0
        self.logged_in = False
        self.events = 0
        self.stop = False
        self.err = open(os.path.join(tmp, "c%d.err" % idx), "w")
        self.trace = open(os.path.join(tmp, "c%d.jsonl" % idx), "w")
        self.p = subprocess.Popen(
            [os.path.join(BIN, "roomc"), "--data", self.data, "--radio",
             "tcp:127.0.0.1:%d" % port, "--json", "--no-remember", "-q", "--timeout-factor", FACTOR] + RADIO,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err, text=True,
            bufsize=1)
        procs.append(self.p)
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()
        self.cmd("add %s crashroom" % room_key)

    def cmd(self, line):
        try:
            self.p.stdin.write(line + "\n")
            self.p.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass

    def read(self):
        for line in self.p.stdout:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            self.trace.write("%.3f %s" % (time.time(), line))
            self.trace.flush()
            with self.cond:
                self.events += 1
                ev = e.get("event")
                if ev == "ready":
                    self.key = e.get("key")
                elif ev == "login":
                    self.logged_in = True
                elif ev == "queued" and "text" in e:
                    self.queued[e["id"]] = e["text"]
                elif ev == "delivered":
                    self.delivered.append(e.get("text") or self.queued.get(e.get("id")))
                    self.outcomes += 1
                elif ev == "failed":
                    self.failed.append(e.get("text") or self.queued.get(e.get("id")))
                    self.outcomes += 1
                elif ev == "login_timeout":
                    self.outcomes += 1
                self.cond.notify_all()

    def login(self, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            self.cmd("login crashroom hello")
            with self.cond:
                self.cond.wait_for(lambda: self.logged_in or self.outcomes, timeout=10)
                if self.logged_in:
                    return True
                self.outcomes = 0
        return False

    def poster(self):
        n = 0
        while not self.stop:
            with self.cond:
                before = self.outcomes
            n += 1
            self.cmd("post crashroom c%d post %d" % (self.idx, n))
            with self.cond:
                self.cond.wait_for(lambda: self.outcomes > before or self.p.poll() is not None,
                                   timeout=60)
            if self.p.poll() is not None:
                return


def start_roomd(rd, port, log):
    f = open(log, "w")
    p = subprocess.Popen([os.path.join(BIN, "roomd"), "--data", rd, "--radio",
                          "tcp:127.0.0.1:%d" % port, "--name", "crashroom"] +
                         (["-vv"] if VERBOSE else []),
                         stdin=subprocess.DEVNULL, stdout=f, stderr=f)
    procs.append(p)
    return p


def integrity(db):
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def main():
    tmp = tempfile.mkdtemp(prefix="roomd-crash.")
    try:
        run(tmp)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if os.environ.get("CRASH_KEEP"):
            print("kept " + tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("crash: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


def run(tmp):
    rng = random.Random(SEED)
    air_log = os.path.join(tmp, "air.log")
    with open(air_log, "w") as f:
        procs.append(subprocess.Popen([os.path.join(BIN, "meshair"), "--listen",
                                       "127.0.0.1:0", "--seed", str(SEED)] + RADIO +
                                      (["-v"] if VERBOSE else []),
                                      stderr=f, stdout=f))
    m = wait_for(air_log, r"listening on 127\.0\.0\.1:(\d+)")
    check(m is not None, "meshair started")
    if not m:
        return
    port = int(m.group(1))
    rd = os.path.join(tmp, "rd")
    os.mkdir(rd)
    with open(os.path.join(rd, "roomd.conf"), "w") as f:
        f.write("sf = 7\nbw = 500\n")
    db = os.path.join(rd, "roomd.db")
    roomd = start_roomd(rd, port, os.path.join(tmp, "roomd-0.log"))
    up = wait_for(os.path.join(tmp, "roomd-0.log"), r"radio \S+ up", 15)
    check(up is not None, "roomd up")
    if not up:
        return
    with open(os.path.join(rd, "room-1.id"), "rb") as f:
        room_key = f.read(32).hex()

    clients = [Client(tmp, i, port, room_key) for i in range(CLIENTS)]
    for c in clients:
        check(c.login(), "client %d logged in" % c.idx)
    threads = [threading.Thread(target=c.poster, daemon=True) for c in clients]
    for t in threads:
        t.start()

    bad_integrity = 0
    t0 = time.time()
    for rnd in range(1, ROUNDS + 1):
        time.sleep(rng.uniform(0.2, 2.5))
        t_kill = time.time()
        roomd.send_signal(signal.SIGKILL)
        roomd.wait()
        res = integrity(db)
        if res != "ok":
            bad_integrity += 1
            print("round %d: integrity_check: %s" % (rnd, res), file=sys.stderr)
        log = os.path.join(tmp, "roomd-%d.log" % rnd)
        roomd = start_roomd(rd, port, log)
        if wait_for(log, r"radio \S+ up", 15) is None:
            check(False, "roomd restarted in round %d" % rnd)
            return
        if VERBOSE:
            print("round %d: killed at %.3f, up again after %.3f s" %
                  (rnd, t_kill, time.time() - t_kill), file=sys.stderr)
    check(bad_integrity == 0, "integrity_check ok after every kill (%d bad)" % bad_integrity)
    # let the last posts finish, then stop the posters and roomd
    time.sleep(2)
    for c in clients:
        c.stop = True
    for t in threads:
        t.join(60)
    elapsed = time.time() - t0
    roomd.send_signal(signal.SIGKILL)
    roomd.wait()
    for c in clients:
        c.cmd("quit")
        try:
            c.p.stdin.close()
        except OSError:
            pass
        c.p.wait(30)

    res = integrity(db)
    check(res == "ok", "integrity_check at the end: %s" % res)
    con = sqlite3.connect(db)
    rows = con.execute("SELECT lower(hex(author)), text FROM posts").fetchall()
    con.close()
    stored = {}
    for author, text in rows:
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        stored.setdefault((author, text), 0)
        stored[(author, text)] += 1

    acked = lost = dups = unacked_stored = failed_posts = 0
    for c in clients:
        check(c.key is not None, "client %d key known" % c.idx)
        failed_posts += len(c.failed)
        for text in c.delivered:
            acked += 1
            n = stored.get((c.key, text), 0)
            if n == 0:
                lost += 1
                print("LOST: client %d %r" % (c.idx, text), file=sys.stderr)
            elif n > 1:
                dups += 1
        delivered = set(c.delivered)
        for (author, text), n in stored.items():
            if author == c.key and text not in delivered:
                unacked_stored += 1
    total_stored = sum(stored.values())
    print("crash: %d rounds in %.0f s, %d clients: %d posts acknowledged, %d stored "
          "(%d stored without a delivered ACK), %d failed at the client, lost %d, "
          "duplicates %d, integrity %s" % (ROUNDS, elapsed, CLIENTS, acked, total_stored,
                                            unacked_stored, failed_posts, lost, dups, res))
    check(acked >= ROUNDS, "posts were acknowledged (%d)" % acked)
    check(lost == 0, "no acknowledged post lost (%d lost)" % lost)
    check(dups == 0, "no post stored twice (%d)" % dups)


if __name__ == "__main__":
    sys.exit(main())
