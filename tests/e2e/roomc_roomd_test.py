#!/usr/bin/env python3
"""tests/e2e/roomc_roomd_test.py - roomc --json against the real roomd on meshair.

Starts meshair (port 0, read back from its log) and roomd with two rooms,
then runs roomc clients as a script would and checks their JSON events:
  - the login tiers: admin, read-write (guest password), guest (a wrong
    password when allow.read.only is on), and no answer at all (a wrong
    password otherwise: login_timeout);
  - a post delivered, and what the room stored (seen by another client);
  - catch-up after being offline: a client that comes back (logging in
    again with its remembered password) gets what it missed, once, and
    keeps it across restarts without duplicates;
  - two rooms at once, each with its own history and sync point;
  - remote admin: CLI command and status as admin, refused below admin;
  - contacts learnt from adverts, and the --help / usage contract;
  - the interactive mode on a pseudo-terminal: /room, a post, its mark.
Prints "roomc_roomd: N passed, N failed" at the end.
"""
import json
import os
import pty
import re
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from world import (BIN, Checks, file_search, room_key, run_in_tmp, spawn,  # noqa: E402
                   start_meshair)
from world import events_of as of  # noqa: E402

T = Checks("roomc_roomd")
check = T.check
procs = []


def roomc(data, port, cmds, wait=60, extra=(), timeout=240):
    """Runs roomc --json with -c commands; returns (exit code, events)."""
    args = [os.path.join(BIN, "roomc"), "--data", data, "--radio", "tcp:127.0.0.1:%d" % port,
            "--json", "--wait", str(wait)] + list(extra)
    for c in cmds:
        args += ["-c", c]
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        check(False, "roomc %s did not finish" % cmds)
        return -1, []
    events = []
    for line in p.stdout.splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            check(False, "not JSON: %r" % line)
    if p.stderr.strip():
        sys.stderr.write(p.stderr)
    return p.returncode, events


def main():
    return run_in_tmp(T, "roomc-e2e.", run, procs, grace=5)


