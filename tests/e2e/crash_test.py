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
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from world import FAST, Checks, Roomc, Roomd, run_in_tmp, start_meshair  # noqa: E402

ROUNDS = int(os.environ.get("CRASH_ROUNDS", "10"))
CLIENTS = int(os.environ.get("CRASH_CLIENTS", "3"))
SEED = int(os.environ.get("CRASH_SEED", "1"))
FACTOR = os.environ.get("CRASH_TIMEOUT_FACTOR", "1")
VERBOSE = bool(os.environ.get("CRASH_VERBOSE"))
T = Checks("crash")
check = T.check
procs = []


class Client(Roomc):
    """One roomc --json process that posts without pause."""

    def __init__(self, tmp, idx, port, room_key):
        self.idx = idx
        self.key = None
        self.delivered = []  # texts
        self.failed = []
        self.queued = {}  # id -> text
        self.outcomes = 0
        self.logged_in = False
        self.stop = False
        self.trace = open(os.path.join(tmp, "c%d.jsonl" % idx), "w")
        super().__init__(os.path.join(tmp, "c%d" % idx), "tcp:127.0.0.1:%d" % port,
                         ["--no-remember", "-q", "--timeout-factor", FACTOR],
                         log=os.path.join(tmp, "c%d.err" % idx))
        procs.append(self)
        self.cmd("add %s crashroom" % room_key)

    def cmd(self, line):
        try:
            self.send(line)
        except (BrokenPipeError, ValueError):
            pass

    def on_event(self, e):
        if e.get("event") == "not-json":
            return
        self.trace.write("%.3f %s\n" % (time.time(), json.dumps(e)))
        self.trace.flush()
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

    def login(self, timeout=30):
        end = time.time() + timeout
        while time.time() < end:
            self.cmd("login crashroom hello")
            with self.lock:
                self.lock.wait_for(lambda: self.logged_in or self.outcomes, timeout=10)
                if self.logged_in:
                    return True
                self.outcomes = 0
        return False

    def poster(self):
        n = 0
        while not self.stop:
            with self.lock:
                before = self.outcomes
            n += 1
            self.cmd("post crashroom c%d post %d" % (self.idx, n))
            with self.lock:
                self.lock.wait_for(lambda: self.outcomes > before or self.proc.poll() is not None,
                                   timeout=60)
            if self.proc.poll() is not None:
                return


def integrity(db):
    con = sqlite3.connect(db, timeout=10)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def main():
    return run_in_tmp(T, "roomd-crash.", run, procs, keep=bool(os.environ.get("CRASH_KEEP")))


def run(tmp):
    rng = random.Random(SEED)
    air, port = start_meshair(os.path.join(tmp, "air.log"), 0,
                              ["--seed", str(SEED)] + FAST + (["-v"] if VERBOSE else []))
    procs.append(air)
    check(port != 0, "meshair started")
    if not port:
        return
    roomd = Roomd(tmp, "rd", "tcp:127.0.0.1:%d" % port, {}, "crashroom",
                  ["-vv"] if VERBOSE else [])
    procs.append(roomd)
    db = os.path.join(roomd.dir, "roomd.db")
    up = roomd.start()
    check(up, "roomd up")
    if not up:
        return
    room_key = roomd.key()

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
        roomd.kill9()
        res = integrity(db)
        if res != "ok":
            bad_integrity += 1
            print("round %d: integrity_check: %s" % (rnd, res), file=sys.stderr)
        if not roomd.start():
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
    roomd.kill9()
    for c in clients:
        c.quit(30)

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
