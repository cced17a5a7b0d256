#!/usr/bin/env python3
"""tests/e2e/federation_test.py - one room across three sites over MQTT (issue 17).

A real mosquitto on a free loopback port (temp config, persistence on), three
sites each with its own meshair channel (no radio path between them) and its
own roomd sharing one room key file, roomc members at each:
  1. a post at A is pushed to a member at C, once;
  2. a member roams from A to B (its radio moves to B's channel) and gets the
     posts made meanwhile without logging in again; a post captured on A's
     channel and replayed on B's is stored nowhere (B, which holds it, takes
     it as a retry);
  3. garbage, a bad signature and another room's messages on the room's
     topics are dropped and counted; a guest password set at A lets a
     newcomer in at C;
  4. partition: the broker stops for FED_PARTITION_S seconds (default 300)
     while every site takes posts (each acknowledged while the broker is down:
     Delivered never waits for replication); once it is back every database
     holds every post exactly once, in the same global order, and the members
     are caught up;
  5. a site SIGKILLed right after acknowledging a post loses nothing: the post
     reaches the others after its restart;
  6. a site started empty from a copy of the key file catches up the whole
     history;
  7. two brokers bridged: a site on the second broker behaves as the others;
  8. the ACL file of docs/federation.md with passwords: two sites log in as
     their users and replicate, a user cannot write under another site's name
     nor in another room;
  9. every room of a roomd federates, each on its own topic: A's second room
     (its key file copied to B) replicates both ways, and none of its posts
     lands in the first room.
Prints "federation: N passed, N failed".
"""
import json
import os
import pwd
import shutil
import signal
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from world import Air, Checks, Roomc, Roomd, file_search, wait_until  # noqa: E402

