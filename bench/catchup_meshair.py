#!/usr/bin/env python3
"""bench/catchup_meshair.py - catch-up of returning members, in real time, with real processes.

Issue 7, the real-time half (the virtual-time half is bench/bench_catchup.c).
meshair simulates the LoRa channel (PROTOCOL.md section 11), roomd hosts one room, and
roomc --json plays the poster and the members, as a user's scripts would.

For each preset and CSMA mode (a "world": one meshair, one roomd), and each k:
  1. the members log in once (passwords remembered) and leave at once (by
     default: before roomc's reciprocal PATH goes out, so the room knows no
     route to them and the first push after their return is flooded; with
     --linger 3 they stay long enough for the route to be learnt);
  2. roomd is restarted, so that the members it knows show no activity and
     get no pushes while they are away (otherwise roomd would spend the setup
     pushing to absent members until it gives them up).  Since issue 18 roomd
     resumes pushing after a restart to the members active in the 10 minutes
     before it stopped, so while roomd is down their last activity in its
     database is moved --away seconds back (default 3600), as if they had
     left an hour ago; --away 0 leaves it (the absent members are then pushed
     to, and the returning ones wait behind those pushes);
  3. a poster posts k posts (fixed-length text), all delivered; posts stored
     are counted with roomd's `stats-room`;
  4. the members come back together: M roomc processes start at once and
     log in with their remembered password.  The clock starts at the first
     `autologin` event and stops when the last member has its last missed
     post (`post` events).  A member whose login times out logs in again
     after a random 2..10 s (a user would; roomc's own retry is not random).
     Members that have not all they missed when nothing moved (no post, no
     login) for --stall seconds are given up.

Figures per case: time, the physical bound (M x k x (airtime of one push +
one ACK), back to back, PROTOCOL.md section 6.9 for the real frame sizes),
their ratio, the channel airtime (meshair `stats`), transmissions that
collided at some receiver, members given up, roomd's push timeouts, pushes
sent (retries included) and logins repeated after a login_timeout.

CSMA modes:
  tx0    roomd and roomc as shipped: both set the modem's TXDELAY to 0 (roomd:
         roomd.conf kiss.txdelay = 0, the default; roomc always sends 0) and
         persistence 255 (roomd.conf kiss.persistence; roomc always).
  p63    as tx0, but the members' modems keep the kiss_modem's persistence 63
         (a KISS proxy rewrites roomc's 255): each ACK waits ~300 ms more.
  modem  the kiss_modem defaults everywhere: TXDELAY 500 ms, persistence 63,
         slot 100 ms (a KISS proxy turns roomd's persistence 255 into 63).  roomd gets kiss.txdelay = 50; roomc has no option for
         it, so its members talk through a small KISS proxy here that turns
         roomc's TXDELAY 0 into 50 (checked with meshair's `radios`).

Benchmarks print figures; this never passes or fails on time.  It exits 1
only if it cannot run (a program missing, a world that does not start).

Usage: bench/catchup_meshair.py [--quick] [--out FILE.tsv] [--jobs N] ...
       (see --help)
"""
import argparse
import json
import math
import os
import queue
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))

PRESETS = {
    # PROTOCOL.md section 10.1: the firmware build default, and the "USA/Canada
    # (Recommended)" preset of docs/faq.md.
    "eu-sf8": {"freq": "869.618", "bw": "62.5", "sf": 8, "cr": 5},
    "us-sf7": {"freq": "910.525", "bw": "62.5", "sf": 7, "cr": 5},
}
# CSMA modes: modem TXDELAY (units of 10 ms), the room's persistence, the members'
# (roomd and roomc set 255 themselves; a KISS proxy imposes anything else)
CSMA = {"modem": (50, 63, 63), "tx0": (0, 255, 255), "p63": (0, 255, 63)}
ROOMD_P, ROOMC_P = 255, 255
PASSWORD = "hello"  # the room's factory read-write password

# ---- LoRa time on air, PROTOCOL.md section 6.9 --------------------------------------------


