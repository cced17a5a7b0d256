#!/usr/bin/env python3
"""tests/e2e/web_test.py - roomd's web page in a real headless Chromium (issue 16).

meshair, roomd (two rooms: "Web" on the radio, "Archive" with 2,000 posts put
in over the control socket) and two roomc (alice the admin, bob a member) run;
Chromium (Selenium, chromium-driver) opens the page and:
  - a live stream resumed with Last-Event-ID gets the posts it missed;
  - a post bob makes over the radio appears on the open board without a reload
    (the page's own marker survives) within 2 s of roomc's 'delivered';
  - paging with 'Older posts' reaches the first of the 2,000 posts;
  - search finds one post;
  - texts '<script>...' and '<img onerror>' sent over the radio show as text;
  - admin: a wrong password is refused, the right one logs in; the cookie is
    HttpOnly and SameSite=Strict; a setting saved in the form is what `get`
    says, an out-of-range one refused with set's words; a room added and a
    backup taken from the page; a post deleted from the page is gone from alice's `post.list` over
    the air; bob banned from the page: his next post is not delivered;
  - a cross-site form post (from http://localhost:P, another site) is refused
    and the setting is unchanged; a cross-site navigation to /api/v1/session
    arrives without the cookie; a same-origin write without the CSRF token is
    refused;
  - the members page lists both members with their roles;
  - --http with a bad address stops roomd (2), http.listen = off is off, an
    address other than loopback is logged as a warning;
  - /metrics parses with prometheus_client's parser and its counters move
    with traffic; failed admin logins run into the radio's limits (429, also
    for the right password then); bad HTTP input gets a 4xx, counted, and
    roomd lives on.
Screenshots of the board, the channel page and the admin page go to
$O/web-screenshots (WEB_SCREENSHOTS=docs tests/e2e/web.sh refreshes the README's;
WEB_SCREENSHOTS=0 takes none).  Prints "web: N passed, N failed".
"""
import http.server as httpserver
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from world import (FAST, O, ROOT, Checks, Roomc, Roomd, file_search, run_in_tmp,  # noqa: E402
                   start_meshair, wait_until)

T = Checks("web")
check = T.check
procs = []
ADMIN_PW, GUEST_PW = "w3b-admin", "w3b-guest"
N_ARCHIVE = 2000


def http(url, data=None, headers=None):
    """(status, body text) of one request; never raises for an HTTP status."""
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


def raw(port, data):
    """Sends raw bytes to the web port; returns the status line's code (0: none)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(data)
        buf = b""
        try:
            while b"\r\n" not in buf:
                d = s.recv(4096)
                if not d:
                    break
                buf += d
        except socket.timeout:
            pass
    m = re.match(rb"HTTP/1\.[01] (\d+)", buf)
    return int(m.group(1)) if m else 0


def metrics(port):
    from prometheus_client.parser import text_string_to_metric_families
    _, text = http("http://127.0.0.1:%d/metrics" % port)
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            key = s.name + "".join("|%s=%s" % kv for kv in sorted(s.labels.items()))
            out[key] = s.value
    return out


def fill_archive(rd, n, pad=""):
    """n posts into room 1 over one control connection, pipelined 500 at a time."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(60)
    s.connect(rd.sock())
    lines = ["use 1"] + ["room.post archive post %04d%s%s" %
                         (i, " needle-1234" if i == 1234 else "", pad) for i in range(n)]
    ok = 0
    for k in range(0, len(lines), 500):
        batch = lines[k:k + 500]
        s.sendall(("\n".join(batch) + "\n").encode())
        buf = b""
        while len(re.findall(rb"(?m)^(OK|ERR)$", buf)) < len(batch):
            d = s.recv(65536)
            if not d:
                break
            buf += d
        ok += len(re.findall(rb"(?m)^OK$", buf))
    s.close()
    return ok == len(lines)


