#!/usr/bin/env python3
"""tests/e2e/stories_test.py - user stories with real processes: meshair, roomd, roomc.

One meshair (fast preset SF7 / 500 kHz, a links topology) carries two worlds
that cannot hear each other:
  - near: roomd "Story Room" (plus a room "Annex" added on its control
    socket) and the clients alice, bob, carol, dave and frank, all in range;
  - far: roomd "Far Room", a second roomd with repeat=on as the repeater
    (radio rep), hank next to the room and erin who hears only the repeater.
The stories (each asserts on roomc --json events, roomd's state through its
control socket, and meshair's JSON trace):
  1. contacts: the room is learnt from its advert with its name and position;
  2. logins: admin, read-write (guest password) and read-only, a wrong
     password gets nothing; read-only cannot post, below admin no CLI (also
     when the client does not stop it: the room does not answer);
  3. a post is delivered and pushed to the other members logged in;
  4. a member offline for a while comes back and gets what it missed, in
     order, once;
  5. one client in two rooms of the same daemon;
  6. remote admin: `cli ROOM set guest.password X` over the radio;
  7. roomd killed with SIGKILL and restarted: two members post, go offline,
     come back and catch up; nothing delivered is lost;
  8. the room's radio down then up, its modem unplugged, and meshair
     restarted: everything resumes;
  9. two hops through a repeater: login by flood, then direct routes (the
     trace shows the pushes forwarded direct), catch-up after being away.
Prints "stories: N passed, N failed".
"""
import json
import os
import re
import shutil
import sys
import tempfile
import time
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from world import Air, Checks, Roomc, Roomd, file_search, wait_until  # noqa: E402

T = Checks("stories")
check = T.check
ADMIN_PW, GUEST_PW = "s3cret-adm", "s3cret-guest"
NEAR = ["room", "alice", "bob", "carol", "dave", "frank"]
TOPOLOGY = "\n".join(
    ["# two worlds on one channel: near (all in range) and far (a line)", "mode links"] +
    ["radio %s 0" % r for r in NEAR + ["far", "rep", "hank", "erin"]] +
    ["link %s %s" % (a, b) for i, a in enumerate(NEAR) for b in NEAR[i + 1:]] +
    ["link far rep", "link rep erin", "link far hank"])

procs = []


def texts(events):
    return [e["text"] for e in events]


def history_file(data, key):
    """Posts in roomc's history file (not the outcome records)."""
    out = []
    try:
        with open(os.path.join(data, "history", key + ".jsonl")) as f:
            for line in f:
                try:
                    p = json.loads(line)
                except ValueError:
                    continue
                if p.get("type") != "ack":
                    out.append(p)
    except FileNotFoundError:
        pass
    return out


class World:
    def __init__(self, tmp):
        self.tmp = tmp
        self.air = Air(tmp, TOPOLOGY)
        self.air.start()
        self.clients = {}

    def roomc(self, name, extra=()):
        """A client on its named radio (one roomc per name at a time)."""
        c = Roomc(os.path.join(self.tmp, name), self.air.spec(name),
                  ["--timeout-factor", "3"] + list(extra))
        procs.append(c)
        ok = c.wait("radio", 20, up=True) is not None
        check(ok, "%s: radio up" % name)
        return c


