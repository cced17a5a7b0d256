#!/usr/bin/env python3
"""bench/firmware_meshair.py - real-time figures with the upstream firmware client (issues 12.2,
12.6), on meshair with real processes: roomd (or the firmware room up_roomd) and firmware chat
clients (up_client, the reference peer: /work/shared/refpeer/README.txt), the firmware nodes'
radios with meshair's `firmware' CSMA profile, roomd's with `host' (its own KISS parameters).
Needs the reference peer, so it is not in bench/run.

  bench/firmware_meshair.py --peer DIR delivered [--posts N] [--mean S] [--others 0,3,10]
      Delivered latency: an author and N others (logged in, online) in one room; the author
      posts --posts posts of 40 bytes at Poisson arrivals of mean interval --mean s (seeded;
      default 10 s; as bench_delivered: a post that arrives while the previous one is not
      yet delivered is sent when it is, and counted as queued); measured per post: from the
      `post' command to the client's DELIVERED line.  p50 / p95 / p99 / max, and p95 / p95
      with 0 others.
  bench/firmware_meshair.py --peer DIR catchup [--members 1,3] [--k 16] [--rooms roomd,up_roomd]
      Catch-up with firmware clients, roomd and the firmware room side by side (same channel
      parameters, same seed): M members log in and leave, the author posts k posts (each
      delivered), 30 s later the members come back (their radios listen --boot-listen s, a
      radio does not hear a frame begun before it came up) and log in at seeded moments
      within --spread s (with the sync point their client kept, as the companion does); a
      member whose login timed out tries again after
      1..4 s (seeded), as a user would (they used to retry at the same instant, and their
      logins met each other at every try).  Time: from the first login command to the last
      member's k-th post; login_s: to the last member's LOGIN_OK.  Physical bound: M x k x (airtime of one push + one ACK), and the
      target's allowance: + 200 ms per post and member (the client's TXT_ACK_DELAY).

Benchmarks print figures; this never passes or fails on them (exit 1: could not run).
"""
import argparse
import os
import random
import re
import subprocess
import sys
import tempfile
import shutil
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop"))
sys.path.insert(0, HERE)
import interop  # noqa: E402  (Proc, World)
from catchup_meshair import airtime_ms, push_frame_len  # noqa: E402

TEXT_LEN = 40
ACK_LEN = 6


