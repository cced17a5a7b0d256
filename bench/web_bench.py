#!/usr/bin/env python3
"""bench/web_bench.py - figures of roomd's web page (issue 16), printed.

Runs meshair, roomd (one room with 10,000 posts put in over the control socket)
and, for the radio side, one roomc; then measures
  1. the time to answer a board page (GET /api/v1/posts, 50 posts) with
     10,000 posts: the newest page, pages at random depths, and a search;
     and the page itself (GET /board); p50 and p99 over keep-alive requests
     (the client is on the same host: this is the server's time plus loopback);
  2. roomd's resident memory with 0 and 100 live pages (SSE connections) open;
  3. roomd's CPU time per pushed live update: posts made with 100 pages open,
     minus the same posts with none, divided by the updates pushed;
  4. the radio side with 0 and with 100 live pages open: roomc's post round
     trip (rtt_ms of 'delivered', p50) and roomd's CPU for the posts.
Figures only: nothing passes or fails on time.  Usage: O=build python3 bench/web_bench.py
"""
import http.client
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "e2e"))
from world import FAST, Roomc, Roomd, file_search, start_meshair, stop_all  # noqa: E402

N_POSTS = 10000
PAGES = 100
TICK = os.sysconf("SC_CLK_TCK")


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100.0 * (len(xs) - 1))))]