def main():
    tmp = tempfile.mkdtemp(prefix="stories.")
    w = None
    rooms = []
    try:
        w = World(tmp)
        near = Roomd(tmp, "near", w.air.spec("room"),
                     {"password": ADMIN_PW, "guest.password": GUEST_PW}, "Story Room")
        far = Roomd(tmp, "far", w.air.spec("far"),
                    {"password": ADMIN_PW, "guest.password": GUEST_PW}, "Far Room")
        rep = Roomd(tmp, "rep", w.air.spec("rep"),
                    {"repeat": "on", "name": "Relay", "advert.interval": "0"}, "Relay")
        rooms += [near, far, rep]
        for r in rooms:
            check(r.start(), "%s: roomd up" % r.dir)
        # the far world runs beside the near one (they share no radio)
        far_thread = threading.Thread(target=far_stories, args=(w, far, rep))
        far_thread.start()
        try:
            near_stories(w, near, far_thread)
        finally:
            far_thread.join(300)
    finally:
        for c in procs:
            c.kill()
        for r in rooms:
            r.stop()
        if w:
            w.air.stop()
        sanitizer_reports(tmp)
        if os.environ.get("KEEP"):
            print("kept " + tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return T.done()


def sanitizer_reports(tmp):
    """Every log of the run is free of sanitizer reports (a SAN=1 build)."""
    bad = []
    for name in sorted(os.listdir(tmp)):
        if not name.endswith((".log", ".stderr")):
            continue
        with open(os.path.join(tmp, name), errors="replace") as f:
            text = f.read()
        if "Sanitizer" in text or "runtime error:" in text:
            bad.append(name)
    check(not bad, "sanitizer reports in %s" % bad)


# ---- the near world --------------------------------------------------------------------------

def near_stories(w, rd, far_thread):
    k1 = rd.key(1)
    delivered = []  # every text the room acknowledged in Story Room

    # -- 1. contacts: name and position from the advert --------------------------------------
    check(rd.ctl("set lat 48.8566").startswith("OK"), "set lat")
    check(rd.ctl("set lon 2.3522").startswith("OK"), "set lon")
    check(rd.ctl("set allow.read.only on").startswith("OK"), "set allow.read.only")
    alice = w.roomc("alice")
    m = alice.mark()
    check("OK" in rd.ctl("advert"), "advert sent")
    ct = alice.wait("contact", 20, since=m, key=k1)
    check(ct is not None and ct["name"] == "Story Room" and ct["type"] == "room" and
          ct["hops"] == 0, "room learnt from its advert: %s" % ct)
    check(ct is not None and abs(ct["lat"] - 48.8566) < 1e-5 and abs(ct["lon"] - 2.3522) < 1e-5,
          "room position from its advert: %s" % ct)
    cs = alice.do("contacts", "contacts", 10)
    check(cs and any(c["key"] == k1 and c["name"] == "Story Room" for c in cs["contacts"]),
          "room in the contacts list")

    # -- 2. logins ------------------------------------------------------------------------------
    lg = alice.do("login Story " + ADMIN_PW, "login", 30, key=k1)
    check(lg and lg["role"] == "admin", "admin password: admin (%s)" % lg)
    bob = w.roomc("bob")
    bob.send("add %s Story Room" % k1)
    lg = bob.do("login Story " + GUEST_PW, "login", 30, key=k1)
    check(lg and lg["role"] == "read-write", "guest password: read-write (%s)" % lg)
    carol = w.roomc("carol")
    carol.send("add %s Story Room" % k1)
    lg = carol.do("login Story not-a-password", "login", 30, key=k1)
    check(lg and lg["role"] == "guest", "wrong password with allow.read.only: guest (%s)" % lg)
    e = carol.do("post Story may I?", "error", 10)
    check(e and "not allowed" in e["message"], "read-only: post refused by the client")
    e = bob.do("cli Story get name", "error", 10)
    check(e and "not allowed" in e["message"], "read-write: CLI refused by the client")
    e = carol.do("cli Story get name", "error", 10)
    check(e and "not allowed" in e["message"], "read-only: CLI refused by the client")

    # -- 3. a post delivered and pushed to the other members --------------------------------
    mb, mc, ma = bob.mark(), carol.mark(), alice.mark()
    d = alice.do("post Story hello from alice", "delivered", 60)
    check(d and d["text"] == "hello from alice", "alice's post delivered")
    if d:
        delivered.append(d["text"])
    pb = bob.wait("post", 60, since=mb, text="hello from alice")
    pc = carol.wait("post", 60, since=mc, text="hello from alice")
    akey = alice.of("ready")[0]["key"]
    check(pb and pb["author_key"] == akey[:8] and pb["key"] == k1, "pushed to bob: %s" % pb)
    check(pc is not None, "pushed to carol (read-only members read)")
    d = bob.do("post Story hi alice, bob here", "delivered", 60)
    check(d is not None, "bob's post delivered")
    if d:
        delivered.append(d["text"])
    check(alice.wait("post", 60, since=ma, text="hi alice, bob here") is not None,
          "bob's post pushed to alice")
    check(not alice.of("post", ma, text="hello from alice"), "no push of her own post to alice")
    lst = rd.ctl("post.list")
    check("hello from alice" in lst and "hi alice, bob here" in lst, "roomd stores both posts")

    # -- the room itself refuses what the client would stop -----------------------------------
    # carol's and bob's clients are restarted without logging in: the room
    # still knows them and decides by their role
    carol.quit()
    carol = w.roomc("carol", ["--no-login"])
    m = carol.mark()
    carol.send("post Story sneaky read-only post")
    f = carol.wait("failed", 90, since=m)
    check(f is not None and not carol.of("delivered", m), "room: a read-only post is not ACKed")
    check("sneaky" not in rd.ctl("post.list"), "room: a read-only post is not stored")
    carol.quit()
    bob.quit()
    bob = w.roomc("bob", ["--no-login"])
    m = bob.mark()
    bob.send("cli Story set name Hijacked")
    t = bob.wait("timeout", 90, since=m)
    check(t is not None and not bob.of("cli_reply", m), "room: no CLI answer below admin")
    check(rd.ctl("get name").endswith("Story Room"), "room: name unchanged by a non-admin")
    bob.quit()

    # -- wrong password without allow.read.only: nothing -------------------------------------
    reply = rd.ctl("room.add Annex")
    check(reply.startswith("OK - 2 rooms"), "room.add on the control socket: %s" % reply)
    k2 = rd.key(2)
    check(rd.use("Annex").startswith("OK"), "use Annex")
    check(rd.ctl("get allow.read.only").endswith("off"), "Annex: allow.read.only off")
    dave = w.roomc("dave")
    dave.send("add %s Annex" % k2)
    m = dave.mark()
    dave.send("login Annex wrong-password")
    t = dave.wait("login_timeout", 60, since=m, key=k2)
    check(t is not None and not dave.of("login", m), "wrong password: login_timeout, no login")

    # -- 4. offline for a while, back, catches up in order, once -------------------------------
    offline_texts = ["while bob was away %d" % i for i in range(1, 4)]
    for txt in offline_texts:
        d = alice.do("post Story " + txt, "delivered", 60)
        check(d is not None, "posted while bob is away: " + txt)
        if d:
            delivered.append(txt)
    bob = w.roomc("bob")  # logs in again with its remembered password
    got = bob.wait_count("post", 3, 90, key=k1)
    check(texts(got) == offline_texts, "bob caught up in order: %s" % texts(got))
    check(bob.of("autologin", key=k1), "bob logged in again with his remembered password")
    hs = [p["text"] for p in history_file(os.path.join(w.tmp, "bob"), k1)]
    check(len(hs) == len(set(hs)), "no duplicates in bob's history file: %s" % hs)
    check(hs == ["hello from alice", "hi alice, bob here"] + offline_texts,
          "bob's history in order: %s" % hs)

    # -- 5. one client in two rooms of the same daemon ----------------------------------------
    bob.send("add %s Annex" % k2)
    lg = bob.do("login Annex " + GUEST_PW, "login", 30, key=k2)
    check(lg and lg["role"] == "read-write", "bob logged in to Annex too")
    lg = alice.do("add %s Annex" % k2, "ok", 10)
    lg = alice.do("login Annex " + ADMIN_PW, "login", 30, key=k2)
    check(lg and lg["role"] == "admin", "alice is admin of Annex")
    mb = bob.mark()
    check(alice.do("post Annex annex news", "delivered", 60) is not None, "post to Annex")
    check(alice.do("post Story story news", "delivered", 60) is not None, "post to Story Room")
    delivered.append("story news")
    pa = bob.wait("post", 60, since=mb, text="annex news")
    ps = bob.wait("post", 60, since=mb, text="story news")
    check(pa and pa["key"] == k2 and pa["room"] == "Annex", "Annex post pushed as Annex")
    check(ps and ps["key"] == k1, "Story post pushed as Story Room")
    rs = bob.do("rooms", "rooms", 10)
    check(rs and sorted(r["key"] for r in rs["rooms"] if r["logged_in"]) == sorted([k1, k2]),
          "bob logged in to both rooms: %s" % rs)
    h2 = bob.do("history Annex", "history", 10, key=k2)
    check(h2 and texts(h2["posts"]) == ["annex news"], "Annex history is its own")

    # -- 6. remote admin over the radio: the guest password changed -------------------------------
    r = alice.do("cli Annex set guest.password n3w-guest", "cli_reply", 60, key=k2)
    check(r and r["text"].startswith("OK"), "cli set guest.password: %s" % r)
    r = alice.do("cli Annex get guest.password", "cli_reply", 60, key=k2)
    check(r and "n3w-guest" in r["text"], "cli get guest.password: %s" % r)
    # carol, not a member of Annex yet, tries the old password then the new
    # one (dave spent two of the failed logins a key may have on his wrong
    # password: a dry bucket would refuse even the right one for a while)
    carol = w.roomc("carol")
    carol.send("add %s Annex" % k2)
    m = carol.mark()
    carol.send("login Annex " + GUEST_PW)
    t = carol.wait("login_timeout", 60, since=m, key=k2)
    check(t is not None and not carol.of("login", m, key=k2),
          "the old guest password gets nothing")
    lg = carol.do("login Annex n3w-guest", "login", 30, key=k2)
    check(lg and lg["role"] == "read-write", "the new guest password works: %s" % lg)
    carol.quit()
    lg = dave.do("login Annex n3w-guest", "login", 30, key=k2)
    check(lg and lg["role"] == "read-write", "dave logs in to Annex with it: %s" % lg)
    check(rd.use("0").startswith("OK"), "use 0")

    # -- 7. SIGKILL and restart: two members post, go offline, come back --------------------
    # bob and dave are the two members of issue 5 (dave joins Story Room first)
    dave.send("add %s Story Room" % k1)
    lg = dave.do("login Story " + GUEST_PW, "login", 30, key=k1)
    check(lg and lg["role"] == "read-write", "dave joins Story Room")
    # a newcomer is pushed the whole history, oldest first
    got = dave.wait_count("post", len(delivered), 120, key=k1)
    check(texts(got) == delivered, "dave, new, got the whole history: %s" % texts(got))
    md = dave.mark()
    d1 = bob.do("post Story bob before the crash", "delivered", 60)
    d2 = dave.do("post Story dave before the crash", "delivered", 60)
    check(d1 is not None and d2 is not None, "both posts delivered before the crash")
    delivered += ["bob before the crash", "dave before the crash"]
    # dave may or may not have been pushed bob's post yet: he goes offline now
    bob.quit()
    dave.quit()
    dave_seen = set(texts(dave.of("post", 0, key=k1)))
    bob_seen = set(texts(bob.of("post", 0, key=k1)))
    d = alice.do("post Story the last word before the crash", "delivered", 60)
    check(d is not None, "alice's post delivered just before the crash")
    delivered.append("the last word before the crash")
    rd.kill9()
    check(rd.start(), "roomd restarted after SIGKILL")
    check(rd.ctl("rooms").count("\n") == 1, "both rooms back: %s" % rd.ctl("rooms"))
    # Two members coming back, as two people would: not in the same
    # millisecond.  roomc logs in with its remembered passwords the moment
    # its radio is up, and "radio up" comes at once, so two started back to
    # back keyed up 0-4 ms apart: their first logins collided in every run
    # (the trace: "collided" at the room on both), their second rooms'
    # logins, 1.5 s later, lined up as well, and their retries, timed from
    # the same moment, were only the retry jitter apart.  Carrier sense kept
    # those apart, unless they keyed up within its ~1 ms (4 preamble
    # symbols), which a loaded machine makes likely (meshair then takes both
    # frames in one go): then both attempts of a login collided and it
    # timed out (dave's Annex, dave's Story, or on a branch without pushes
    # after a restart bob's: each is a failure seen).  dave starts once
    # bob's first login has its answer.
    bob = w.roomc("bob")
    check(bob.wait(("login", "login_timeout"), 60, key=k1) is not None,
          "bob's first login after the restart answered")
    dave = w.roomc("dave")
    want_bob = [t for t in ["dave before the crash", "the last word before the crash"]
                if t not in bob_seen]
    want_dave = [t for t in ["bob before the crash", "the last word before the crash"]
                 if t not in dave_seen]
    gb = bob.wait_count("post", len(want_bob), 90, key=k1)
    gd = dave.wait_count("post", len(want_dave), 90, key=k1)
    check(texts(gb) == want_bob, "bob caught up after the restart: %s" % texts(gb))
    check(texts(gd) == want_dave, "dave caught up after the restart: %s" % texts(gd))
    # the guest password changed over the radio survived the crash: bob's
    # remembered one no longer opens Annex, dave's new one does
    check(bob.wait("login_timeout", 60, key=k2) is not None and not bob.of("login", key=k2),
          "after the restart, the old guest password still gets nothing")
    check(dave.wait("login", 60, key=k2) is not None, "and the new one still works")
    mb = bob.mark()
    d = dave.do("post Story dave after the restart", "delivered", 60)
    check(d is not None, "a post after the restart delivered")
    delivered.append("dave after the restart")
    check(bob.wait("post", 60, since=mb, text="dave after the restart") is not None,
          "and pushed to bob")
    for name, c in (("bob", bob), ("dave", dave)):
        hs = [p["text"] for p in history_file(os.path.join(w.tmp, name), k1)]
        check(len(hs) == len(set(hs)), "%s: no duplicates in history: %s" % (name, hs))
    # a newcomer after the crash is pushed everything the room ever acknowledged
    frank = w.roomc("frank")
    frank.send("add %s Story Room" % k1)
    frank.do("login Story " + GUEST_PW, "login", 30, key=k1)
    got = frank.wait_count("post", len(delivered), 120, key=k1)
    check(texts(got) == delivered, "nothing acknowledged was lost: %s" % texts(got))
    fkey = frank.of("ready")[0]["key"]
    newest = max([p["ts"] for p in got] or [0])
    synced = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(newest))
    check(wait_until(lambda: re.search(r"(?m)^%s\S* +\S+ +%s " % (fkey[:8].lower(), synced),
                                       rd.ctl("members")), 30),
          "roomd: frank's sync point is the newest post (%d): %s" % (newest, rd.ctl("members")))
    frank.quit()

    # -- 8. the room's radio down and up; meshair restarted ---------------------------------
    far_thread.join(300)  # the far world shares meshair: let it finish first
    check(w.air.control("radio room down").get("ok"), "meshair: room's radio down")
    m = alice.mark()
    alice.send("post Story into the void")
    f = alice.wait("failed", 90, since=m)
    check(f is not None and f["text"] == "into the void", "a post while the room is off air fails")
    check(w.air.control("radio room up").get("ok"), "meshair: room's radio up")
    mb = bob.mark()
    d = alice.do("post Story back on the air", "delivered", 60)
    check(d is not None, "a post after the radio came back is delivered")
    check(bob.wait("post", 60, since=mb, text="back on the air") is not None,
          "and pushed to bob")
    check(not bob.of("post", 0, text="into the void"), "the failed post was never pushed")

    # the room's modem unplugged (its TCP connection closed): roomd reconnects
    pos = os.path.getsize(rd.log)
    check(w.air.control("radio room disconnect").get("ok"), "meshair: room's modem unplugged")
    check(file_search(rd.log, r"link down", 20, pos) is not None, "roomd saw the link go down")
    check(file_search(rd.log, r"radio \S+ up", 30, pos) is not None, "roomd reconnected")
    mb = bob.mark()
    d = alice.do("post Story plugged in again", "delivered", 60)
    check(d is not None, "a post after the reconnection is delivered")
    check(bob.wait("post", 60, since=mb, text="plugged in again") is not None,
          "and pushed to bob")

    ma, mb = alice.mark(), bob.mark()
    w.air.stop()
    check(alice.wait("radio", 20, since=ma, up=False) is not None, "alice saw the radio go down")
    w.air.start()
    check(alice.wait("radio", 30, since=ma, up=True) is not None, "alice's radio back up")
    check(bob.wait("radio", 30, since=mb, up=True) is not None, "bob's radio back up")
    check(wait_until(lambda: [r for r in w.air.control("radios")["radios"]
                             if r["name"] == "room" and r["connected"]], 30),
          "roomd reconnected to meshair")
    d = alice.do("post Story after meshair restarted", "delivered", 60)
    check(d is not None, "a post after meshair restarted is delivered")
    check(bob.wait("post", 60, since=mb, text="after meshair restarted") is not None,
          "and pushed to bob")
    for c in (alice, bob, dave):
        c.quit()