class Evil(httpserver.BaseHTTPRequestHandler):
    """Another site: a form that posts to roomd without a token, and a link to it."""
    target = 0

    def do_GET(self):
        t = "http://127.0.0.1:%d" % Evil.target
        if self.path.startswith("/post"):
            body = ('<form id="f" method="post" action="%s/api/v1/admin/set">'
                    '<input name="room" value="0"><input name="key" value="owner.info">'
                    '<input name="value" value="pwned"></form>'
                    '<script>document.getElementById("f").submit()</script>' % t)
        else:
            body = '<a id="go" href="%s/api/v1/session">session</a>' % t
        b = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(b)))
        self.end_headers()
        self.wfile.write(b)

    def log_message(self, *a):
        pass


def browser(tmp):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    o.binary_location = "/usr/bin/chromium"
    for a in ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", "--window-size=1200,900",
              "--user-data-dir=" + os.path.join(tmp, "chrome")]:
        o.add_argument(a)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=o)


def post_texts(d):
    return d.execute_script(
        "return [...document.querySelectorAll('#posts li .text')].map(e => e.textContent)")


SHOTS = os.environ.get("WEB_SCREENSHOTS", os.path.join(ROOT, O, "web-screenshots"))


def shot(d, name):
    """A screenshot into $WEB_SCREENSHOTS (default $O/web-screenshots; docs to refresh the
    README's; 0 for none)."""
    if SHOTS == "0":
        return
    os.makedirs(SHOTS, exist_ok=True)
    time.sleep(0.3)
    check(d.save_screenshot(os.path.join(SHOTS, name)), "screenshot " + name)


