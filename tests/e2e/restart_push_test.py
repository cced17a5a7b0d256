#!/usr/bin/env python3
"""tests/e2e/restart_push_test.py - a roomd restart is invisible to members (issue 18).

meshair (the fast preset of world.py), roomd, and three long-lived `roomc --json` members:
alice posts, bob and carol only read.  RESTART_ROUNDS times (default 3):
  1. alice posts "before N"; bob and carol are pushed it and ACK it;
  2. roomd is killed with SIGKILL a moment after bob's push arrived (0, 0.05, 0.3, 1 s:
     before, during and right after his ACK on the air), and started again;
  3. alice posts "after N" (alice transmits; bob and carol do not);
  4. bob and carol, who have not transmitted since the restart, must be pushed "after N".
At the end (after a quiet while) every member must have been shown every post exactly
once: roomc's post events, and its history file (DIR/history/KEY.jsonl).

Figure (printed): how long after roomd was up again a present member was pushed the new
post, and after alice's post was delivered.  Checks wait generously; none depends on time.
Environment: O (build dir), RESTART_ROUNDS (3), RESTART_WAIT (seconds to wait for a push
after the restart, default 60), RESTART_KEEP=1 keeps the directory.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from world import Air, Checks, Roomc, Roomd, run_in_tmp  # noqa: E402

ROUNDS = int(os.environ.get("RESTART_ROUNDS", "3"))
WAIT = float(os.environ.get("RESTART_WAIT", "60"))
KILL_AFTER = [0.0, 0.05, 0.3, 1.0]
T = Checks("restart_push")
check = T.check
procs = []


def run(tmp):
    air = Air(tmp, "mode full\nradio room 0\nradio alice 0\nradio bob 0\nradio carol 0")
    air.start()
    procs.append(air)
    rd = Roomd(tmp, "rd", air.spec("room"), {}, "restartroom")
    check(rd.start(), "roomd starts")
    procs.append(rd)
    key = rd.key()
    m = {}
    # rooms are named by key: the room's adverts rename the contact
    for n in ("alice", "bob", "carol"):
        m[n] = Roomc(os.path.join(tmp, n), air.spec(n), ["--no-remember"],
                     log=os.path.join(tmp, n + ".err"))
        procs.append(m[n])
        m[n].send("add %s room" % key)
        m[n].wait("ready", 10)
        e = m[n].do("login %s hello" % key[:16], ("login", "login_timeout"), 30)
        check(e is not None and e.get("event") == "login", "%s logs in" % n)
    time.sleep(2)
    after_up, after_dl = [], []
    for r in range(ROUNDS):
        marks = {n: m[n].mark() for n in m}
        d = m["alice"].do("post %s before %d" % (key[:16], r),
                          ("delivered", "failed", "error"), 60)
        if not check(d and d["event"] == "delivered", "round %d: alice's post delivered" % r):
            print("alice: %r" % m["alice"].events[marks["alice"]:], file=sys.stderr)
        got = m["bob"].wait("post", 30, since=marks["bob"], text="before %d" % r)
        check(got is not None, "round %d: bob is pushed 'before %d'" % (r, r))
        time.sleep(KILL_AFTER[r % len(KILL_AFTER)])
        rd.kill9()
        ok = rd.start()
        t_up = time.time()
        check(ok, "round %d: roomd starts again after SIGKILL" % r)
        marks = {n: m[n].mark() for n in m}
        d = m["alice"].do("post %s after %d" % (key[:16], r), ("delivered", "failed", "error"), 60)
        t_dl = time.time()
        check(d and d["event"] == "delivered",
              "round %d: alice's post after the restart delivered" % r)
        for n in ("bob", "carol"):
            got = m[n].wait("post", WAIT, since=marks[n], text="after %d" % r)
            check(got is not None, "round %d: %s (silent since the restart) is pushed the "
                  "post made after it" % (r, n))
            if got is not None and n == "bob":
                t = time.time()
                after_up.append(t - t_up)
                after_dl.append(t - t_dl)
    time.sleep(8)  # repeats, if any, come now
    for n in ("bob", "carol"):
        texts = [e.get("text") for e in m[n].of("post")]
        dup = sorted({t for t in texts if texts.count(t) > 1})
        check(not dup, "%s was shown no post twice (events; repeated: %r)" % (n, dup))
        want = ["before %d" % r for r in range(ROUNDS)] + ["after %d" % r for r in range(ROUNDS)]
        missing = [t for t in want if t not in texts]
        check(not missing, "%s was shown every post (missing: %r)" % (n, missing))
        hist = os.path.join(tmp, n, "history", key + ".jsonl")
        try:
            with open(hist) as f:
                rows = [json.loads(line) for line in f if line.strip()]
        except (OSError, ValueError):
            rows = []
        ht = [(x.get("ts"), x.get("text")) for x in rows if "text" in x and not x.get("self")]
        check(len(ht) > 0 and len(ht) == len(set(ht)),
              "%s's history holds every post once (%d rows, %d distinct)" %
              (n, len(ht), len(set(ht))))
    if after_up:
        print("restart_push: a present member was pushed a new post %s s after roomd was up "
              "again (%s s after its author's Delivered)" %
              (" ".join("%.1f" % x for x in after_up), " ".join("%.1f" % x for x in after_dl)))


if __name__ == "__main__":
    sys.exit(run_in_tmp(T, "restart_push.", run, procs, grace=5,
                        keep=bool(os.environ.get("RESTART_KEEP"))))