def airtime_ms(length, sf, bw_khz, cr):
    """getEstAirtimeFor(len): RadioLib SX126x time on air, truncated to ms."""
    tsym_us = int((10000 << sf) / (bw_khz * 10))
    ldro = (2 ** sf) / bw_khz >= 16
    c1x4, c2 = (25, 0) if sf in (5, 6) else (17, 8)
    div = 4 * (sf - 2) if ldro else 4 * sf
    bits = max(0, 8 * length + 16 - 4 * sf + c2 + 20)
    n_pay = -(-bits // div)
    preamble = 32 if sf <= 8 else 16
    n_x4 = (preamble + 8) * 4 + c1x4 + n_pay * cr * 4
    t_us = int(tsym_us * n_x4 / 4)
    return t_us // 1000


AIRTIME_TABLE = [  # PROTOCOL.md section 6.9: (sf, bw, cr) -> ms for 6, 22, 53, 119, 164, 255 B
    ((8, 62.5, 5), [222, 304, 467, 816, 1041, 1512]),
    ((7, 62.5, 5), [121, 162, 254, 449, 582, 848]),
    ((9, 62.5, 5), [313, 477, 722, 1337, 1746, 2566]),
    ((10, 250, 5), [156, 218, 340, 607, 791, 1180]),
    ((11, 250, 5), [313, 395, 641, 1132, 1460, 2156]),
    ((12, 125, 5), [1253, 1744, 2727, 4857, 6332, 9281]),
]


def airtime_check():
    bad = []
    for (sf, bw, cr), want in AIRTIME_TABLE:
        got = [airtime_ms(n, sf, bw, cr) for n in (6, 22, 53, 119, 164, 255)]
        if got != want:
            bad.append("SF%d BW%s: %s, table %s" % (sf, bw, got, want))
    return bad


def push_frame_len(text_len):
    """A pushed post, direct with no hops (PROTOCOL.md sections 2, 5.1, 5.4, 7.8): header,
    path_len, dest hash, src hash, MAC(2), ciphertext of ts(4) flags(1) author(4) text,
    padded to AES blocks."""
    return 1 + 1 + 1 + 1 + 2 + 16 * -(-(9 + text_len) // 16)


ACK_FRAME_LEN = 1 + 1 + 4  # a direct ACK with no hops (section 5.5)

# ---- processes -----------------------------------------------------------------------------


class Log:
    lock = threading.Lock()
    verbose = False

    @classmethod
    def say(cls, world, msg):
        if cls.verbose:
            with cls.lock:
                print("[%s] %s" % (world, msg), file=sys.stderr, flush=True)


def wait_for(path, pattern, timeout=15.0, start=0):
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
        time.sleep(0.05)
    return None


class KissProxy:
    """Forwards a host's KISS stream to its meshair radio, turning the TXDELAY command the host
    sends into `txdelay` and, if `persistence` is set, adding a Persistence command after it."""

    def __init__(self, upstream_port, txdelay, persistence=None):
        self.up = upstream_port
        self.txdelay = txdelay
        self.persistence = persistence
        self.ls = socket.socket()
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4)
        self.port = self.ls.getsockname()[1]
        self.rewritten = 0
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.up))
            except OSError:
                c.close()
                continue
            for s in (c, u):
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self.pump, args=(u, c, False), daemon=True).start()
            threading.Thread(target=self.pump, args=(c, u, True), daemon=True).start()

    def pump(self, src, dst, rewrite):
        cur = bytearray()
        try:
            while True:
                d = src.recv(4096)
                if not d:
                    break
                if not rewrite:
                    dst.sendall(d)
                    continue
                # KISS: a frame ends at a C0; whole frames pass as they are,
                # but a TXDELAY command (type 01, one data byte) gets ours.
                out = bytearray()
                for b in d:
                    if b != 0xC0:
                        cur.append(b)
                        continue
                    if len(cur) == 2 and cur[0] == 0x01:
                        cur = bytearray([0x01, self.txdelay])
                        if self.persistence is not None:
                            cur += bytes([0xC0, 0xC0, 0x02, self.persistence])
                        self.rewritten += 1
                    elif len(cur) == 2 and cur[0] == 0x02 and self.persistence is not None:
                        cur = bytearray([0x02, self.persistence])  # roomd sends its own
                        self.rewritten += 1
                    out += cur
                    out.append(0xC0)
                    cur = bytearray()
                dst.sendall(out)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.ls.close()


