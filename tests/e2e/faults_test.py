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
import os
import signal
import sqlite3
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from world import (FAST, Checks, Roomc, Roomd, file_count, file_search, run_in_tmp,  # noqa: E402
                   start_meshair, wait_until)

T = Checks("faults")
check = T.check
procs = []


def meshair(tmp, port, gen):
    """meshair (generation gen) on port; returns (process, its port or 0)."""
    p, port = start_meshair(os.path.join(tmp, "air-%d.log" % gen), port, ["--seed", "7"] + FAST)
    procs.append(p)
    return p, port


def client(tmp, name, port):
    c = Roomc(os.path.join(tmp, name), "tcp:127.0.0.1:%d" % port, ["--no-remember", "-q"],
              log=os.path.join(tmp, name + ".err"))
    procs.append(c)
    return c


def main():
    return run_in_tmp(T, "roomd-faults.", run, procs)


def run(tmp):
    air, port = meshair(tmp, 0, 0)
    check(port != 0, "meshair started")
    if not port:
        return
    rd = Roomd(tmp, "rd", "tcp:127.0.0.1:%d" % port, {}, "faultroom", [])
    procs.append(rd)
    check(rd.start(), "roomd up")
    room = rd.key()

    a = client(tmp, "a", port)
    b = client(tmp, "b", port)
    ready = a.wait("ready", 10)
    akey = ready["key"] if ready else None
    for c in (a, b):
        c.send("add %s faultroom" % room)
        c.send("login faultroom hello")
        check(c.wait("login", 30), "client logged in")
    a.send("post faultroom before the outage")
    r = a.wait(("delivered", "failed"), 30, text="before the outage")
    check(r and r["event"] == "delivered", "first post delivered")
    check(b.wait("post", 30, text="before the outage"), "B pushed the first post")

    # the modem goes away: roomd notices, keeps running
    air.send_signal(signal.SIGKILL)
    air.wait()
    check(file_search(rd.log, r"radio \S+ down", 10), "roomd saw the link go down")
    time.sleep(3)  # a few reconnect attempts with backoff
    check(rd.proc.poll() is None, "roomd still running without its modem")

    # ... and comes back on the same port
    air, port2 = meshair(tmp, port, 1)
    check(port2 == port, "meshair back on port %d" % port)
    check(wait_until(lambda: file_count(rd.log, r"radio \S+ up") >= 2, 20), "roomd reconnected")
    check(len(a.wait_count("radio", 2, 20, up=True)) >= 2, "client A reconnected")
    check(len(b.wait_count("radio", 2, 20, up=True)) >= 2, "client B reconnected")

    # resume: post, push, storage
    a.send("post faultroom after the outage")
    r = a.wait(("delivered", "failed"), 30, text="after the outage")
    check(r and r["event"] == "delivered", "post after the outage delivered")
    # B, still a member with recent activity, is pushed it without logging in again
    check(b.wait("post", 30, text="after the outage"), "B pushed the post made after the outage")
    check(rd.proc.poll() is None, "roomd still running")
    rd.proc.send_signal(signal.SIGTERM)
    check(rd.proc.wait(10) == 0, "roomd stops cleanly")
    con = sqlite3.connect(os.path.join(rd.dir, "roomd.db"))
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
