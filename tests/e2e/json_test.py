#!/usr/bin/env python3
"""tests/e2e/json_test.py - one JSON writer (issue 15.6): text with an emoji, invalid
bytes and a control character goes through every program's JSON output, which
Python's json module must parse (from strict UTF-8) into the intended text:
valid UTF-8 passed through, each invalid byte one U+FFFD, never the per-byte
\\u00XX mojibake of the old meshair and kissprobe writers.
  - meshair: a control command naming a radio with an emoji and an invalid
    byte, echoed in its error reply (radio names themselves are ASCII: its
    trace, all JSON, is parsed line by line too);
  - kissprobe: the device name of a (fake) KISS modem;
  - roomc --json: the queued and delivered events of a post to roomd;
  - roomctl --json: the command echoed back.
Prints "json: N passed, N failed".
"""
import json
import os
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from world import (BIN, BW, FAST, SF, Checks, file_search, room_key, run_in_tmp, spawn,  # noqa: E402
                   _ask)
from world import events_of as of  # noqa: E402

T = Checks("json")
check = T.check
procs = []

EMOJI = b"\xf0\x9f\x98\x80"  # U+1F600
TEXT = b"hi " + EMOJI + b" caf\xc3\xa9 \xfe\xc0 end"  # \xfe and \xc0 are invalid
TEXT_TEXT = "hi \U0001F600 caf\u00e9 \ufffd\ufffd end"


def loads(raw, what):
    """Parses one line of program output as strict UTF-8 JSON; None (and a failed check)
    if it is not."""
    try:
        return json.loads(raw.decode("utf-8", errors="strict"))
    except (UnicodeDecodeError, ValueError) as e:
        check(False, "%s: not valid UTF-8 JSON (%s): %r" % (what, e, raw[:200]))
        return None


def fake_modem(srv, name):
    """Answers one KISS client as a kiss_modem would: GetVersion, GetDeviceName, and an
    error for every other query."""
    c, _ = srv.accept()
    buf = b""
    with c:
        while True:
            d = c.recv(4096)
            if not d:
                return
            buf += d
            while buf.count(b"\xc0") >= 2:
                start = buf.index(b"\xc0")
                end = buf.index(b"\xc0", start + 1)
                frame, buf = buf[start + 1:end], buf[end:]
                if len(frame) < 2 or frame[0] != 0x06:
                    continue
                q = frame[1]
                if q == 0x11:
                    body = bytes([0x91, 1, 0])
                elif q == 0x16:
                    body = bytes([0x96]) + name
                else:
                    body = bytes([0xF1, 0x04])  # error: unknown command
                c.sendall(b"\xc0\x06" + body + b"\xc0")