class Roomc:
    """A long-lived roomc --json, commands on stdin, events timestamped as they arrive."""

    def __init__(self, world, data, port, name):
        self.name = name
        self.events = []
        self.cond = threading.Condition()
        args = [world.bin("roomc"), "--data", data, "--radio", "tcp:127.0.0.1:%d" % port,
                "--json", "--wait", "5"] + world.radio_args()
        self.errf = open(os.path.join(world.tmp, "roomc-%s.log" % name), "a")
        self.p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self.errf, text=True, bufsize=1)
        threading.Thread(target=self.read, daemon=True).start()

    def read(self):
        for line in self.p.stdout:
            t = time.monotonic()
            try:
                e = json.loads(line)
            except ValueError:
                continue
            with self.cond:
                self.events.append((t, e))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def send(self, line):
        try:
            self.p.stdin.write(line + "\n")
            self.p.stdin.flush()
        except (OSError, ValueError):
            pass

    def of(self, kind):
        with self.cond:
            return [(t, e) for t, e in self.events if e.get("event") == kind]

    def quit(self):
        self.send("quit")
        try:
            self.p.wait(15)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
        self.errf.close()


class World:
    """One meshair and one roomd on a preset and CSMA mode; members m0.. and a poster."""

    def __init__(self, args, preset, csma, n_members):
        self.args = args
        self.preset = preset
        self.p = PRESETS[preset]
        self.csma = csma
        self.label = "%s/%s" % (preset, csma)
        self.tmp = tempfile.mkdtemp(prefix="catchup-%s-%s." % (preset, csma))
        self.n = n_members
        self.procs = []
        self.proxies = {}
        self.roomd = None
        self.replies = queue.Queue()
        self.rng = random.Random("%d/%s/%s" % (args.seed, preset, csma))

    def bin(self, prog):
        return os.path.join(ROOT, self.args.build, prog)

    def radio_args(self):
        return ["--freq", self.p["freq"], "--bw", self.p["bw"], "--sf", str(self.p["sf"]),
                "--cr", str(self.p["cr"])]

    # -- meshair --
    def start_air(self):
        topo = os.path.join(self.tmp, "air.topo")
        with open(topo, "w") as f:
            f.write("mode full\nradio room 0\nradio poster 0\n")
            for i in range(self.n):
                f.write("radio m%d 0\n" % i)
        self.air_log = os.path.join(self.tmp, "air.log")
        self.trace = os.path.join(self.tmp, "air.jsonl")
        with open(self.air_log, "w") as f:
            p = subprocess.Popen([self.bin("meshair"), "--listen", "127.0.0.1:0", "--topology",
                                  topo, "--control", "127.0.0.1:0", "--trace", self.trace,
                                  "--seed", str(self.args.seed), "--freq", self.p["freq"],
                                  "--bw", self.p["bw"], "--sf", str(self.p["sf"]), "--cr",
                                  str(self.p["cr"])], stdout=f, stderr=f)
        self.procs.append(p)
        if not wait_for(self.air_log, r"ready"):
            raise RuntimeError("meshair did not start (see %s)" % self.air_log)
        with open(self.air_log) as f:
            log = f.read()
        self.ports = {m.group(1): int(m.group(2))
                      for m in re.finditer(r"radio (\S+) on 127\.0\.0\.1:(\d+)", log)}
        self.ctl_port = int(re.search(r"control on 127\.0\.0\.1:(\d+)", log).group(1))
        txdelay, room_p, member_p = CSMA[self.csma]
        if txdelay or member_p != ROOMC_P:
            for i in range(self.n):
                self.proxies["m%d" % i] = KissProxy(self.ports["m%d" % i], txdelay, member_p)
        if room_p != ROOMD_P:
            self.proxies["room"] = KissProxy(self.ports["room"], txdelay, room_p)

    def control(self, cmd):
        with socket.create_connection(("127.0.0.1", self.ctl_port), timeout=10) as s:
            s.sendall((cmd + "\n").encode())
            buf = b""
            while not buf.endswith(b"\n"):
                d = s.recv(65536)
                if not d:
                    break
                buf += d
        return json.loads(buf.decode())

    def member_port(self, name):
        if name in self.proxies:
            return self.proxies[name].port
        return self.ports[name]

    # -- roomd --
    def start_roomd(self):
        conf = os.path.join(self.tmp, "roomd-bench.conf")
        with open(conf, "w") as f:
            f.write("freq = %s\nbw = %s\nsf = %d\ncr = %d\nkiss.txdelay = %d\n" %
                    (self.p["freq"], self.p["bw"], self.p["sf"], self.p["cr"],
                     CSMA[self.csma][0]))
        self.rd = os.path.join(self.tmp, "rd")
        self.rd_log = os.path.join(self.tmp, "roomd.log")
        start = os.path.getsize(self.rd_log) if os.path.exists(self.rd_log) else 0
        logf = open(self.rd_log, "a")
        self.roomd = subprocess.Popen([self.bin("roomd"), "--data", self.rd, "--config", conf,
                                       "--radio", "tcp:127.0.0.1:%d" % self.member_port("room"),
                                       "--name", "bench"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=logf, text=True, bufsize=1)
        logf.close()
        self.replies = queue.Queue()
        threading.Thread(target=self.read_roomd, args=(self.roomd, self.replies),
                         daemon=True).start()
        if not wait_for(self.rd_log, r"radio \S+ up", 15, start):
            raise RuntimeError("roomd did not start (see %s)" % self.rd_log)
        with open(os.path.join(self.rd, "room-1.id"), "rb") as f:
            self.room_key = f.read(32).hex()

    @staticmethod
    def read_roomd(p, q):
        for line in p.stdout:
            if line.startswith("  -> "):
                q.put(line[5:].rstrip("\n"))

    def console(self, cmd):
        while not self.replies.empty():
            self.replies.get_nowait()
        self.roomd.stdin.write(cmd + "\n")
        self.roomd.stdin.flush()
        try:
            return self.replies.get(timeout=10)
        except queue.Empty:
            return None

    def stats_room(self):
        r = self.console("stats-room")
        try:
            return json.loads(r)
        except (TypeError, ValueError):
            return {}

    def stop_roomd(self):
        if self.roomd and self.roomd.poll() is None:
            self.roomd.send_signal(signal.SIGTERM)
            try:
                self.roomd.wait(15)
            except subprocess.TimeoutExpired:
                self.roomd.kill()
                self.roomd.wait()

    def age_members(self, away_s):
        """roomd stopped: its members left away_s ago (no resume after the restart)."""
        if away_s <= 0:
            return
        import sqlite3
        db = sqlite3.connect(os.path.join(self.rd, "roomd.db"))
        try:
            db.execute("UPDATE members SET last_activity = max(0, last_activity - ?) "
                       "WHERE last_activity > 0", (away_s,))
            db.commit()
        finally:
            db.close()

    def close(self):
        self.stop_roomd()
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        for px in self.proxies.values():
            px.close()
        if not self.args.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
        else:
            print("kept %s" % self.tmp, file=sys.stderr)

    # -- scripted roomc runs --
    def roomc_run(self, name, port, cmds, wait=60, timeout=900):
        data = os.path.join(self.tmp, name)
        args = [self.bin("roomc"), "--data", data, "--radio", "tcp:127.0.0.1:%d" % port,
                "--json", "--wait", str(wait)] + self.radio_args()
        for c in cmds:
            args += ["-c", c]
        with open(os.path.join(self.tmp, "roomc-%s.log" % name), "a") as errf:
            p = subprocess.run(args, stdout=subprocess.PIPE, stderr=errf, text=True,
                               timeout=timeout)
        ev = []
        for line in p.stdout.splitlines():
            try:
                ev.append(json.loads(line))
            except ValueError:
                pass
        return p.returncode, ev

    def first_login(self, name):
        """A member joins: adds the room by key, logs in, the password is remembered."""
        key = self.room_key
        for attempt in range(3):
            rc, ev = self.roomc_run(name, self.member_port(name) if name != "poster" else
                                    self.ports["poster"],
                                    ["add %s bench" % key, "login %s %s" % (key[:16], PASSWORD),
                                     "wait"] + (["sleep %g" % self.args.linger]
                                                if self.args.linger else []))
            if any(e.get("event") == "login" for e in ev):
                return True
            Log.say(self.label, "%s: first login failed (attempt %d)" % (name, attempt + 1))
        return False

    def post_batch(self, batch, k):
        """The poster posts k posts of fixed length; returns how many roomd stored."""
        before = self.stats_room().get("posts", 0)
        delivered = failed = 0
        # roomc drops -c commands beyond its queue ("too many commands
        # waiting"), so a long batch is posted by several runs
        for c0 in range(0, k, 32):
            cmds = []
            for i in range(c0, min(k, c0 + 32)):
                tag = "b%02dp%03d " % (batch, i)
                text = (tag + "catch-up benchmark post " + "x" * self.args.text_len)
                cmds.append("post %s %s" % (self.room_key[:16], text[:self.args.text_len]))
                if i % 8 == 7:
                    cmds.append("wait")
            cmds.append("wait")
            rc, ev = self.roomc_run("poster", self.ports["poster"], cmds, wait=120,
                                    timeout=120 + 30 * len(cmds))
            delivered += sum(1 for e in ev if e.get("event") == "delivered")
            failed += sum(1 for e in ev if e.get("event") in ("failed", "error"))
        stored = self.stats_room().get("posts", 0) - before
        Log.say(self.label, "batch %d: %d posts, %d delivered, %d failed, %d stored" %
                (batch, k, delivered, failed, stored))
        return stored, delivered

    def trace_size(self):
        try:
            return os.path.getsize(self.trace)
        except OSError:
            return 0

    def trace_since(self, off):
        out = []
        with open(self.trace) as f:
            f.seek(off)
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    # -- one measured case --
    def catch_up(self, batch, k, names):
        tag = "b%02dp" % batch
        self.control("reset-stats")
        rs0 = self.stats_room()
        toff = self.trace_size()
        members = [Roomc(self, os.path.join(self.tmp, n), self.member_port(n), n) for n in names]
        got = {n: 0 for n in names}
        done_at = {}
        relogins = 0
        retried = set()
        relogin_at = {}
        n_logins = 0
        last_progress = time.monotonic()
        start_wall = time.monotonic()
        while True:
            now = time.monotonic()
            progress = False
            for m in members:
                c = sum(1 for _, e in m.of("post") if e.get("text", "").startswith(tag))
                if c != got[m.name]:
                    got[m.name] = c
                    progress = True
                if c >= k and m.name not in done_at:
                    done_at[m.name] = max(t for t, e in m.of("post")
                                          if e.get("text", "").startswith(tag))
                # a user whose login timed out tries again a few seconds later
                lt = len(m.of("login_timeout")) + len(m.of("login_failed"))
                if lt and (m.name, lt) not in retried:
                    retried.add((m.name, lt))
                    relogin_at[m.name] = now + self.rng.uniform(*self.args.relogin_after)
                if m.name in relogin_at and now >= relogin_at[m.name]:
                    del relogin_at[m.name]
                    relogins += 1
                    m.send("login %s %s" % (self.room_key[:16], PASSWORD))
            nl = sum(len(m.of("login")) for m in members)
            if nl != n_logins:
                n_logins = nl
                progress = True
            if progress:
                last_progress = now
            if len(done_at) == len(members):
                break
            if now - last_progress > self.args.stall or now - start_wall > self.args.cap:
                break
            time.sleep(0.05)
        logins = [m.of("autologin") for m in members]
        t0s = [ev[0][0] for ev in logins if ev]
        t0 = min(t0s) if t0s else start_wall
        per = [done_at[m.name] - (m.of("autologin")[0][0] if m.of("autologin") else t0)
               for m in members if m.name in done_at]
        stats = self.control("stats")
        rs1 = self.stats_room()
        # the modems of the room and the members ran the mode's CSMA
        txdelay, room_p, member_p = CSMA[self.csma]
        radios = self.control("radios")["radios"]
        csma_bad = [x["name"] for x in radios if x["name"] in ["room"] + names and
                    x["connected"] and (x["txdelay"] != txdelay or x["persistence"] !=
                                        (room_p if x["name"] == "room" else member_p))]
        for m in members:
            m.quit()
        if csma_bad:
            raise RuntimeError("CSMA not as asked on %s: %s" % (csma_bad, radios))
        tr = [e for e in self.trace_since(toff) if e.get("event") == "tx"]
        push_lens = sorted({e["len"] for e in tr if e["sender"] == "room" and
                            e["type"] == "TXT_MSG"})
        ack_lens = sorted({e["len"] for e in tr if e["sender"] != "room" and
                           e["type"] in ("ACK", "PATH")})
        pushes = sum(1 for e in tr if e["sender"] == "room" and e["type"] == "TXT_MSG")
        gave_up = len(members) - len(done_at)
        return {
            "time_s": (max(done_at.values()) - t0) if len(done_at) == len(members) else None,
            "member_mean_s": sum(per) / len(per) if per else None,
            "member_max_s": max(per) if per else None,
            "airtime_s": stats.get("airtime_ms", 0) / 1000.0,
            "transmissions": stats.get("transmissions", 0),
            "collisions": stats.get("tx_collided", 0),
            "rx_collided": stats.get("collided", 0),
            "gave_up": gave_up,
            "missing_posts": sum(max(0, k - got[n]) for n in names),
            "push_timeouts": rs1.get("push_timeouts", 0) - rs0.get("push_timeouts", 0),
            "pushes": pushes,
            "relogins": relogins,
            "push_lens": push_lens,
            "ack_lens": ack_lens,
        }


def run_world(args, preset, csma, plan):
    """plan: [(k, [M, ...]), ...]; returns rows."""
    groups = sorted({M for _, Ms in plan for M in Ms})
    n = sum(groups)
    w = World(args, preset, csma, n)
    rows = []
    try:
        w.start_air()
        w.start_roomd()
        names = ["m%d" % i for i in range(n)]
        for nm in ["poster"] + names:
            if not w.first_login(nm):
                raise RuntimeError("%s: %s could not log in" % (w.label, nm))
        Log.say(w.label, "%d members and the poster joined" % n)
        p = w.p
        t_pair = (airtime_ms(push_frame_len(args.text_len), p["sf"], float(p["bw"]), p["cr"]) +
                  airtime_ms(ACK_FRAME_LEN, p["sf"], float(p["bw"]), p["cr"])) / 1000.0
        for batch, (k, Ms) in enumerate(plan, 1):
            w.stop_roomd()
            w.age_members(args.away)
            w.start_roomd()
            stored, delivered = w.post_batch(batch, k)
            if stored <= 0:
                raise RuntimeError("batch %d: the room stored no post" % batch)
            time.sleep(3)  # the poster's last exchange has left the air
            off = 0
            for M in groups:
                grp = names[off:off + M]
                off += M
                if M not in Ms:
                    continue
                Log.say(w.label, "k=%d: %d member(s) return" % (stored, M))
                r = w.catch_up(batch, stored, grp)
                r.update({"preset": preset, "csma": csma, "members": M, "k": stored,
                          "k_asked": k, "bound_s": M * stored * t_pair,
                          "push_len": push_frame_len(args.text_len), "ack_len": ACK_FRAME_LEN})
                r["ratio"] = (r["time_s"] / r["bound_s"]
                              if r["time_s"] is not None and r["bound_s"] else None)
                rows.append(r)
                print_row(r)
                time.sleep(2)
    finally:
        w.close()
    return rows


COLS = [("preset", "%-7s"), ("csma", "%-5s"), ("members", "%7s"), ("k", "%4s"),
        ("time_s", "%8s"), ("bound_s", "%8s"), ("ratio", "%6s"), ("airtime_s", "%9s"),
        ("collisions", "%10s"), ("gave_up", "%7s")]
_print_lock = threading.Lock()


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return "%.1f" % v
    return str(v)


def print_header():
    print("  ".join(f % c.replace("_s", "").replace("_", "-") for c, f in COLS) +
          "  push-timeouts pushes relogins", flush=True)


def print_row(r):
    with _print_lock:
        print("  ".join(f % fmt(r[c]) for c, f in COLS) +
              "  %13d %6d %8d" % (r["push_timeouts"], r["pushes"], r["relogins"]), flush=True)
        if r["push_lens"] and r["push_lens"] != [r["push_len"]]:
            print("   note: pushes of %s bytes on air (bound uses %d)" %
                  (r["push_lens"], r["push_len"]), flush=True)


TSV_COLS = ["preset", "csma", "members", "k", "k_asked", "time_s", "bound_s", "ratio",
            "airtime_s", "transmissions", "collisions", "rx_collided", "gave_up",
            "missing_posts", "push_timeouts", "pushes", "relogins", "member_mean_s",
            "member_max_s", "push_len", "ack_len", "push_lens", "ack_lens"]


def write_tsv(path, rows):
    with open(path, "w") as f:
        f.write("\t".join(TSV_COLS) + "\n")
        for r in rows:
            vals = []
            for c in TSV_COLS:
                v = r.get(c)
                if isinstance(v, list):
                    v = ",".join(map(str, v))
                elif isinstance(v, float):
                    v = "%.3f" % v
                vals.append("" if v is None else str(v))
            f.write("\t".join(vals) + "\n")


def read_tsv(paths):
    """Rows of earlier runs (--out files), for --print."""
    rows = []
    for path in paths:
        with open(path) as f:
            head = f.readline().rstrip("\n").split("\t")
            for line in f:
                r = dict(zip(head, line.rstrip("\n").split("\t")))
                for c in list(r):
                    v = r[c]
                    if c in ("push_lens", "ack_lens"):
                        r[c] = [int(x) for x in v.split(",") if x]
                    elif v == "":
                        r[c] = None
                    elif re.fullmatch(r"-?\d+", v):
                        r[c] = int(v)
                    elif re.fullmatch(r"-?\d+\.\d*", v):
                        r[c] = float(v)
                rows.append(r)
    return rows


def parse_list(s, conv=int):
    return [conv(x) for x in s.split(",") if x]


def main():
    ap = argparse.ArgumentParser(
        description="Catch-up benchmark in real time: meshair + roomd + roomc (issue 7).")
    ap.add_argument("--quick", action="store_true",
                    help="us-sf7, TXDELAY 0, k = 1,16, one member (under 2 minutes)")
    ap.add_argument("--presets", default="eu-sf8,us-sf7", help="of: " + ",".join(PRESETS))
    ap.add_argument("--csma", default="modem,tx0,p63",
                    help="modem (kiss_modem defaults), tx0 (as shipped), p63 (members at P = 63)")
    ap.add_argument("--k", default="1,16,32,100", help="missed posts")
    ap.add_argument("--members", default="1,10", help="members returning together")
    ap.add_argument("--k-many", default="1,16,32",
                    help="k for groups of more than one member (fewer: they take long)")
    ap.add_argument("--text-len", type=int, default=50, help="bytes of text per post")
    ap.add_argument("--stall", type=float, default=120,
                    help="seconds without progress before the members are given up")
    ap.add_argument("--linger", type=float, default=0,
                    help="seconds a member stays after its first login (0: leaves at once, "
                    "before its reciprocal PATH, so the room knows no route to it)")
    ap.add_argument("--relogin-after", default="2,10",
                    help="a member whose login timed out logs in again after a random MIN,MAX s")
    ap.add_argument("--away", type=int, default=3600,
                    help="seconds the members' last activity is moved back while roomd is down "
                    "(0: not moved; roomd then resumes pushing to the absent members)")
    ap.add_argument("--cap", type=float, default=3600, help="most seconds for one case")
    ap.add_argument("--jobs", type=int, default=1, help="worlds run at the same time")
    ap.add_argument("--seed", type=int, default=1, help="meshair seed")
    ap.add_argument("--out", help="write the figures as TSV here")
    ap.add_argument("--build", default=os.environ.get("O", "build"), help="build directory")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directories")
    ap.add_argument("--print", nargs="+", metavar="TSV",
                    help="print the table of earlier --out files (merged, sorted) and exit")
    ap.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    args = ap.parse_args()
    Log.verbose = args.verbose
    args.relogin_after = parse_list(args.relogin_after, float)
    if len(args.relogin_after) != 2:
        ap.error("--relogin-after MIN,MAX")

    if args.print:
        rows = read_tsv(args.print)
        po = {p: i for i, p in enumerate(PRESETS)}
        co = {c: i for i, c in enumerate(CSMA)}
        rows.sort(key=lambda r: (po.get(r["preset"], 9), co.get(r["csma"], 9), r["members"],
                                 r["k"]))
        print_header()
        for r in rows:
            print_row(r)
        if args.out:
            write_tsv(args.out, rows)
        return 0
    bad = airtime_check()
    if bad:
        print("catchup_meshair: airtime formula disagrees with PROTOCOL.md 6.9: %s" % bad,
              file=sys.stderr)
        return 1
    for prog in ("meshair", "roomd", "roomc"):
        if not os.access(os.path.join(ROOT, args.build, prog), os.X_OK):
            print("catchup_meshair: %s/%s not built" % (args.build, prog), file=sys.stderr)
            return 1
    if args.quick:
        args.presets, args.csma, args.k, args.members, args.k_many = \
            "us-sf7", "tx0", "1,16", "1", "1,16"
    presets = parse_list(args.presets, str)
    modes = parse_list(args.csma, str)
    ks = parse_list(args.k)
    Ms = parse_list(args.members)
    k_many = set(parse_list(args.k_many))
    for p in presets:
        if p not in PRESETS:
            ap.error("unknown preset %s" % p)
    for c in modes:
        if c not in CSMA:
            ap.error("unknown csma mode %s" % c)
    plan = []  # one member: every k; groups: the k of --k-many
    for k in ks:
        use = [M for M in Ms if M == 1 or k in k_many]
        if use:
            plan.append((k, use))

    print("catch-up, real time: meshair + roomd + roomc; %d-byte posts (push %d B, ACK %d B "
          "on air); bound = members x k x (push + ACK airtime)" %
          (args.text_len, push_frame_len(args.text_len), ACK_FRAME_LEN))
    for p in presets:
        pp = PRESETS[p]
        print("  %s: %s MHz, %s kHz, SF%d, CR 4/%d: push %d ms, ACK %d ms" %
              (p, pp["freq"], pp["bw"], pp["sf"], pp["cr"],
               airtime_ms(push_frame_len(args.text_len), pp["sf"], float(pp["bw"]), pp["cr"]),
               airtime_ms(ACK_FRAME_LEN, pp["sf"], float(pp["bw"]), pp["cr"])))
    print("  csma: modem = kiss_modem defaults (TXDELAY 500 ms, persistence 63, slot 100 ms); "
          "tx0 = as shipped\n  (TXDELAY 0, persistence 255 on roomd and roomc); p63 = as tx0 "
          "but the members'\n  modems at persistence 63 (injected by a KISS proxy)")
    print_header()
    worlds = [(p, c) for p in presets for c in modes]
    rows = []
    errors = []

    def one(pc):
        try:
            return run_world(args, pc[0], pc[1], plan)
        except Exception as e:  # one broken world must not lose the others' figures
            errors.append("%s/%s: %s: %s" % (pc[0], pc[1], type(e).__name__, e))
            return []

    if args.jobs > 1:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(args.jobs) as ex:
            for r in ex.map(one, worlds):
                rows += r
    else:
        for pc in worlds:
            rows += one(pc)
    order = {(p, c): i for i, (p, c) in enumerate(worlds)}
    rows.sort(key=lambda r: (order[(r["preset"], r["csma"])], r["members"], r["k"]))
    if args.jobs > 1:
        print("-- sorted")
        print_header()
        for r in rows:
            print_row(r)
    if args.out:
        write_tsv(args.out, rows)
    for e in errors:
        print("catchup_meshair: %s" % e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