T = Checks("federation")
check = T.check
PARTITION_S = float(os.environ.get("FED_PARTITION_S", "300"))
ROOM = "valley"
procs = []
TOPO = "\n".join(["mode links"] + ["radio %s 0" % r for r in ("room", "m1", "m2", "m3", "sniff")] +
                 ["link %s %s" % (a, b) for i, a in enumerate(("room", "m1", "m2", "m3", "sniff"))
                  for b in ("room", "m1", "m2", "m3", "sniff")[i + 1:]])


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, tmp, name, port, bridge_to=None):
        self.dir = os.path.join(tmp, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = port
        self.log = os.path.join(tmp, name + ".log")
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        lines = ["listener %d 127.0.0.1" % port, "allow_anonymous true", "persistence true",
                 "persistence_location %s/" % self.dir, "max_queued_messages 100000",
                 "log_dest stderr",
                 # as root mosquitto would become user mosquitto, who cannot
                 # write the persistence file here; as anyone else this is ignored
                 "user %s" % pwd.getpwuid(os.getuid()).pw_name]
        if bridge_to:
            lines += ["connection bridge-%s" % name, "address 127.0.0.1:%d" % bridge_to,
                      "topic roomd/# both 1", "cleansession false",
                      "remote_clientid bridge-%s" % name, "restart_timeout 1"]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = None

    def start(self):
        with open(self.log, "a") as f:
            self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=f, stderr=f)
        procs.append(self.proc)
        return wait_until(lambda: can_connect(self.port), 10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


def can_connect(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def mqtt_str(s):
    b = s.encode()
    return struct.pack(">H", len(b)) + b


def mqtt_len(n):
    out = bytearray()
    while True:
        d = n % 128
        n //= 128
        out.append(d | (0x80 if n else 0))
        if not n:
            return bytes(out)


class Mqtt:
    """A bare MQTT 3.1.1 client: enough to publish raw bytes and capture messages."""

    def __init__(self, port, cid, user=None, password=None):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        flags = 2 | (0xC0 if user else 0)
        body = mqtt_str("MQTT") + bytes([4, flags]) + struct.pack(">H", 60) + mqtt_str(cid)
        if user:
            body += mqtt_str(user) + mqtt_str(password)
        self.s.sendall(bytes([0x10]) + mqtt_len(len(body)) + body)
        self.read_packet()  # CONNACK

    def read_packet(self):
        h = self._n(1)[0]
        mult, n = 1, 0
        while True:
            d = self._n(1)[0]
            n += (d & 127) * mult
            mult *= 128
            if not d & 128:
                break
        return h, self._n(n)

    def _n(self, n):
        b = b""
        while len(b) < n:
            d = self.s.recv(n - len(b))
            if not d:
                raise OSError("closed")
            b += d
        return b

    def publish(self, topic, payload):
        body = mqtt_str(topic) + payload
        self.s.sendall(bytes([0x30]) + mqtt_len(len(body)) + body)

    def subscribe(self, flt):
        body = struct.pack(">H", 1) + mqtt_str(flt) + bytes([0])
        self.s.sendall(bytes([0x82]) + mqtt_len(len(body)) + body)
        self.read_packet()  # SUBACK

    def next_message(self, timeout):
        self.s.settimeout(timeout)
        while True:
            h, b = self.read_packet()
            if h >> 4 == 3:
                tl = struct.unpack(">H", b[:2])[0]
                return b[2:2 + tl].decode(), b[2 + tl:]

    def close(self):
        try:
            self.s.sendall(b"\xe0\x00")
            self.s.close()
        except OSError:
            pass


class Sniffer:
    """A KISS radio on a channel: captures the frames in the air, sends one."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.s.sendall(b"\xc0\x01\x00\xc0\xc0\x02\xff\xc0")
        self.buf = b""

    def frames(self, timeout=1.0):
        end = time.time() + timeout
        self.s.settimeout(0.2)
        while time.time() < end:
            try:
                d = self.s.recv(65536)
                if not d:
                    break
                self.buf += d
            except socket.timeout:
                pass
        out = []
        for raw in self.buf.split(b"\xc0"):
            if not raw:
                continue
            f = raw.replace(b"\xdb\xdc", b"\xc0").replace(b"\xdb\xdd", b"\xdb")
            if f[0] == 0x00:
                out.append(f[1:])
        return out

    def send(self, frame):
        f = b"\x00" + frame
        f = f.replace(b"\xdb", b"\xdb\xdd").replace(b"\xc0", b"\xdb\xdc")
        self.s.sendall(b"\xc0" + f + b"\xc0")


class Site:
    def __init__(self, tmp, name, broker_port, key_from=None, http=0, tag="", conf=None,
                 rooms=1):
        self.name = name
        self.http = http
        self.air = Air(tmp, TOPO, "air-" + name + tag)
        self.air.start()
        procs.append(self.air)
        d = os.path.join(tmp, "site-" + name + tag)
        if key_from:
            os.makedirs(d, mode=0o700, exist_ok=True)
            for n in range(1, rooms + 1):
                kf = "room-%d.id" % n
                shutil.copy(os.path.join(key_from, kf), os.path.join(d, kf))
                os.chmod(os.path.join(d, kf), 0o600)
        self.rd = Roomd(tmp, "site-" + name + tag, self.air.spec("room"),
                        dict({"fed.site": name}, **(conf or {})), "Valley",
                        flags=["-v", "--federate", "mqtt://127.0.0.1:%d/%s" % (broker_port, ROOM)] +
                        (["--http", "127.0.0.1:%d" % http] if http else []))
        procs.append(self.rd)
        self.db = os.path.join(self.rd.dir, "roomd.db")

    def start(self):
        return self.rd.start()

    def fed(self):
        try:
            return json.loads(self.rd.ctl("stats-room")).get("fed", {})
        except (ValueError, OSError):
            return {}

    def posts(self, room=1):
        """(origin, seq, origin_ts, text) of room `room` (its store id) in the global order,
        this site's own as its name."""
        try:
            with sqlite3.connect("file:%s?mode=ro" % self.db, uri=True, timeout=10) as c:
                rows = c.execute("SELECT CASE origin WHEN '' THEN ? ELSE origin END AS o,"
                                 " origin_seq, origin_ts, text FROM posts WHERE room_id = ?"
                                 " ORDER BY origin_ts, o, origin_seq",
                                 (self.name, room)).fetchall()
            return [(o, s, t, bytes(x).decode(errors="replace")) for o, s, t, x in rows]
        except sqlite3.Error:
            return None

    def texts(self, room=1):
        p = self.posts(room) or []
        return [x[3] for x in p]


def metric(site, name):
    """A sample of /metrics at a site with --http (summed over labels), or -1."""
    import urllib.request
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % site.http, timeout=10) as r:
            text = r.read().decode()
    except OSError:
        return -1
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def member(tmp, site, radio, name):
    c = Roomc(os.path.join(tmp, name), site.air.spec(radio), ["--timeout-factor", "3"])
    procs.append(c)
    check(c.wait("radio", 20, up=True) is not None, "%s: radio up" % name)
    return c


def join(c, key, pw="hello"):
    c.send("add %s Valley" % key)
    lg = c.do("login Valley " + pw, "login", 60, key=key)
    check(lg and lg["role"] == "read-write", "%s logged in (%s)" % (c.errf.name, lg))
    return lg


def main():
    tmp = tempfile.mkdtemp(prefix="federation.")
    try:
        run(tmp)
    finally:
        for p in reversed(procs):
            try:
                if isinstance(p, subprocess.Popen):
                    if p.poll() is None:
                        p.kill()
                        p.wait(5)
                elif isinstance(p, Roomc):
                    p.kill()
                else:
                    p.stop()
            except Exception:  # noqa: BLE001 - cleanup goes on
                pass
        if os.environ.get("KEEP"):
            print("kept " + tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return T.done()


def all_hold(sites, texts, timeout):
    return wait_until(lambda: all(set(texts) <= set(s.texts()) for s in sites), timeout, 0.5)


def run(tmp):
    broker = Broker(tmp, "broker", free_port())
    check(broker.start(), "mosquitto up")
    a = Site(tmp, "a", broker.port, http=free_port())
    check(a.start(), "site a up")
    check(a.rd.ctl("room.add Hills").startswith("OK"), "a second room at A")
    b = Site(tmp, "b", broker.port, key_from=a.rd.dir, http=free_port(), rooms=2)
    c = Site(tmp, "c", broker.port, key_from=a.rd.dir)
    check(b.start() and c.start(), "sites b and c up")
    key = a.rd.key(1)
    check(b.rd.key(1) == key and c.rd.key(1) == key, "one room key at every site")
    key16 = key[:16]  # the room's topic level: roomd/ROOM/<first 8 key bytes>/SITE/KIND
    ok = wait_until(lambda: all(s.fed().get("peers", 0) >= 2 for s in (a, b, c)), 60, 0.5)
    check(ok, "every site sees two peers: %s" % [s.fed() for s in (a, b, c)])

    # -- 1. a post at A pushed to a member at C, once --------------------------------------
    sniff = Sniffer(a.air.ports["sniff"])
    alice = member(tmp, a, "m1", "alice")
    join(alice, key)
    carol = member(tmp, c, "m1", "carol")
    join(carol, key)
    mc = carol.mark()
    d = alice.do("post Valley hello from A", "delivered", 60)
    check(d is not None, "alice's post delivered at A")
    p = carol.wait("post", 90, since=mc, text="hello from A")
    check(p is not None, "pushed to carol at C")
    time.sleep(3)
    check(len(carol.of("post", mc, text="hello from A")) == 1, "pushed to carol once")
    check(all_hold((a, b, c), ["hello from A"], 30), "the post is in every database")
    check(all(s.texts().count("hello from A") == 1 for s in (a, b, c)), "... exactly once")
    frames = sniff.frames(1.0)
    txt = [f for f in frames if (f[0] >> 2) & 15 == 2]  # PAYLOAD_TYPE_TXT_MSG

    try:
        import urllib.request
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % a.http, timeout=10) as r:
            metrics = r.read().decode()
    except OSError as e:
        metrics = str(e)
    check("roomd_fed_connected 1" in metrics and "roomd_fed_peers 2" in metrics and
          "roomd_fed_published_total" in metrics, "/metrics has the federation's figures")
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/stats" % a.http, timeout=10) as r:
            fed_api = json.loads(r.read().decode()).get("fed", {})
    except (OSError, ValueError) as e:
        fed_api = {"error": str(e)}
    check(fed_api.get("connected") == 1 and fed_api.get("peers") == 2 and
          "lag_p99_ms" in fed_api, "/api/v1/stats (the dashboard's channel page) has \"fed\": %s"
          % fed_api)

    # -- 2. roaming A -> B without a new login; a replay at B refused ------------------------
    dave = member(tmp, a, "m2", "dave")
    join(dave, key)
    d = dave.do("post Valley dave at A", "delivered", 60)
    check(d is not None, "dave's post delivered at A")
    time.sleep(2)
    dave.quit()
    d = carol.do("post Valley while dave travels", "delivered", 60)
    check(d is not None, "carol's post delivered at C")
    check(all_hold((b,), ["while dave travels"], 30), "carol's post reached B")
    dave = Roomc(os.path.join(tmp, "dave"), b.air.spec("m2"), ["--timeout-factor", "3",
                                                                "--no-login"])
    procs.append(dave)
    check(dave.wait("radio", 20, up=True) is not None, "dave's radio up on B's channel")
    md = dave.mark()
    d = dave.do("post Valley dave at B", "delivered", 60)
    # roomc marks the room logged in when it ACKs ("inferred"): no login was sent
    check(d is not None and not [e for e in dave.of("login", md) if not e.get("inferred")],
          "dave's post at B delivered, no login: %s" % [e for e in dave.events[md:]
                                                        if e.get("event") != "contact"])
    p = dave.wait("post", 90, since=md, text="while dave travels")
    check(p is not None, "dave got the post made while he travelled, pushed by B")
    check(all_hold((a, c), ["dave at B"], 30), "dave's post at B reached A and C")
    # replay: alice's captured post, sent on B's channel
    counts = [len(s.texts()) for s in (a, b, c)]
    check(len(txt) >= 1, "alice's post captured on A's channel (%d frames)" % len(frames))
    if txt:
        # B holds alice's post (replicated): the packet is taken as alice's
        # retry after a lost ACK (answered with A's ACK, issue 17), nothing stored
        replays0 = metric(b, "roomd_room_replays_total")
        retried0 = metric(b, "roomd_room_posts_retried_total")
        sb = Sniffer(b.air.ports["sniff"])
        for f in txt:
            sb.send(f)
        time.sleep(5)
        replays1 = metric(b, "roomd_room_replays_total")
        retried1 = metric(b, "roomd_room_posts_retried_total")
        check(replays1 + retried1 > replays0 + retried0,
              "B took the post accepted at A as a retry or a replay (replays %s -> %s, "
              "retries %s -> %s)" % (replays0, replays1, retried0, retried1))
        check([len(s.texts()) for s in (a, b, c)] == counts,
              "the replayed post is stored nowhere (%s -> %s)" %
              (counts, [len(s.texts()) for s in (a, b, c)]))
        check(all(s.texts().count("hello from A") == 1 for s in (a, b, c)),
              "still exactly once everywhere")

    # -- 3. garbage, bad signature, another room: dropped and counted ------------------------
    before = c.fed()
    cap = Mqtt(broker.port, "capture")
    cap.subscribe("roomd/%s/%s/a/post" % (ROOM, key16))
    m1 = alice.mark()
    d = alice.do("post Valley signed by A", "delivered", 60)
    topic, payload = cap.next_message(30)
    cap.close()
    check(payload[:4] == b"RDF1", "a signed post captured from the broker")
    inj = Mqtt(broker.port, "intruder")
    inj.publish("roomd/%s/%s/a/post" % (ROOM, key16), b"garbage" * 10)
    bad = bytearray(payload)
    bad[-1] ^= 1
    inj.publish("roomd/%s/%s/a/post" % (ROOM, key16), bytes(bad))
    forged = bytearray(payload)
    i = forged.find(b"signed by A")
    forged[i:i + 11] = b"FORGED BY X"
    inj.publish("roomd/%s/%s/a/post" % (ROOM, key16), bytes(forged))
    inj.close()
    other = Site(tmp, "x", broker.port)  # its own key: another room on the same topics
    check(other.start(), "a roomd with another key on the room's topics")
    ok = wait_until(lambda: c.fed().get("dropped_wrong_room", 0) > before.get(
        "dropped_wrong_room", 0), 60, 0.5)
    f = c.fed()
    check(ok, "another room's messages dropped and counted: %s" % f)
    check(f.get("dropped_garbage", 0) >= before.get("dropped_garbage", 0) + 1,
          "garbage dropped and counted")
    check(f.get("dropped_bad_sig", 0) >= before.get("dropped_bad_sig", 0) + 2,
          "bad signatures (flipped bit, altered text) dropped and counted")
    check("FORGED BY X" not in c.texts() and "FORGED BY X" not in b.texts(),
          "the forged post stored nowhere")
    other.rd.stop()
    other.air.stop()

    # -- room settings: a guest password set at A lets a newcomer in at C ---------------------
    check(a.rd.ctl("set guest.password valley2").startswith("OK"), "guest password set at A")
    ok = wait_until(lambda: "valley2" in c.rd.ctl("get guest.password"), 30, 0.5)
    check(ok, "the new guest password reached C: %s" % c.rd.ctl("get guest.password"))
    gina = member(tmp, c, "m3", "gina")
    join(gina, key, "valley2")
    gina.quit()

    # -- 4. partition ----------------------------------------------------------------------------
    broker.stop()
    check(wait_until(lambda: not a.fed().get("connected", True), 30, 0.5), "A sees the broker gone")
    during = []
    for who, txt_ in ((alice, "partition at A"), (carol, "partition at C"), (dave, "partition at B")):
        d = who.do("post Valley " + txt_, "delivered", 60)
        check(d is not None, "%s: delivered while the broker is down" % txt_)
        during.append(txt_)
    start = time.time()
    while time.time() - start < PARTITION_S:
        time.sleep(min(5, PARTITION_S))
    mc, ma = carol.mark(), alice.mark()
    check(broker.start(), "mosquitto back")
    t0 = time.time()
    ok = all_hold((a, b, c), during, 120)
    check(ok, "after the partition every site holds every post (%.1f s)" % (time.time() - t0))
    lists = [s.posts() for s in (a, b, c)]
    check(lists[0] == lists[1] == lists[2], "every database: the same posts in the same order")
    for s in (a, b, c):
        t = s.texts()
        check(len(t) == len(set(t)), "%s: no post twice" % s.name)
    check(carol.wait("post", 90, since=mc, text="partition at A") is not None,
          "carol caught up with A's partition post")
    check(alice.wait("post", 90, since=ma, text="partition at C") is not None,
          "alice caught up with C's partition post")

    # -- 5. SIGKILL right after an acknowledged post --------------------------------------------
    d = dave.do("post Valley just before the kill", "delivered", 60)
    check(d is not None, "dave's post acknowledged at B")
    b.rd.kill9()
    check(b.start(), "site b restarted")
    check(all_hold((a, c), ["just before the kill"], 90),
          "the post B acknowledged before SIGKILL reached A and C")

    # -- 6. a site started empty from a copy of the key file ------------------------------------
    e = Site(tmp, "e", broker.port, key_from=a.rd.dir)
    check(e.start(), "empty site e up")
    want = a.texts()
    ok = wait_until(lambda: set(want) <= set(e.texts()), 120, 0.5)
    check(ok, "the empty site caught up the whole history (%d of %d)" %
          (len(set(want) & set(e.texts())), len(want)))

    # -- 7. two brokers bridged ------------------------------------------------------------------
    broker2 = Broker(tmp, "broker2", free_port(), bridge_to=broker.port)
    check(broker2.start(), "second mosquitto bridged to the first")
    f = Site(tmp, "f", broker2.port, key_from=a.rd.dir)
    check(f.start(), "site f up on the second broker")
    ok = wait_until(lambda: set(want) <= set(f.texts()), 120, 0.5)
    check(ok, "site f (other broker) caught up")
    frank = member(tmp, f, "m1", "frank")
    join(frank, key, "valley2")  # the settings reached F too (retained)
    ma = alice.mark()
    d = frank.do("post Valley from the bridged broker", "delivered", 60)
    check(d is not None, "frank's post delivered at F")
    check(alice.wait("post", 90, since=ma, text="from the bridged broker") is not None,
          "frank's post (broker 2) pushed to alice (broker 1)")
    d = alice.do("post Valley back across the bridge", "delivered", 60)
    check(all_hold((f,), ["back across the bridge"], 60), "alice's post reached F across the bridge")
    sts = [s.fed() for s in (a, b, c, e, f)]
    check(all(x.get("connected") for x in sts), "every site connected: %s" % sts)

    # -- 8. the ACL file of docs/federation.md, with user names and passwords ------------------
    acl_world(tmp, a.rd.dir)

    # -- 9. every room federates, each on its own topic ------------------------------------------
    two_rooms(a, b)


def two_rooms(a, b):
    """A's second room, whose key file B adopted, replicates both ways on its own topic."""
    check(b.rd.key(2) == a.rd.key(2) and a.rd.key(2) != a.rd.key(1),
          "B holds A's second room (its key file)")
    for s, text in ((a, "second room at A"), (b, "second room at B")):
        s.rd.room = "1"  # the second room (0-based index, as `rooms` shows)
        check(s.rd.ctl("room.post " + text).startswith("OK"), "a post in %s's second room" % s.name)
        s.rd.room = None
    want = ["second room at A", "second room at B"]
    ok = wait_until(lambda: all(set(want) <= set(s.texts(2)) for s in (a, b)), 30, 0.5)
    check(ok, "each site's post reached the other's second room: %s %s" %
          (a.texts(2), b.texts(2)))
    check(all(s.texts(2).count(t) == 1 for s in (a, b) for t in want), "... once")
    check(not any(t in s.texts(1) for s in (a, b) for t in want),
          "none of them in the first room")


def acl_world(tmp, key_dir):
    """A broker with docs/federation.md's ACL file and passwords: sites a and b log in as
    users a and b and replicate; user b cannot write under a's name nor another room."""
    doc = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs",
                       "federation.md")
    with open(doc) as fh:
        text = fh.read()
    i = text.index("# roomd federation: room")
    acl = text[i:text.index("```", i)]
    br = Broker(tmp, "broker-acl", free_port())
    with open(os.path.join(br.dir, "roomd.acl"), "w") as fh:
        fh.write(acl)
    pwfile = os.path.join(br.dir, "passwords")
    open(pwfile, "w").close()
    for u in ("a", "b"):
        subprocess.run(["mosquitto_passwd", "-b", pwfile, u, u + "-pw"], check=True)
    with open(br.conf) as fh:
        conf = fh.read().replace("allow_anonymous true", "allow_anonymous false")
    conf += "password_file %s\nacl_file %s\nlog_type all\n" % (pwfile,
                                                                 os.path.join(br.dir, "roomd.acl"))
    with open(br.conf, "w") as fh:
        fh.write(conf)
    check(br.start(), "a broker with the documented ACL file")
    sa = Site(tmp, "a", br.port, key_from=key_dir, tag="-acl",
              conf={"fed.username": "a", "fed.password": "a-pw"})
    sb = Site(tmp, "b", br.port, key_from=key_dir, tag="-acl",
              conf={"fed.username": "b", "fed.password": "b-pw"})
    check(sa.start() and sb.start(), "sites a and b up with user names and passwords")
    check(wait_until(lambda: sa.fed().get("peers") == 1 and sb.fed().get("peers") == 1, 60, 0.5),
          "they see each other through the ACL: %s %s" % (sa.fed(), sb.fed()))
    check(sa.rd.ctl("room.post through the acl").startswith("OK"), "a post at a")
    check(all_hold((sb,), ["through the acl"], 30), "it reached b")
    # user b writing under a's name or in another room: denied by the broker
    m = Mqtt(br.port, "b-intruder", "b", "b-pw")
    m.publish("roomd/%s/0011223344556677/a/post" % ROOM, b"RDF1 as a")
    m.publish("roomd/other/0011223344556677/b/post", b"RDF1 other room")
    m.close()
    ok = wait_until(lambda: "Denied PUBLISH" in open(br.log).read(), 10, 0.5)
    log = open(br.log).read()
    check(ok and "roomd/valley/0011223344556677/a/post" in log and
          "roomd/other/0011223344556677/b/post" in log,
          "the broker denied user b's writes under a's name and in another room")
    sa.rd.stop()
    sb.rd.stop()


if __name__ == "__main__":
    sys.exit(main())