# ---- the far world: two hops through a repeater -----------------------------------------------

def far_stories(w, far, rep):
    try:
        far_story(w, far, rep)
    except Exception as e:  # a crash here must fail the run, not hang it
        check(False, "far world: %r" % e)


def far_story(w, far, rep):
    kf, kr = far.key(1), rep.key(1)
    erin = w.roomc("erin")
    hank = w.roomc("hank")
    m = erin.mark()
    far.ctl("advert")
    ct = erin.wait("contact", 30, since=m, key=kf)
    check(ct and ct["hops"] == 1 and ct["name"] == "Far Room",
          "far room heard through the repeater, 1 hop: %s" % ct)
    hank.send("add %s Far Room" % kf)
    check((hank.do("login Far " + GUEST_PW, "login", 30, key=kf) or {}).get("role") ==
          "read-write", "hank logged in next to the room")
    lg = erin.do("login Far " + GUEST_PW, "login", 30, key=kf)
    check(lg and lg["role"] == "read-write", "erin logged in through the repeater")
    me = erin.mark()
    d = hank.do("post Far over two hops", "delivered", 60)
    check(d is not None, "hank's post delivered")
    p = erin.wait("post", 60, since=me, text="over two hops")
    check(p is not None, "pushed to erin through the repeater")
    mh = hank.mark()
    d = erin.do("post Far erin replies", "delivered", 60)
    check(d is not None, "erin's post delivered through the repeater")
    check(hank.wait("post", 60, since=mh, text="erin replies") is not None,
          "erin's post pushed to hank")

    # erin away; back, she catches up through the repeater
    erin.quit()
    away = ["far news %d" % i for i in range(1, 4)]
    for t in away:
        check(hank.do("post Far " + t, "delivered", 60) is not None, "hank posts " + t)
    erin = w.roomc("erin")
    got = erin.wait_count("post", 3, 120, key=kf)
    check(texts(got) == away, "erin caught up through the repeater, in order: %s" % texts(got))
    hs = [x["text"] for x in history_file(os.path.join(w.tmp, "erin"), kf)]
    check(hs == ["over two hops", "erin replies"] + away, "erin's history, once each: %s" % hs)
    erin.quit()
    hank.quit()

    # the trace: erin's first login flooded; what the far room sent her
    # afterwards went direct along the learnt route [rep] (and rep forwarded
    # it direct), as did her posts
    ekey = erin.of("ready")[0]["key"]
    tx = w.air.tx()
    logins = [t for t in tx if t["sender"] == "erin" and t["type"] == "ANON_REQ"]
    check(logins and logins[0]["route"] == "FLOOD", "erin's first login is a flood")
    pushes = [t for t in tx if t["sender"] == "far" and t["type"] == "TXT_MSG" and
              frame_of(t)[2] == int(ekey[:2], 16)]
    check(len(pushes) >= 4, "the far room pushed erin's posts (%d frames)" % len(pushes))
    # the first push may leave before erin's reciprocal PATH has crossed the
    # two hops (it is then flooded, as the firmware would); the rest go direct
    routes = [(t["route"], frame_of(t)[1]) for t in pushes]
    check(len(routes) >= 4 and all(r == ("DIRECT", [int(kr[:2], 16)]) for r in routes[1:]),
          "the pushes to erin after the first went direct through the repeater: %s" % routes)
    fwd = [t for t in tx if t["sender"] == "rep" and t["type"] == "TXT_MSG" and
           t["route"] == "DIRECT" and frame_of(t)[2] == int(ekey[:2], 16)]
    check(len(fwd) >= len(pushes) - 1, "the repeater forwarded them direct (%d)" % len(fwd))
    posts = [t for t in tx if t["sender"] == "erin" and t["type"] == "TXT_MSG"]
    check(posts and all(t["route"] == "DIRECT" for t in posts),
          "erin's posts went direct: %s" % [t["route"] for t in posts])
    st = rep.ctl("stats-packets")
    check(st and not st.startswith("Err"), "repeater stats: %s" % st)


def frame_of(t):
    """(route, path hashes, destination hash) of a traced frame (1-byte hashes)."""
    f = bytes.fromhex(t["frame"])
    i = 1 + (4 if f[0] & 3 in (0, 3) else 0)
    size = (f[i] >> 6) + 1
    count = f[i] & 0x3F
    path = [f[i + 1 + k * size] for k in range(count)] if size == 1 else list(
        f[i + 1:i + 1 + count * size])
    return f[0] & 3, path, f[i + 1 + count * size]


if __name__ == "__main__":
    sys.exit(main())