def run(tmp):
    # -- meshair: a control command with an emoji and invalid bytes ---------------------
    topo = os.path.join(tmp, "t.topo")
    with open(topo, "wb") as f:
        f.write(b"mode full\nradio R 0\nradio C 0\n")
    trace = os.path.join(tmp, "trace.jsonl")
    log = os.path.join(tmp, "air.log")
    air, _ = spawn("meshair", ["--listen", "127.0.0.1:0", "--topology", topo, "--control",
                               "127.0.0.1:0", "--trace", trace, "--seed", "1", "-v"] + FAST, log)
    procs.append(air)
    c = file_search(log, r"control on 127\.0\.0\.1:(\d+)", 10)
    if not check(c is not None, "meshair started"):
        return
    ctl_port = int(c.group(1))
    with socket.create_connection(("127.0.0.1", ctl_port), timeout=10) as s:
        radios = loads(_ask(s, "radios").splitlines()[0], "meshair radios")
        s.sendall(b"radio " + TEXT.replace(b" ", b"_") + b" down\n")
        buf = b""
        while not buf.endswith(b"\n"):
            d = s.recv(4096)
            if not d:
                break
            buf += d
        err = loads(buf.splitlines()[0] if buf else b"", "meshair control")
    want = "no such radio: " + TEXT_TEXT.replace(" ", "_")
    check(err is not None and err.get("ok") is False and err.get("error") == want,
          "meshair control: the name as meant: %r" % (err and err.get("error")))
    ports = [r["port"] for r in (radios or {}).get("radios", [])]
    if not check(len(ports) == 2, "meshair radios: two"):
        return

    # -- kissprobe: a modem's name ----------------------------------------------------
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    threading.Thread(target=fake_modem, args=(srv, b"modem " + EMOJI + b"\xff\x01"),
                     daemon=True).start()
    p = subprocess.run([os.path.join(BIN, "kissprobe"), "--timeout", "3000",
                        "tcp:127.0.0.1:%d" % srv.getsockname()[1]], capture_output=True,
                       timeout=30)
    srv.close()
    j = loads(p.stdout, "kissprobe")
    check(j is not None and j.get("name") == "modem \U0001F600\ufffd\x01",
          "kissprobe: the modem's name as meant: %r" % (j and j.get("name")))

    # -- roomd on the named radio, roomc on C ------------------------------------------
    rd = os.path.join(tmp, "rd")
    rd_log = os.path.join(tmp, "roomd.log")
    os.makedirs(rd)
    with open(os.path.join(rd, "roomd.conf"), "w") as f:
        f.write("sf = %d\nbw = %g\n" % (SF, BW))
    roomd, _ = spawn("roomd", ["--data", rd, "--radio", "tcp:127.0.0.1:%d" % ports[0],
                               "--name", "Test"], rd_log, stdin=subprocess.DEVNULL)
    procs.append(roomd)
    if not check(file_search(rd_log, r"radio \S+ up", 20) is not None, "roomd up"):
        return
    key = room_key(rd, 1)
    args = [os.path.join(BIN, "roomc"), "--data", os.path.join(tmp, "a"), "--radio",
            "tcp:127.0.0.1:%d" % ports[1], "--json", "--wait", "30"] + FAST
    for cmd in [b"add " + key.encode() + b" Test", b"login Test hello", b"wait",
                b"post Test " + TEXT, b"wait"]:
        args += [b"-c", cmd]
    p = subprocess.run(args, capture_output=True, timeout=120)
    ev = [e for e in (loads(l, "roomc") for l in p.stdout.splitlines()) if e is not None]
    check(len(ev) > 0 and len(ev) == len(p.stdout.splitlines()), "roomc: every line is JSON")
    check(of(ev, "queued", text=TEXT_TEXT), "roomc queued: the text as meant: %r" %
          [e.get("text") for e in of(ev, "queued")])
    check(of(ev, "delivered", text=TEXT_TEXT), "roomc delivered: the text as meant: %r" %
          [e.get("text") for e in of(ev, "delivered")])

    # -- roomctl --json: the command comes back as typed -------------------------------
    p = subprocess.run([os.path.join(BIN, "roomctl"), "--data", rd, "--json",
                        b"bogus-" + TEXT], capture_output=True, timeout=30)
    j = loads(p.stdout.splitlines()[0] if p.stdout else b"", "roomctl")
    check(j is not None and j.get("command") == "bogus-" + TEXT_TEXT and j.get("ok") is False,
          "roomctl --json: the command as meant: %r" % j)

    # -- meshair's trace: every line parses ----------------------------------------------
    with socket.create_connection(("127.0.0.1", ctl_port), timeout=10) as s:
        _ask(s, "quit")
    air.wait(10)
    with open(trace, "rb") as f:
        lines = f.read().splitlines()
    tr = [e for e in (loads(l, "meshair trace") for l in lines) if e is not None]
    check(len(tr) == len(lines) and len(tr) > 0, "meshair trace: every line is JSON")
    check(any(e.get("event") == "tx" and e.get("sender") == "R" for e in tr),
          "meshair trace: roomd's transmissions")


if __name__ == "__main__":
    sys.exit(run_in_tmp(T, "json-e2e.", run, procs, grace=5, keep=bool(os.environ.get("KEEP"))))