def run(tmp):
    # -- usage contract -----------------------------------------------------------
    rc = subprocess.run([os.path.join(BIN, "roomc")], capture_output=True).returncode
    check(rc == 2, "no options: exit 2 (got %d)" % rc)
    rc = subprocess.run([os.path.join(BIN, "roomc"), "--data", tmp + "/x", "--radio", "tcp:h:1",
                         "-c", "contacts"], capture_output=True).returncode
    check(rc == 2, "-c without --json: exit 2 (got %d)" % rc)
    rc = subprocess.run([os.path.join(BIN, "roomc"), "--data", tmp + "/x", "--radio", "bogus:1",
                         "--json"], capture_output=True, stdin=subprocess.DEVNULL).returncode
    check(rc == 2, "bad radio spec: exit 2 (got %d)" % rc)
    h = subprocess.run([os.path.join(BIN, "roomc"), "--help"], capture_output=True, text=True)
    check(h.returncode == 0, "--help exits 0")
    for s in ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "JSON EVENTS", "FILES",
              "EXIT STATUS", "EXAMPLES"]:
        check(re.search("^" + s + "$", h.stdout, re.M) is not None, "help has section " + s)

    # -- the world: meshair and roomd with two rooms ---------------------------------
    air, port = start_meshair(os.path.join(tmp, "air.log"), 0, ["-v"])
    procs.append(air)
    check(port != 0, "meshair started")
    if not port:
        return
    rd = os.path.join(tmp, "rd")
    rd_log = os.path.join(tmp, "roomd.log")
    roomd, _ = spawn("roomd", ["--data", rd, "--radio", "tcp:127.0.0.1:%d" % port,
                               "--name", "Test BBS"], rd_log, stdin=subprocess.PIPE, text=True)
    procs.append(roomd)
    check(file_search(rd_log, r"radio \S+ up", 15) is not None, "roomd up")

    def console(line):
        roomd.stdin.write(line + "\n")
        roomd.stdin.flush()
        time.sleep(0.3)

    console("room.add Second Room")
    console("use 0")
    console("set allow.read.only on")
    check(file_search(rd_log, r"OK - 2 rooms") is not None, "second room created")
    k1 = room_key(rd, 1)
    k2 = room_key(rd, 2)
    check(len(k1) == 64 and len(k2) == 64 and k1 != k2, "two room keys")

    A = os.path.join(tmp, "alice")
    B = os.path.join(tmp, "bob")
    C = os.path.join(tmp, "carol")
    add = ["add %s Test BBS" % k1, "add %s Second Room" % k2]

    # -- login tiers --------------------------------------------------------------------
    rc, ev = roomc(A, port, add + ['login "Second Room" wrong', "wait",
                                   'login "Test BBS" hello', 'login "Second Room" password',
                                   "wait"])
    check(of(ev, "ready") and len(of(ev, "ready")[0]["key"]) == 64, "ready event with our key")
    akey = of(ev, "ready")[0]["key"] if of(ev, "ready") else ""
    check(os.stat(os.path.join(A, "identity")).st_mode & 0o777 == 0o600, "identity mode 0600")
    check(len(of(ev, "login_timeout", key=k2)) == 1, "wrong password: login_timeout")
    check(of(ev, "login", key=k1) and of(ev, "login", key=k1)[0]["role"] == "read-write",
          "guest password: read-write")
    check(of(ev, "login", key=k2) and of(ev, "login", key=k2)[0]["role"] == "admin",
          "admin password: admin")
    check(rc == 1, "a failed operation makes --json exit 1 (got %d)" % rc)
    rc, ev = roomc(C, port, add + ['login "Test BBS" nonsense', "wait", 'post "Test BBS" hi'])
    check(of(ev, "login", key=k1) and of(ev, "login", key=k1)[0]["role"] == "guest",
          "wrong password with allow.read.only: guest")
    check(of(ev, "error") and "not allowed" in of(ev, "error")[0]["message"],
          "a guest's post is refused locally")
    with open(os.path.join(A, "passwords.jsonl")) as f:
        pw = [json.loads(l) for l in f]
    check(sorted(p["password"] for p in pw) == ["hello", "password"], "passwords remembered")
    check(os.stat(os.path.join(A, "passwords.jsonl")).st_mode & 0o777 == 0o600,
          "passwords file mode 0600")
    check(os.stat(os.path.join(A, "identity")).st_size == 96, "96-byte identity file")

    # -- Bob joins both rooms, then goes offline ------------------------------------------
    rc, ev = roomc(B, port, add + ['login "Test BBS" hello', 'login "Second Room" hello', "wait"])
    check(rc == 0 and len(of(ev, "login")) == 2, "bob logged in to both rooms (exit %d)" % rc)
    # a long script: every command runs, none is dropped for want of queue space
    rc, ev = roomc(B, port, ["contacts"] * 300, wait=5, extra=["--no-login"])
    check(len(of(ev, "contacts")) == 300 and not of(ev, "error"),
          "300 -c commands all ran (%d)" % len(of(ev, "contacts")))

    # -- Alice posts to both rooms (logging in again by herself) --------------------------
    rc, ev = roomc(A, port, ["wait", 'post "Test BBS" while you were away',
                             'post "Second Room" second room news', "wait",
                             'post "Test BBS" ' + "x" * 200, "wait"])
    if len(of(ev, "delivered")) != 4:
        for e in ev:
            print("  " + json.dumps(e)[:200], file=sys.stderr)
    check(len(of(ev, "autologin")) == 2, "remembered passwords used at start")
    check(len(of(ev, "login")) == 2, "logged in again")
    d = of(ev, "delivered")
    check(len(d) == 4 and rc == 0, "four posts delivered (a long one split in two), exit %d" % rc)
    check(of(ev, "delivered", text="while you were away"), "delivered names the text")
    q = of(ev, "queued")
    check(len(q) == 4 and len(q[2]["text"]) <= 150, "long text split at 150 bytes")

    # -- Bob comes back: catch-up in each room, once ---------------------------------------
    rc, ev = roomc(B, port, ["sleep 25", "history \"Test BBS\"", "history \"Second Room\""])
    posts1 = of(ev, "post", key=k1)
    posts2 = of(ev, "post", key=k2)
    check([p["text"] for p in posts1][:1] == ["while you were away"],
          "bob caught up in Test BBS: %s" % [p["text"] for p in posts1])
    check(len(posts1) == 3, "three posts in Test BBS (got %d)" % len(posts1))
    check([p["text"] for p in posts2] == ["second room news"], "bob caught up in Second Room")
    check(posts1 and all(p["author_key"] == akey[:8] and p["author"] == akey[:8]
                         for p in posts1),
          "author shown by key prefix (no advert heard from her)")
    hist = of(ev, "history", key=k1)
    check(hist and hist[0]["count"] == 3, "history kept")
    # the sync point is the newest post timestamp
    with open(os.path.join(B, "contacts.jsonl")) as f:
        cts = {c["key"]: c for c in map(json.loads, f)}
    check(cts[k1].get("sync_since") == max(p["ts"] for p in posts1), "sync point saved")
    check(cts[k2].get("sync_since") == posts2[0]["ts"] if posts2 else False,
          "per-room sync point")
    # a restart: nothing new, nothing shown twice
    rc, ev = roomc(B, port, ["sleep 12", "history \"Test BBS\""])
    check(len(of(ev, "post")) == 0, "no post shown twice after a restart")
    hist = of(ev, "history", key=k1)
    check(hist and hist[0]["count"] == 3, "history has no duplicates")

    # -- remote admin -------------------------------------------------------------------------
    rc, ev = roomc(A, port, ["wait", 'cli "Second Room" get name', 'status "Second Room"',
                             'telemetry "Second Room"', 'acl "Second Room"', "wait",
                             'cli "Test BBS" get name'])
    r = of(ev, "cli_reply", key=k2)
    check(r and "Second Room" in r[0]["text"], "admin CLI reply: %s" % (r and r[0]["text"]))
    s = of(ev, "status", key=k2)
    check(s and s[0]["uptime_secs"] > 0 and s[0]["posted"] >= 1, "status as admin")
    t = of(ev, "telemetry", key=k2)
    check(t and any("voltage" in r for r in t[0]["records"]), "telemetry decoded: %s" %
          (t and t[0]["records"]))
    a = of(ev, "acl", key=k2)
    if not (a and a[0]["admins"]):
        for e in ev:
            print("  " + json.dumps(e)[:300], file=sys.stderr)
    check(a and any(x["prefix"] == akey[:12] and x["role"] == "admin" for x in a[0]["admins"]),
          "access list names us as admin: %s" % (a and a[0]["admins"]))
    check(of(ev, "error") and "not allowed" in of(ev, "error")[0]["message"],
          "CLI refused below admin")

    # -- contacts from adverts -----------------------------------------------------------------
    console("use 1")
    console("advert")
    rc, ev = roomc(C, port, ["sleep 8", "contacts"])
    cs = of(ev, "contacts")
    rooms = [c for c in (cs[0]["contacts"] if cs else []) if c["type"] == "room"]
    check(any(c["key"] == k2 and c["name"] == "Second Room" and c["hops"] == 0 for c in rooms),
          "room learnt from its advert")
    check(of(ev, "contact", key=k2), "contact event for the advert")

    run_interactive(tmp, port, B, k1)


