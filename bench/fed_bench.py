#!/usr/bin/env python3
"""bench/fed_bench.py - federation figures on loopback (issue 17): a real mosquitto,
two roomd sites A and B sharing one room key, each on its own meshair; posts made at
A with room.post over the control socket.

  lag        LAG_POSTS posts (default 200), one every 20 ms: site-to-site lag p50/p99
             (B's "fed" status: its wall clock at apply minus A's at publish)
  throughput BURST posts (default 1000) as fast as A takes them: posts/s A stores and
             publishes, posts/s B applies
  partition  the broker stopped, PART_POSTS posts (default 1000) at A and 100 at B,
             PART_S more seconds down (default 0), the broker started: seconds until
             both hold every post
  traffic    broker bytes in + out per post ($SYS/broker/bytes/*), 2 sites

Prints one line per figure.  Never passes or fails on time.
"""
import json
import os
import shutil
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "e2e"))
from world import wait_until  # noqa: E402
import federation_test as ft  # noqa: E402

LAG_POSTS = int(os.environ.get("LAG_POSTS", "200"))
BURST = int(os.environ.get("BURST", "1000"))
PART_POSTS = int(os.environ.get("PART_POSTS", "1000"))
PART_S = float(os.environ.get("PART_S", "0"))  # the broker's time down beyond the posting


def count(site):
    p = site.posts()
    return len(p) if p is not None else 0


def posts_at(site, n, tag, gap=0.0):
    """n posts at site through one control connection; returns seconds taken."""
    t0 = time.time()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(30)
        s.connect(site.rd.sock())
        for i in range(n):
            r = ask(s, "room.post %s %d" % (tag, i))
            if not r.startswith("OK"):
                print("room.post: %r" % r, file=sys.stderr)
            if gap:
                time.sleep(gap)
    return time.time() - t0


def ask(s, cmd):
    from world import _ask_roomd
    return _ask_roomd(s, cmd)


def sys_bytes(port):
    m = ft.Mqtt(port, "bench-sys")
    m.subscribe("$SYS/broker/bytes/#")
    got = {}
    end = time.time() + 15
    while len(got) < 2 and time.time() < end:
        try:
            t, p = m.next_message(15)
        except OSError:
            break
        got[t.rsplit("/", 1)[-1]] = int(p)
    m.close()
    return got.get("received", 0) + got.get("sent", 0)


def main():
    tmp = tempfile.mkdtemp(prefix="fedbench.")
    try:
        run(tmp)
    finally:
        for p in reversed(ft.procs):
            try:
                if hasattr(p, "poll"):
                    if p.poll() is None:
                        p.kill()
                        p.wait(5)
                else:
                    p.stop()
            except Exception:  # noqa: BLE001
                pass
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp):
    broker = ft.Broker(tmp, "broker", ft.free_port())
    with open(broker.conf, "a") as f:
        f.write("sys_interval 1\n")
    broker.start()
    a = ft.Site(tmp, "a", broker.port)
    a.start()
    b = ft.Site(tmp, "b", broker.port, key_from=a.rd.dir)
    b.start()
    wait_until(lambda: a.fed().get("peers") and b.fed().get("peers"), 60, 0.2)

    posts_at(a, LAG_POSTS, "lag", 0.02)
    wait_until(lambda: count(b) >= LAG_POSTS, 120, 0.2)
    f = b.fed()
    print("lag A->B over %d posts, one per 20 ms: p50 %d ms, p99 %d ms" %
          (LAG_POSTS, f.get("lag_ms_p50", -1), f.get("lag_ms_p99", -1)))

    bytes0 = sys_bytes(broker.port)
    have = count(b)
    t0 = time.time()
    took = posts_at(a, BURST, "burst")
    wait_until(lambda: count(b) >= have + BURST, 300, 0.05)
    applied = time.time() - t0
    print("burst of %d posts: A stored and published %.0f posts/s, B applied %.0f posts/s "
          "(all in %.2f s)" % (BURST, BURST / took, BURST / applied, applied))
    time.sleep(2.5)
    bytes1 = sys_bytes(broker.port)
    print("broker traffic: %.0f bytes per post (in + out, 2 sites, QoS 1, with hellos and "
          "member records)" % ((bytes1 - bytes0) / BURST))

    broker.stop()
    wait_until(lambda: not a.fed().get("connected", True), 30, 0.2)
    na, nb = count(a), count(b)
    posts_at(a, PART_POSTS, "partA")
    posts_at(b, 100, "partB")
    time.sleep(PART_S)
    t0 = time.time()
    broker.start()
    ok = wait_until(lambda: count(a) >= na + PART_POSTS + 100 and
                    count(b) >= nb + PART_POSTS + 100, 600, 0.1)
    print("convergence after a partition of %.0f s with %d + 100 posts: %.2f s from the broker's "
          "restart%s" % (PART_S, PART_POSTS, time.time() - t0, "" if ok else " (NOT converged)"))
    print("status at B: %s" % json.dumps(b.fed()))


if __name__ == "__main__":
    main()