def run(tmp):
    air, port = start_meshair(os.path.join(tmp, "air.log"), 0, FAST)
    procs.append(air)
    radio = "tcp:127.0.0.1:%d" % port
    rd = Roomd(tmp, "rd", radio, {"password": ADMIN_PW, "guest.password": GUEST_PW,
                                   "advert.interval": "0"}, "Web",
               flags=["-v", "--http", "127.0.0.1:0"])
    procs.append(rd)
    check(rd.start(), "roomd up")
    m = file_search(rd.log, r"web page on http://127\.0\.0\.1:(\d+)/", 10)
    check(m is not None, "roomd says where the page is")
    if not m:
        return
    web = int(m.group(1))
    base = "http://127.0.0.1:%d" % web
    check("OK" in rd.ctl("room.add Archive"), "room.add Archive")
    t0 = time.time()
    check(fill_archive(rd, N_ARCHIVE), "%d posts into Archive" % N_ARCHIVE)
    print("web: %d posts stored over the control socket in %.2f s" % (N_ARCHIVE, time.time() - t0))
    k1 = rd.key(1)
    listen_options(tmp, radio)

    alice = Roomc(os.path.join(tmp, "alice"), radio)
    bob = Roomc(os.path.join(tmp, "bob"), radio)
    procs.extend([alice, bob])
    for c, pw in ((alice, ADMIN_PW), (bob, GUEST_PW)):
        check(c.wait("radio", 20, up=True) is not None, "roomc radio up")
        c.send("add %s Web" % k1)
        check(c.do("login Web " + pw, "login", 30, key=k1) is not None, "roomc login")
    m0 = metrics(web)

    d = browser(tmp)
    try:
        browser_story(d, rd, alice, bob, base, web, m0, k1, tmp)
        # no script error and no Content-Security-Policy violation on our pages (the
        # refused requests of the story are logged as failed loads: those are expected)
        errs = [e["message"] for e in d.get_log("browser") if e.get("level") == "SEVERE" and
                "Failed to load resource" not in e["message"] and "localhost:" not in
                e["message"]]
        check(not errs, "the page's console has no error: %s" % errs[:3])
    finally:
        d.quit()
    # the radio's login limits: failed logins from one address run dry, then even the
    # right password waits
    form = lambda pw: ("room=0&password=" + pw).encode()  # noqa: E731
    hdr = {"Content-Type": "application/x-www-form-urlencoded"}
    codes = [http(base + "/api/v1/login", form("guess%d" % i), hdr)[0] for i in range(12)]
    check(codes[0] == 403 and codes[-1] == 429, "failed logins limited: %s" % codes)
    check(http(base + "/api/v1/login", form(ADMIN_PW), hdr)[0] == 429,
          "the right password waits too while the bucket is dry")
    check(metrics(web).get("roomd_web_logins_limited_total", 0) >= 2, "limited logins counted")
    # a page coming back with Last-Event-ID gets what it missed, oldest first
    ids = [p["id"] for p in json.loads(http(base + "/api/v1/posts?room=1&limit=3")[1])["posts"]]
    with socket.create_connection(("127.0.0.1", web), timeout=10) as back:
        back.sendall(b"GET /api/v1/events?room=1 HTTP/1.1\r\nHost: x\r\n"
                     b"Last-Event-ID: %d\r\n\r\n" % ids[-1])
        buf = b""
        end = time.time() + 10
        while buf.count(b"event: post") < 2 and time.time() < end:
            buf += back.recv(65536)
    got = [int(x) for x in re.findall(rb"(?m)^id: (\d+)$", buf)]
    check(got == [ids[1], ids[0]], "Last-Event-ID: the missed posts %s, got %s" % (ids[:2], got))
    # a live page that never reads is dropped, not fed forever
    stuck = socket.socket()
    stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stuck.connect(("127.0.0.1", web))
    stuck.sendall(b"GET /api/v1/events?room=1 HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(0.3)
    fill_archive(rd, 3000, "%0100d" % 0)
    check(wait_until(lambda: metrics(web).get("roomd_web_live_dropped_total", 0) >= 1, 10),
          "a page that does not read is dropped")
    stuck.close()
    # bad HTTP input: 4xx, counted, and roomd still answers
    bad0 = metrics(web).get("roomd_web_bad_requests_total", 0)
    codes = [raw(web, b"GARBAGE\r\n\r\n"),
             raw(web, b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
             raw(web, b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n"
                 b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"),
             http(base + "/api/v1/posts?room=0&before=-1")[0],
             http(base + "/api/v1/posts?q=%ZZ")[0],
             http(base + "/api/v1/posts?room=99")[0],
             http(base + "/nope")[0]]
    check(all(400 <= c < 500 for c in codes), "bad input gets a 4xx: %s" % codes)
    check(metrics(web).get("roomd_web_bad_requests_total", 0) >= bad0 + 2,
          "bad requests counted")
    check(http(base + "/api/v1/rooms")[0] == 200 and rd.proc.poll() is None,
          "roomd answers after bad input")
    for c in (alice, bob):
        c.quit()
    rd.stop()
    log = open(rd.log, errors="replace").read()
    check("Sanitizer" not in log and "runtime error:" not in log, "no sanitizer report")


def listen_options(tmp, radio):
    """--http and http.listen: a bad spec stops roomd, off is off, another address warns."""
    import subprocess
    bad = subprocess.run([os.path.join(ROOT, O, "roomd"), "--data", os.path.join(tmp, "bad"),
                          "--radio", radio, "--http", "localhost:80"], capture_output=True,
                         text=True, stdin=subprocess.DEVNULL, timeout=30)
    check(bad.returncode == 2 and "--http localhost:80: expected ADDR:PORT or off" in bad.stderr,
          "a bad --http stops roomd: %d %s" % (bad.returncode, bad.stderr))
    off = Roomd(tmp, "off", radio, {"http.listen": "off"}, "Off", flags=["-v"])
    procs.append(off)
    check(off.start() and file_search(off.log, r"web page off", 10) is not None,
          "http.listen = off in roomd.conf")
    off.stop()
    wide = Roomd(tmp, "wide", radio, {"http.listen": "127.0.0.1:1"}, "Wide",
                 flags=["-v", "--http", "0.0.0.0:0"])
    procs.append(wide)
    check(wide.start() and file_search(wide.log, r"warn web: the web page listens on 0\.0\.0\.0:0,"
                                       r" not on loopback", 10) is not None,
          "--http over roomd.conf; a non-loopback address is a warning")
    wide.stop()


def browser_story(d, rd, alice, bob, base, web, m0, k1, tmp):
    from selenium.webdriver.common.by import By

    def wait_js(expr, timeout=10):
        return wait_until(lambda: d.execute_script("return " + expr), timeout)

    # -- the board: live update from the radio ------------------------------------------------
    check(bob.do("post Web first words over the air", "delivered", 60) is not None, "bob posts")
    d.get(base + "/board?room=0")
    check(wait_js("document.querySelectorAll('#posts li').length >= 1"), "board lists posts")
    check(wait_js("document.getElementById('live').textContent == 'live'"), "live stream open")
    d.execute_script("window.__marker = 42")
    mk = bob.mark()
    bob.send("post Web live from the radio 777")
    dl = bob.wait("delivered", 60, since=mk)
    t_ack = time.time()
    check(dl is not None, "live post delivered")
    seen = wait_until(lambda: "live from the radio 777" in post_texts(d), 10, 0.02)
    lag = time.time() - t_ack
    check(seen, "the post appears on the open page")
    check(lag <= 2.0, "within 2 s of the ACK (%.2f s)" % lag)
    print("web: live post on the page %.3f s after roomc's delivered" % lag)
    check(d.execute_script("return window.__marker") == 42, "without a reload")
    check(post_texts(d)[0] == "live from the radio 777", "newest first")

    # -- escaping: texts from the air are text ---------------------------------------------------
    evil = ["<script>window.__xss=1</script>", "<img src=x onerror=\"window.__xss=2\">"]
    for t in evil:
        check(bob.do("post Web " + t, "delivered", 60) is not None, "bob posts %s" % t)
    check(wait_until(lambda: evil[1] in post_texts(d), 5), "markup arrives live")
    d.refresh()
    check(wait_js("document.querySelectorAll('#posts li').length >= 4"), "board reloaded")
    texts = post_texts(d)
    check(evil[0] in texts and evil[1] in texts, "markup shown as text: %s" % texts[:3])
    check(d.execute_script("return window.__xss === undefined"), "no script ran")
    check(not d.find_elements(By.CSS_SELECTOR, "#posts img, #posts script"), "no element made")
    shot(d, "web-board.png")

    # -- paging through the archive, search ---------------------------------------------------
    d.get(base + "/board?room=1")
    check(wait_js("document.querySelectorAll('#posts li').length == 50"), "first page of 50")
    check(post_texts(d)[0] == "archive post %04d" % (N_ARCHIVE - 1), "archive newest first")
    pages = 1
    while pages < 100 and d.execute_script("return !document.getElementById('older').disabled"):
        n = len(post_texts(d))
        d.find_element(By.ID, "older").click()
        wait_until(lambda: len(post_texts(d)) > n or
                   d.execute_script("return document.getElementById('older').disabled"), 10, 0.02)
        pages += 1
    texts = post_texts(d)
    check(len(texts) == N_ARCHIVE and texts[-1] == "archive post 0000",
          "paging reaches the first post (%d pages, %d posts, last %r)" %
          (pages, len(texts), texts[-1] if texts else None))
    box = d.find_element(By.ID, "search")
    box.send_keys("NEEDLE-1234")
    d.find_element(By.CSS_SELECTOR, "#search-form button[type=submit]").click()
    check(wait_until(lambda: post_texts(d) == ["archive post 1234 needle-1234"], 10),
          "search finds the post: %s" % post_texts(d)[:3])

    # -- admin ---------------------------------------------------------------------------------
    d.get(base + "/admin?room=0")
    pw = wait_until(lambda: d.find_elements(By.ID, "password"), 10)
    check(bool(pw), "login form")
    pw[0].send_keys("not-it")
    d.find_element(By.ID, "login").click()
    check(wait_js("document.getElementById('login-status').textContent == 'wrong password'"),
          "a wrong password is refused")
    check(not [c for c in d.get_cookies() if c["name"] == "roomd_session"], "no cookie for it")
    pw = d.find_element(By.ID, "password")
    pw.clear()
    pw.send_keys(ADMIN_PW)
    d.find_element(By.ID, "login").click()
    check(wait_js("!!document.getElementById('settings')", 10), "the right password logs in")
    ck = [c for c in d.get_cookies() if c["name"] == "roomd_session"]
    check(len(ck) == 1 and ck[0].get("httpOnly") and ck[0].get("sameSite") == "Strict",
          "session cookie HttpOnly, SameSite=Strict: %s" % ck)
    check(d.execute_script("return document.cookie.indexOf('roomd_session') < 0"),
          "the page's script cannot read the cookie")
    d.set_window_size(1200, 1500)
    shot(d, "web-admin.png")
    d.set_window_size(1200, 900)

    def admin_form(form, fields):
        f = d.find_element(By.CSS_SELECTOR, form)
        for name, value in fields.items():
            e = f.find_element(By.NAME, name)
            e.clear()
            e.send_keys(value)
        f.find_element(By.CSS_SELECTOR, "button[type=submit]").click()

    row = "tr[data-key='owner.info'] form"
    admin_form(row, {"value": "run by the web test"})
    check(wait_until(lambda: rd.ctl("get owner.info") == "> run by the web test", 10),
          "the setting saved in the form is what get says: %r" % rd.ctl("get owner.info"))
    admin_form("tr[data-key='max.posts'] form", {"value": "0"})
    st = "tr[data-key='max.posts'] .status"
    check(wait_until(lambda: "must be" in d.find_element(By.CSS_SELECTOR, st).text, 10),
          "an out-of-range value is refused with set's words: %r" %
          d.find_element(By.CSS_SELECTOR, st).text)

    # delete a post from the page; alice's post.list over the air no longer has it
    check(bob.do("post Web delete me please", "delivered", 60) is not None, "bob posts")
    pid = json.loads(http(base + "/api/v1/posts?room=0&q=delete%20me")[1])["posts"][0]["id"]
    r = alice.do("cli Web post.list 1", "cli_reply", 60, key=k1)
    check(r is not None and "delete me" in r["text"], "post.list over the air has it: %s" % r)
    admin_form("#form-post-delete", {"id": str(pid)})
    check(wait_until(lambda: "OK" in d.find_element(By.ID, "st-post-delete").text, 10),
          "delete from the page: %r" % d.find_element(By.ID, "st-post-delete").text)
    r = alice.do("cli Web post.list 1", "cli_reply", 60, key=k1)
    check(r is not None and "delete me" not in r["text"], "gone over the air: %s" % r)

    # add a room, take a backup
    admin_form("#form-room-add", {"name": "Web Two"})
    check(wait_until(lambda: "Web Two" in rd.ctl("rooms"), 10), "room added from the page")
    admin_form("#form-backup", {"path": os.path.join(tmp, "elsewhere.db")})
    check(wait_until(lambda: "data directory" in d.find_element(By.ID, "st-backup").text, 10),
          "a backup outside the data directory is refused: %r" %
          d.find_element(By.ID, "st-backup").text)
    check(not os.path.exists(os.path.join(tmp, "elsewhere.db")), "and not written")
    os.makedirs(os.path.join(rd.dir, "backups"))
    bpath = os.path.join(rd.dir, "backups", "web-backup.db")
    admin_form("#form-backup", {"path": bpath})
    check(wait_until(lambda: os.path.exists(bpath) and
                     os.path.exists(os.path.join(rd.dir, "backups", "room-1.id")), 10),
          "backup written with the keys: %r" % d.find_element(By.ID, "st-backup").text)

    # ban bob from the page (by key prefix, with a reason)
    bob_key = bob.wait("ready", 1)["key"]
    admin_form("#form-ban", {"key": bob_key[:16], "reason": "spam from the web test"})
    check(wait_until(lambda: "spam from the web test" in d.find_element(By.ID, "bans").text,
                     10), "ban list shows the ban: %r" % d.find_element(By.ID, "bans").text)
    mk = bob.mark()
    bob.send("post Web after the ban")

    # CSRF: a same-origin write without the token, a cross-site form post
    code = d.execute_script(
        "const r = await fetch('/api/v1/admin/set', {method: 'POST', headers: "
        "{'Content-Type': 'application/x-www-form-urlencoded'}, body: "
        "'room=0&key=owner.info&value=no-token'}); return r.status")
    check(code == 403, "a write without the CSRF token is refused (%s)" % code)
    Evil.target = web
    srv = httpserver.ThreadingHTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    evil = "http://localhost:%d" % srv.server_address[1]  # another site than 127.0.0.1
    try:
        d.get(evil + "/post")
        check(wait_until(lambda: "error" in d.page_source, 10), "the cross-site post answered")
        check("refused" in d.page_source or "log in" in d.page_source,
              "cross-site form post refused: %s" % d.page_source[-200:])
        check(rd.ctl("get owner.info") == "> run by the web test", "setting unchanged")
        d.get(evil + "/link")
        d.find_element(By.ID, "go").click()
        wait_until(lambda: "admin" in d.page_source, 10)
        check('"admin":false' in d.page_source,
              "cookie not sent on a cross-site navigation: %s" % d.page_source[-200:])
        d.get(base + "/api/v1/session")
        check('"admin":true' in d.page_source, "sent same-site: %s" % d.page_source[-200:])
    finally:
        srv.shutdown()

    # the members page
    d.get(base + "/members?room=0")
    check(wait_js("document.querySelectorAll('#members tr').length == 3"), "two members listed")
    mt = d.find_element(By.ID, "members").text
    check("admin" in mt and "read-write" in mt and bob_key[:16] in mt, "roles and keys: %s" % mt)

    # the channel page, and metrics that moved
    d.get(base + "/channel")
    check(wait_js("!!document.getElementById('airtime') && "
                  "document.querySelectorAll('#airtime rect').length > 0"), "airtime plot drawn")
    check(wait_js("document.querySelectorAll('#signal circle').length > 0"), "signal plot drawn")
    check("TXT_MSG" in d.find_element(By.ID, "types").text, "packets by type")
    shot(d, "web-channel.png")
    m1 = metrics(web)
    grew = [k for k in ("roomd_room_posts_stored_total|name=Web|room=0", "roomd_mesh_recv_total",
                        "roomd_mesh_sent_total", "roomd_packets_total|dir=in|type=TXT_MSG",
                        "roomd_web_live_updates_total", "roomd_radio_rx_frames_total")
            if m1.get(k, 0) > m0.get(k, 0)]
    check(len(grew) == 6, "metrics moved with traffic: %s" % grew)
    check(m1.get("roomd_room_posts|name=Archive|room=1") == N_ARCHIVE, "posts gauge")

    # bob's post after the ban is not taken
    f = bob.wait(("failed", "delivered"), 90, since=mk)
    check(f is not None and f["event"] == "failed", "banned bob's post not delivered: %s" % f)


def main():
    try:
        import selenium  # noqa: F401
        import prometheus_client  # noqa: F401
    except ImportError as e:
        print("web: %s (scripts/deps installs python3-selenium, python3-prometheus-client)" % e)
        print("web: 0 passed, 1 failed")
        return 1
    return run_in_tmp(T, "web.", run, procs, grace=5, keep=bool(os.environ.get("KEEP")))


if __name__ == "__main__":
    sys.exit(main())