def cpu_s(pid):
    """CPU time of the process in seconds, to the nanosecond (schedstat; stat has 10 ms ticks)."""
    try:
        with open("/proc/%d/schedstat" % pid) as f:
            return int(f.read().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        with open("/proc/%d/stat" % pid) as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / TICK


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def ctl_many(rd, lines):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(120)
    s.connect(rd.sock())
    s.sendall(("\n".join(lines) + "\n").encode())
    buf = b""
    while len(re.findall(rb"(?m)^(OK|ERR)$", buf)) < len(lines):
        d = s.recv(1 << 16)
        if not d:
            break
        buf += d
    s.close()


def timed_gets(port, paths):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    out = []
    for p in paths:
        t = time.perf_counter()
        c.request("GET", p)
        r = c.getresponse()
        r.read()
        out.append((time.perf_counter() - t) * 1000.0)
        assert r.status == 200, (p, r.status)
    c.close()
    return out


def open_pages(port, n):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /api/v1/events?room=0 HTTP/1.1\r\nHost: bench\r\n\r\n")
        socks.append(s)
    for s in socks:  # every page has its headers
        s.settimeout(10)
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(4096)
    return socks


class Reader:
    """Reads every page's stream as a browser would, in a thread; counts the updates."""

    def __init__(self, socks):
        import selectors
        import threading
        self.sel = selectors.DefaultSelector()
        for s in socks:
            s.setblocking(False)
            self.sel.register(s, selectors.EVENT_READ)
        self.n = 0
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            for key, _ in self.sel.select(0.1):
                try:
                    d = key.fileobj.recv(1 << 16)
                except BlockingIOError:
                    continue
                if not d:
                    self.sel.unregister(key.fileobj)
                    continue
                self.n += d.count(b"event: post")

    def close(self):
        self.stop = True
        self.t.join()


def radio_round(rd, bob, tag, n=10):
    """n posts by bob over the air; (p50 rtt ms, roomd CPU s)."""
    c0 = cpu_s(rd.proc.pid)
    rtts = []
    for i in range(n):
        d = bob.do("post Bench %s %d" % (tag, i), "delivered", 60)
        if d:
            rtts.append(d["rtt_ms"])
    return (statistics.median(rtts) if rtts else float("nan"), cpu_s(rd.proc.pid) - c0,
            len(rtts))


def main():
    tmp = tempfile.mkdtemp(prefix="webbench.")
    procs = []
    try:
        air, port = start_meshair(os.path.join(tmp, "air.log"), 0, FAST)
        procs.append(air)
        radio = "tcp:127.0.0.1:%d" % port
        rd = Roomd(tmp, "rd", radio, {"password": "bench-admin", "guest.password": "bench-guest",
                                       "advert.interval": "0", "max.posts": "100000"}, "Bench",
                   flags=["--http", "127.0.0.1:0"])
        procs.append(rd)
        if not rd.start():
            print("web_bench: roomd did not start")
            return 1
        web = int(file_search(rd.log, r"web page on http://127\.0\.0\.1:(\d+)/", 10).group(1))
        t = time.time()
        for k in range(0, N_POSTS, 1000):
            ctl_many(rd, ["room.post bench post %05d%s" % (i, " needle" if i == 4321 else "")
                          for i in range(k, k + 1000)])
        print("posts: %d put in over the control socket in %.1f s" % (N_POSTS, time.time() - t))

        # 1. board pages (after a warm-up: the database's pages in cache)
        timed_gets(web, ["/api/v1/posts?room=0&limit=50&before=%d" % i
                         for i in range(50, N_POSTS, 97)])
        newest = timed_gets(web, ["/api/v1/posts?room=0&limit=50"] * 300)
        rnd = random.Random(1)
        deep = timed_gets(web, ["/api/v1/posts?room=0&limit=50&before=%d" % rnd.randint(51, N_POSTS)
                                for _ in range(300)])
        search = timed_gets(web, ["/api/v1/posts?room=0&limit=50&q=needle"] * 50)
        page = timed_gets(web, ["/board?room=0"] * 300)
        print("board page, %d posts (GET /api/v1/posts, 50 posts, keep-alive, loopback):" % N_POSTS)
        for name, xs in (("newest page", newest), ("random depth", deep),
                         ("search (whole room)", search), ("the HTML page", page)):
            print("  %-20s p50 %.2f ms  p99 %.2f ms  (%d requests)" %
                  (name, pct(xs, 50), pct(xs, 99), len(xs)))

        # 4a. radio side with no page open
        # no catch-up of 10,000 posts for this member: its history says it has them
        key = rd.key(1)
        bdir = os.path.join(tmp, "bob")
        bob = Roomc(bdir, radio)
        bob.wait("radio", 20, up=True)
        bob.do("add %s Bench" % key, "ok", 10)
        bob.quit()
        os.makedirs(os.path.join(bdir, "history"), exist_ok=True)
        with open(os.path.join(bdir, "history", key + ".jsonl"), "a") as f:
            f.write('{"ts":%d,"author":"seed","text":"seed","at":%d}\n' %
                    (int(time.time()) + 3 * N_POSTS, int(time.time())))
        bob = Roomc(bdir, radio)
        procs.append(bob)
        bob.wait("radio", 20, up=True)
        lg = bob.do("login Bench bench-guest", "login", 30)
        if not lg:
            print("web_bench: roomc login failed")
            return 1
        time.sleep(2)
        rtt0, cpu0, n0 = radio_round(rd, bob, "quiet")

        # 2. memory
        rss0 = rss_kb(rd.proc.pid)
        socks = open_pages(web, PAGES)
        time.sleep(0.5)
        rss1 = rss_kb(rd.proc.pid)
        print("memory: roomd RSS %d KiB with no live page, %d KiB with %d open (+%.1f KiB a page)"
              % (rss0, rss1, PAGES, (rss1 - rss0) / PAGES))

        # 3. CPU per pushed update: rounds of M posts to the pages' room and to another room
        # (the same commits, no pushes), alternated, medians
        M = 1000
        ctl_many(rd, ["room.add Other"])
        reader = Reader(socks)
        time.sleep(0.5)
        with_pages, without = [], []
        got = 0
        for r in range(4):
            for room, out in ((0, with_pages), (1, without)):
                n_before = reader.n
                c0 = cpu_s(rd.proc.pid)
                ctl_many(rd, ["use %d" % room] + ["room.post live %d.%d" % (r, i) for i in range(M)])
                time.sleep(0.5)
                out.append(cpu_s(rd.proc.pid) - c0)
                if room == 0:
                    got += reader.n - n_before
        c_pages, c_none = statistics.median(with_pages), statistics.median(without)
        per = (c_pages - c_none) / (M * PAGES) * 1e6
        # 4b. radio side with 100 pages open
        rtt1, cpu1, n1 = radio_round(rd, bob, "busy")
        reader.close()
        for s in socks:
            s.close()
        print("live updates: rounds of %d posts with %d pages open (%d updates read in all): "
              "roomd CPU median %.3f s a round to the pages' room, %.3f s to another room: "
              "%.2f us per pushed update" % (M, PAGES, got, c_pages, c_none, per))
        print("radio side (roomc post round trip, %d posts each): p50 rtt %.0f ms with no page, "
              "%.0f ms with %d pages open; roomd CPU %.3f s vs %.3f s; delivered %d/%d vs %d/%d" %
              (n0, rtt0, rtt1, PAGES, cpu0, cpu1, n0, 10, n1, 10))
        bob.quit()
        return 0
    finally:
        stop_all(procs, 5)
        subprocess.run(["rm", "-rf", tmp])


if __name__ == "__main__":
    sys.exit(main())