def interactive(data, port, lines, until, timeout=40):
    """Runs roomc on a pseudo-terminal, typing lines; returns the screen text."""
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["LANG"] = "C.UTF-8"
        os.environ["TERM"] = "xterm"
        os.execv(os.path.join(BIN, "roomc"), ["roomc", "--data", data, "--radio",
                                              "tcp:127.0.0.1:%d" % port])
    out = b""
    end = time.time() + timeout
    pending = list(lines)
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                out += os.read(fd, 4096)
            except OSError:
                break
        text = out.decode("utf-8", "replace")
        if pending and "connected" in text:
            os.write(fd, pending.pop(0).encode() + b"\r")
            time.sleep(0.5)
        if not pending and until in text:
            break
    os.write(fd, b"/quit\r")
    try:
        while True:
            r, _, _ = select.select([fd], [], [], 2)
            if not r:
                break
            out += os.read(fd, 4096)
    except OSError:
        pass
    _, status = os.waitpid(pid, 0)
    return out.decode("utf-8", "replace"), os.waitstatus_to_exitcode(status)


def run_interactive(tmp, port, B, k1):
    screen, rc = interactive(B, port, ["/room test bbs", "typed at a terminal"], "delivered")
    check(rc == 0, "interactive: exit 0 after /quit (got %d)" % rc)
    check("— Test BBS —" in screen, "interactive: /room switches and shows history")
    check("me: typed at a terminal" in screen, "interactive: the post is echoed")
    check("✓ delivered to Test BBS" in screen, "interactive: ✓ delivered mark")
    check("\x1b[K" in screen, "interactive: line editor active on a terminal")
    check(os.path.exists(os.path.join(B, "roomc.log")), "interactive: log kept in DIR/roomc.log")


if __name__ == "__main__":
    sys.exit(main())