def pct(xs, p):
    xs = sorted(xs)
    return xs[max(0, -(-len(xs) * p // 100) - 1)]


class RoomWorld(interop.World):
    """meshair + one room (roomd or up_roomd) + firmware clients."""

    def __init__(self, args, tmp, label, kind, clients):
        self.kind = kind
        radios = [("room", "host" if kind == "roomd" else "firmware")]
        radios += [(c, "firmware") for c in clients]
        super().__init__(args, tmp, label, radios)
        if kind == "roomd":
            rd = os.path.join(tmp, label + "-rd")
            self.room = interop.Proc("roomd", [self.bin("roomd"), "--data", rd, "--radio",
                                               "tcp:127.0.0.1:%d" % self.ports["room"],
                                               "--name", "bench"],
                                     os.path.join(tmp, label + "-roomd.log"))
            end = time.monotonic() + 20
            idf = os.path.join(rd, "room-1.id")
            while time.monotonic() < end and not os.path.exists(idf):
                time.sleep(0.05)
            time.sleep(1.0)
            with open(idf, "rb") as f:
                self.key = f.read(32).hex().upper()
        else:
            self.room = interop.Proc("up_roomd", [self.peer("up_roomd"), "--kiss",
                                                  "127.0.0.1:%d" % self.ports["room"], "--data",
                                                  os.path.join(tmp, label + "-fw"), "--name",
                                                  "bench"],
                                     os.path.join(tmp, label + "-up_roomd.log"))
            m = self.room.wait(r"Room ID: ([0-9A-Fa-f]{64})", 20)
            if not m or not self.room.wait(r"# up_roomd ready", 20):
                raise RuntimeError("up_roomd did not start")
            self.key = m.group(1).upper()
        self.procs.append(self.room)
        self.pfx = self.key[:8]
        self.cl = {}
        for c in clients:
            self.cl[c] = self.up_client(c)
        self.room.send("advert")
        for c in clients:
            if not self.cl[c].wait(r"^ADVERT room %s" % self.key, 30):
                raise RuntimeError("%s did not hear the room" % c)

    def login(self, name, timeout=60):
        for _ in range(4):
            m = self.cl[name].mark()
            self.cl[name].send("login %s hello" % self.pfx)
            r = self.cl[name].wait(r"^(LOGIN_OK|LOGIN_FAIL|LOGIN_TIMEOUT)", timeout, m)
            if r and r.group(1) == "LOGIN_OK":
                return True
            time.sleep(random.uniform(1, 4))
        return False

    def post(self, name, text):
        m = self.cl[name].mark()
        t0 = time.monotonic()
        self.cl[name].send("post %s %s" % (self.pfx, text))
        r = self.cl[name].wait(r"^(DELIVERED|FAILED) ", 90, m)
        if r and r.group(1) == "DELIVERED":
            return time.monotonic() - t0
        return None


def text_for(tag, i):
    t = "%s%03d " % (tag, i)
    return t + "x" * (TEXT_LEN - len(t))


def delivered(args, tmp):
    rng = random.Random(args.seed)
    rows = []
    p95_0 = None
    print("Delivered latency with firmware clients (real time, meshair, EU-SF8; %d posts of %d "
          "B, Poisson arrivals, mean %.0f s)" % (args.posts, TEXT_LEN, args.mean))
    print("%-6s %6s %6s %7s %7s %7s %7s %9s %6s %6s" % (
        "room", "others", "posts", "p50_ms", "p95_ms", "p99_ms", "max_ms", "p95/p95_0",
        "queued", "failed"))
    for n in args.others:
        names = ["author"] + ["m%d" % i for i in range(n)]
        w = RoomWorld(args, tmp, "d%d" % n, "roomd", names)
        try:
            for c in names:
                if not w.login(c):
                    raise RuntimeError("%s could not log in" % c)
            time.sleep(5)
            lat, failed, queued = [], 0, 0
            t_next = time.monotonic()
            for i in range(args.posts):
                t_next += rng.expovariate(1.0 / args.mean)
                if time.monotonic() < t_next:
                    time.sleep(t_next - time.monotonic())
                else:
                    queued += 1
                d = w.post("author", text_for("d", i))
                if d is None:
                    failed += 1
                else:
                    lat.append(d * 1000)
        finally:
            w.close()
        if not lat:
            print("%-6s %6d no post delivered" % ("roomd", n))
            continue
        p95 = pct(lat, 95)
        if n == 0:
            p95_0 = p95
        rows.append((n, len(lat), pct(lat, 50), p95, max(lat), failed))
        print("%-6s %6d %6d %7.0f %7.0f %7.0f %7.0f %9s %6d %6d" % (
            "roomd", n, len(lat), pct(lat, 50), p95, pct(lat, 99), max(lat),
            "%.2f" % (p95 / p95_0) if p95_0 else "-", queued, failed), flush=True)
    return rows


def catchup(args, tmp):
    at = lambda n: airtime_ms(n, 8, 62.5, 5)  # noqa: E731  (the firmware default preset)
    per = at(push_frame_len(TEXT_LEN)) + at(ACK_LEN)
    print("Catch-up with firmware clients (real time, meshair, EU-SF8, seed %d; push %d B + "
          "ACK %d B = %d ms on the air)" % (args.seed, push_frame_len(TEXT_LEN), ACK_LEN, per))
    print("%-8s %7s %4s %8s %8s %8s %10s %6s %10s %8s" % (
        "room", "members", "k", "time_s", "login_s", "bound_s", "bound+ack", "ratio",
        "ratio+ack", "complete"))
    rng = random.Random(args.seed)
    rows = []
    for m in args.members:
        for kind in args.rooms:
            names = ["author"] + ["m%d" % i for i in range(m)]
            w = RoomWorld(args, tmp, "c%d%s" % (m, kind), kind, names)
            try:
                for c in names:
                    if not w.login(c):
                        raise RuntimeError("%s could not log in" % c)
                time.sleep(8)
                for c in names[1:]:  # the members leave (contacts saved at exit)
                    w.cl[c].send("quit")
                    try:
                        w.cl[c].p.wait(15)
                    except subprocess.TimeoutExpired:
                        pass
                    w.cl[c].stop()
                    w.procs.remove(w.cl[c])
                for i in range(args.k):
                    if w.post("author", text_for("c", i)) is None:
                        w.post("author", text_for("c", i))
                time.sleep(30)
                for c in names[1:]:
                    w.cl[c] = w.up_client(c)
                # their radios listen for the longest frame (a radio does not hear a frame
                # begun before it came up), then each member logs in at a seeded moment
                # within one second: started one after another and logging in at once,
                # a member keyed up on top of the login of the one started before it
                time.sleep(args.boot_listen)
                t0 = time.monotonic()
                retry_at = {c: t0 + rng.uniform(0, args.spread) for c in names[1:]}
                t0 = min(retry_at.values())  # the time counts from the first login
                done, relogins = {}, {}
                end = time.monotonic() + args.k * m * 20 + 120
                while time.monotonic() < end and len(done) < m:
                    for c in names[1:]:
                        if c in done:
                            continue
                        got = w.cl[c].matching(r"^POST %s \S+ \d+ (c\d{3}) " % w.pfx)
                        if len({g.group(1) for _, g in got}) >= args.k:
                            done[c] = max(t for t, _ in got)
                        n_to = len(w.cl[c].matching(r"^LOGIN_TIMEOUT"))
                        if n_to > relogins.get(c, 0) and n_to < 5:
                            relogins[c] = n_to  # as a user would: try again, a bit later
                            retry_at[c] = time.monotonic() + rng.uniform(1, 4)
                        if c in retry_at and time.monotonic() >= retry_at[c]:
                            del retry_at[c]
                            w.cl[c].send("login %s hello" % w.pfx)
                    time.sleep(0.05)
                t = (max(done.values()) - t0) if len(done) == m else float("nan")
                oks = [w.cl[c].matching(r"^LOGIN_OK") for c in names[1:]]
                login_s = (max(g[-1][0] for g in oks) - t0) if all(oks) else float("nan")
            finally:
                w.close()
            bound = m * args.k * per / 1000.0
            allow = bound + m * args.k * 0.2
            rows.append((kind, m, args.k, t, bound, allow, len(done)))
            print("%-8s %7d %4d %8.1f %8.1f %8.1f %10.1f %6.2f %10.2f %6d/%d" % (
                kind, m, args.k, t, login_s, bound, allow, t / bound, t / allow, len(done), m),
                flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--peer", default=os.environ.get("UP_BIN_DIR", "/work/refpeer-build"))
    ap.add_argument("--build", default=os.environ.get("O", "build"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--posts", type=int, default=12)
    ap.add_argument("--mean", type=float, default=10.0,
                    help="delivered: mean interval of the Poisson post arrivals, s")
    ap.add_argument("--others", default="0,3,10")
    ap.add_argument("--members", default="1,3")
    ap.add_argument("--k", type=int, default=16)
    ap.add_argument("--rooms", default="roomd,up_roomd",
                    help="catchup: which rooms to measure (default both)")
    ap.add_argument("--boot-listen", type=float, default=1.6,
                    help="catchup: s the members' radios listen before the first login "
                         "(longer than the longest frame: 255 B, 1.51 s on EU-SF8)")
    ap.add_argument("--spread", type=float, default=1.0,
                    help="catchup: the members log in at seeded moments within this many s")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("what", choices=["delivered", "catchup"])
    args = ap.parse_args()
    args.others = [int(x) for x in args.others.split(",")]
    args.members = [int(x) for x in args.members.split(",")]
    args.rooms = [x for x in args.rooms.split(",") if x in ("roomd", "up_roomd")]
    tmp = tempfile.mkdtemp(prefix="fwbench.")
    try:
        if args.what == "delivered":
            delivered(args, tmp)
        else:
            catchup(args, tmp)
    except RuntimeError as e:
        print("firmware_meshair: cannot run: %s (%s)" % (e, tmp), file=sys.stderr)
        sys.exit(1)
    finally:
        if args.keep:
            print("kept %s" % tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
