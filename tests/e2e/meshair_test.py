#!/usr/bin/env python3
"""meshair_test.py - end-to-end checks of meshair over real sockets (loopback).

Run by tests/e2e/meshair.sh, which starts meshair and passes the ports it
picked.  Clients here speak nothing but KISS.  Timing is only used to wait
for events (with generous timeouts); what is asserted are bytes and the
virtual times in the trace, never wall-clock durations.

    meshair_test.py topo CTL_PORT TRACE_FILE A=PORT B=PORT ...
    meshair_test.py loss LISTEN_PORT
"""
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from world import Checks  # noqa: E402

T = Checks("meshair")
check = T.check


def kiss(t, data=b""):
    out = bytearray([0xC0])
    for b in bytes([t]) + bytes(data):
        if b == 0xC0:
            out += b"\xdb\xdc"
        elif b == 0xDB:
            out += b"\xdb\xdd"
        else:
            out.append(b)
    out.append(0xC0)
    return bytes(out)


class Radio:
    """A KISS client: one TCP connection is one radio."""

    def __init__(self, port, name=""):
        self.name = name
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.frames = []
        self.cur = None
        self.esc = False
        self.eof = False

    def send(self, t, data=b""):
        self.s.sendall(kiss(t, data))

    def hw(self, sub, data=b""):
        self.send(0x06, bytes([sub]) + bytes(data))

    def fast(self):
        """TXDELAY 0, persistence 255 (what a MeshCore host should set)."""
        self.send(0x01, b"\x00")
        self.send(0x02, b"\xff")

    def _feed(self, buf):
        for b in buf:
            if b == 0xC0:
                if self.cur:
                    self.frames.append(bytes(self.cur))
                self.cur = bytearray()
                continue
            if self.cur is None:
                continue
            if self.esc:
                self.esc = False
                if b == 0xDC:
                    self.cur.append(0xC0)
                elif b == 0xDD:
                    self.cur.append(0xDB)
                continue
            if b == 0xDB:
                self.esc = True
                continue
            self.cur.append(b)

    def poll(self, timeout):
        self.s.settimeout(timeout)
        try:
            buf = self.s.recv(65536)
            if not buf:
                self.eof = True
            self._feed(buf)
        except socket.timeout:
            pass
        except OSError:
            self.eof = True

    def wait(self, pred, timeout=5.0):
        """Returns (and consumes) the first frame matching pred, or None."""
        end = time.monotonic() + timeout
        while True:
            for i, f in enumerate(self.frames):
                if pred(f):
                    del self.frames[i]
                    return f
            left = end - time.monotonic()
            if left <= 0 or self.eof:
                return None
            self.poll(min(left, 0.2))

    def reply(self, code, timeout=5.0):
        return self.wait(lambda f: len(f) >= 2 and f[0] == 0x06 and f[1] == code, timeout)

    def data(self, payload=None, timeout=5.0):
        return self.wait(lambda f: f[0] == 0x00 and (payload is None or f[1:] == payload), timeout)

    def drain(self, t=0.3):
        self.poll(t)
        self.frames = []

    def close(self):
        self.s.close()


class Control:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""

    def cmd(self, line):
        self.s.sendall(line.encode() + b"\n")
        while b"\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        ans, self.buf = self.buf.split(b"\n", 1)
        return json.loads(ans)


class Trace:
    def __init__(self, path):
        self.path = path

    def events(self):
        out = []
        with open(self.path) as f:
            for line in f:
                if line.endswith("\n"):
                    out.append(json.loads(line))
        return out

    def tx(self, payload, timeout=5.0):
        """The trace record of the transmission carrying this frame."""
        want = payload.hex()
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for e in self.events():
                if e.get("event") == "tx" and e.get("frame") == want:
                    return e
            time.sleep(0.05)
        return None


def outcome(ev, radio):
    if not ev:
        return None
    for r in ev["receivers"]:
        if r["radio"] == radio:
            return r["outcome"]
    return "absent"


def tx_done(radio, timeout=5.0):
    f = radio.reply(0xF8, timeout)
    return f is not None and f[2:] == b"\x01"


# --------------------------------------------------------------------------


def frame(tag, n=20):
    """A MeshCore-looking frame: FLOOD ADVERT header, path_len 0, then a tag."""
    body = (tag.encode() * (n // len(tag) + 1))[: n - 2]
    return bytes([0x11, 0x00]) + body


def topo_tests(ctl_port, trace_path, ports):
    ctl = Control(ctl_port)
    tr = Trace(trace_path)
    A = Radio(ports["A"], "A")
    B = Radio(ports["B"], "B")
    C = Radio(ports["C"], "C")
    S = Radio(ports["S"], "S")
    time.sleep(0.2)
    radios = ctl.cmd("radios")
    check(radios and radios["ok"], "radios answers")
    conn = {r["name"]: r["connected"] for r in radios["radios"]}
    check(all(conn.get(n) for n in "ABCS"), "all four radios connected: %r" % conn)
    # help: one row per command (issue 15: "radio" was listed twice)
    hl = (ctl.cmd("help") or {}).get("commands", [])
    names = [h.split()[0] for h in hl]
    check(hl and len(names) == len(set(names)), "help lists each command once: %r" % names)
    check("radio NAME up|down|disconnect" in hl, "help: radio NAME up|down|disconnect")

    # modem commands, as the kiss_modem answers them
    A.hw(0x11)
    check(A.reply(0x91) == b"\x06\x91\x01\x00", "GetVersion 91 01 00")
    A.hw(0x17)
    check(A.reply(0x97) == b"\x06\x97", "Ping 97")
    A.hw(0x0B)
    check(A.reply(0x8B) == b"\x06\x8b" + bytes(10), "GetRadio zeros before SetRadio")
    A.hw(0x0C)
    check(A.reply(0x8C) == b"\x06\x8c\x00", "GetTxPower 0 before SetTxPower")
    A.hw(0x01)
    check(A.reply(0xF1) == b"\x06\xf1\x03", "GetIdentity F1 03")
    A.hw(0x55)
    check(A.reply(0xF1) == b"\x06\xf1\x05", "unknown sub-command F1 05")
    A.hw(0x0F, b"\x16")
    check(A.reply(0x8F) == b"\x06\x8f" + (304).to_bytes(4, "little"), "GetAirtime(22) = 304")
    A.hw(0x0E)
    check(A.reply(0x8E) == b"\x06\x8e\x00", "IsChannelBusy 00 on a quiet channel")
    A.hw(0x1A)
    check(A.reply(0x9A) == b"\x06\x9a\x01", "signal reports on by default")
    A.hw(0x10)
    check(A.reply(0x90) == b"\x06\x90" + (-120).to_bytes(2, "little", signed=True),
          "GetNoiseFloor -120")

    # a 22-byte frame with the modem's defaults (TXDELAY 500 ms): one pending at a time
    f1 = frame("first", 22)
    A.send(0x00, f1)
    A.send(0x00, frame("second", 22))
    check(A.reply(0xF1) == b"\x06\xf1\x07", "second Data while one is pending: F1 07")
    check(tx_done(A), "TxDone 01 after the transmission")
    got = B.data(f1)
    check(got is not None, "B received A's frame")
    meta = B.reply(0xF9)
    check(meta == b"\x06\xf9" + bytes([40, 256 - 60]), "RxMeta SNR 10 dB x4, RSSI -60: %r" % meta)
    ev = tr.tx(f1)
    check(ev is not None, "trace has the transmission")
    if ev:
        check(304 <= ev["end_ms"] - ev["start_ms"] < 305, "22 bytes at SF8/62.5 occupy 304 ms")
        check(ev["sender"] == "A" and ev["len"] == 22, "trace sender and length")
        check(ev["type"] == "ADVERT" and ev["route"] == "FLOOD", "trace type and route")
        check(outcome(ev, "B") == "delivered" and outcome(ev, "C") == "delivered",
              "delivered to B and C")
        check(outcome(ev, "S") == "absent", "S is not in range of A")
    check(C.data(f1) is not None, "C received A's frame")
    check(S.data(f1, timeout=0.3) is None, "S did not receive A's frame")
    A.hw(0x12)
    st = A.reply(0x92)
    check(st is not None and st[2:] == (0).to_bytes(4, "little") + (1).to_bytes(4, "little")
          + bytes(4), "GetStats of A: rx 0, tx 1, errors 0")
    for r in (A, B, C, S):
        r.fast()
        r.drain(0.1)

    # collision: A and B transmit at once (FullDuplex skips carrier sense); at C
    # they overlap with equal power (-70 dBm each): both lost there.
    # Topology: A->C -70 dBm, B->C -70 dBm, S->C -50 dBm.
    for r in (A, B, S):
        r.send(0x05, b"\x01")
    fa, fb = frame("collide-a", 40), frame("collide-b", 40)
    A.send(0x00, fa)
    B.send(0x00, fb)
    check(tx_done(A) and tx_done(B), "both collided senders get TxDone")
    ea, eb = tr.tx(fa), tr.tx(fb)
    check(ea is not None and eb is not None, "both collisions traced")
    if ea and eb:
        check(eb["start_ms"] < ea["end_ms"] and ea["start_ms"] < eb["end_ms"], "they overlap")
        check(outcome(ea, "C") == "collided" and outcome(eb, "C") == "collided",
              "equal power at C: both collided")
        check(outcome(ea, "B") == "deaf" and outcome(eb, "A") == "deaf",
              "half duplex: a transmitting radio does not receive")
    check(C.data(timeout=0.3) is None, "C got nothing")

    # capture: S is 20 dB stronger at C than B
    fs, fb2 = frame("capture-s", 40), frame("capture-b", 40)
    S.send(0x00, fs)
    B.send(0x00, fb2)
    check(tx_done(S) and tx_done(B), "capture senders get TxDone")
    es, eb2 = tr.tx(fs), tr.tx(fb2)
    if check(es is not None and eb2 is not None, "capture traced"):
        check(outcome(es, "C") == "delivered", "the stronger frame is captured")
        check(outcome(eb2, "C") == "collided", "the weaker one is lost")
    check(C.data(fs) is not None, "C received S's frame")
    for r in (A, B, S):
        r.send(0x05, b"\x00")
    for r in (A, B, C, S):
        r.drain(0.1)

    # carrier sense: B queues while A's 255-byte frame (1.5 s) is on the air
    fl, fw = frame("long", 255), frame("waiter", 20)
    A.send(0x00, fl)
    time.sleep(0.25)
    B.hw(0x0E)
    check(B.reply(0x8E) == b"\x06\x8e\x01", "IsChannelBusy 01 during A's frame")
    B.send(0x00, fw)
    check(tx_done(A) and tx_done(B), "CSMA senders get TxDone")
    el, ew = tr.tx(fl), tr.tx(fw)
    if check(el is not None and ew is not None, "CSMA traced"):
        check(ew["start_ms"] >= el["end_ms"], "B waited for the end of A's frame")
        check(outcome(el, "B") == "delivered" and outcome(ew, "A") == "delivered",
              "no collision under CSMA")
    for r in (A, B, C, S):
        r.drain(0.1)

    # different settings do not hear each other
    B.hw(0x09, (869618000).to_bytes(4, "little") + (62500).to_bytes(4, "little") + b"\x09\x05")
    check(B.reply(0xF0) == b"\x06\xf0", "SetRadio F0")
    B.hw(0x0B)
    check(B.reply(0x8B) == b"\x06\x8b" + (869618000).to_bytes(4, "little")
          + (62500).to_bytes(4, "little") + b"\x09\x05", "GetRadio returns the last SetRadio")
    fsf = frame("sf8-only", 20)
    A.send(0x00, fsf)
    check(tx_done(A), "TxDone")
    ev = tr.tx(fsf)
    check(outcome(ev, "B") == "absent" and outcome(ev, "C") == "delivered",
          "SF9 radio does not hear SF8")
    B.hw(0x09, (869618000).to_bytes(4, "little") + (62500).to_bytes(4, "little") + b"\x08\x05")
    B.reply(0xF0)
    for r in (A, B, C, S):
        r.drain(0.1)

    # control: radio down/up
    check(ctl.cmd("radio B down") == {"ok": True}, "radio B down")
    fd = frame("b-is-down", 20)
    A.send(0x00, fd)
    check(tx_done(A), "TxDone while B is down")
    check(outcome(tr.tx(fd), "B") == "down", "downed radio: outcome down")
    check(B.data(timeout=0.3) is None, "downed radio hears nothing")
    fdb = frame("from-down-b", 20)
    B.send(0x00, fdb)
    check(tx_done(B), "a downed radio still gets TxDone")
    check(outcome(tr.tx(fdb), "A") == "down", "a downed radio is not heard")
    check(ctl.cmd("radio B up") == {"ok": True}, "radio B up")
    fu = frame("b-is-up", 20)
    A.send(0x00, fu)
    check(B.data(fu) is not None, "B hears again after up")
    tx_done(A)

    # control: link down (both ways), then one way, then up
    check(ctl.cmd("link A B down") == {"ok": True}, "link A B down")
    fld = frame("link-down", 20)
    A.send(0x00, fld)
    tx_done(A)
    ev = tr.tx(fld)
    check(outcome(ev, "B") == "down" and outcome(ev, "C") == "delivered", "link down: B misses")
    check(ctl.cmd("link A -> B up") == {"ok": True}, "link A -> B up")
    flu = frame("link-one-way", 20)
    A.send(0x00, flu)
    tx_done(A)
    check(outcome(tr.tx(flu), "B") == "delivered", "one way up: B hears A")
    flb = frame("link-back", 20)
    B.send(0x00, flb)
    tx_done(B)
    check(outcome(tr.tx(flb), "A") == "down", "the other way still down")
    check(ctl.cmd("link1 B A up") == {"ok": True}, "link1 B A up")
    check(ctl.cmd("link A B up snr=-5 rssi=-100")["ok"], "link parameters")
    B.drain(0.1)
    fp = frame("link-params", 20)
    A.send(0x00, fp)
    tx_done(A)
    B.data(fp)
    check(B.reply(0xF9) == b"\x06\xf9" + bytes([256 - 20, 256 - 100]), "new link parameters")
    check(ctl.cmd("radio Z down")["ok"] is False, "unknown radio refused")
    check(ctl.cmd("frobnicate")["ok"] is False, "unknown command refused")
    for r in (A, B, C, S):
        r.drain(0.1)

    # a client vanishing in the middle of a KISS frame disturbs nobody
    X = Radio(ports["listen"], "anon")
    X.s.sendall(b"\xc0\x00\x11\x00partial frame without its end")
    time.sleep(0.1)
    X.close()
    # and one that leaves while its frame is on the air
    Y = Radio(ports["listen"], "anon")
    Y.fast()
    Y.send(0x00, frame("leaving", 200))
    time.sleep(0.2)
    Y.close()
    time.sleep(0.2)
    fafter = frame("after-leavers", 20)
    A.send(0x00, fafter)
    check(tx_done(A, 8), "A still transmits after clients left")
    check(B.data(fafter, 8) is not None, "B still receives after clients left")
    ev = tr.tx(frame("leaving", 200), 8)
    check(ev is not None and outcome(ev, "B") == "down", "a frame cut by its leaving sender")

    # radio NAME disconnect closes the connection; the port accepts it again
    check(ctl.cmd("radio S disconnect") == {"ok": True}, "radio S disconnect")
    for _ in range(10):
        if not S.eof:
            S.poll(0.5)
    check(S.eof, "S's connection closed")
    S2 = Radio(ports["S"], "S")
    time.sleep(0.2)
    S2.hw(0x17)
    check(S2.reply(0x97) is not None, "S reconnected")
    Sx = Radio(ports["S"], "S")
    for _ in range(10):
        if not Sx.eof:
            Sx.poll(0.5)
    check(Sx.eof, "a second client on a named port is refused")

    # a client that floods without reading is dropped; the others go on
    F = socket.socket()
    F.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    F.connect(("127.0.0.1", ports["listen"]))
    F.settimeout(20)
    dropped = False
    try:
        ping = kiss(0x06, b"\x17") * 4096
        for _ in range(2000):
            F.sendall(ping)
    except OSError:
        dropped = True
    F.close()
    check(dropped, "a client that does not read is dropped")
    fz = frame("after-flood", 20)
    A.send(0x00, fz)
    check(B.data(fz, 8) is not None, "B still receives after the flood")

    st = ctl.cmd("stats")
    check(st["ok"] and st["transmissions"] >= 10, "stats counts transmissions")
    check(st["collided"] >= 2 and st["deaf"] >= 2, "stats counts collisions and deaf receivers")
    names = [r["radio"] for r in st["radios"]]
    check("A" in names and "B" in names, "per-radio stats")
    check(ctl.cmd("reset-stats") == {"ok": True}, "reset-stats")
    check(ctl.cmd("stats")["transmissions"] == 0, "counters reset")
    summaries = [e for e in tr.events() if e.get("event") == "summary"]
    check(len(summaries) >= 2, "stats writes summaries to the trace")
    check(ctl.cmd("quit") == {"ok": True}, "quit")
    for r in (A, B, C, S2):
        r.close()


def loss_test(listen_port):
    """loss=0.3 (meshair --loss 0.3 --seed N) over 1000 frames: 600..800 delivered."""
    A = Radio(listen_port, "a")
    B = Radio(listen_port, "b")
    # the fastest setting, SF5 / 500 kHz, so that 1000 frames take seconds
    setr = (869618000).to_bytes(4, "little") + (500000).to_bytes(4, "little") + b"\x05\x05"
    for r in (A, B):
        r.hw(0x09, setr)
        check(r.reply(0xF0) is not None, "SetRadio")
        r.fast()
    B.hw(0x19, b"\x00")
    check(B.reply(0x9A) == b"\x06\x9a\x00", "SetSignalReport off answers 9A 00")
    n = 1000
    ok = 0
    for i in range(n):
        A.send(0x00, bytes([0x11, 0x00]) + i.to_bytes(2, "big"))
        if tx_done(A):
            ok += 1
    check(ok == n, "every frame got TxDone (%d)" % ok)
    B.poll(0.5)
    got = 0
    while True:
        f = B.data(timeout=0.5)
        if f is None:
            break
        got += 1
    meta = [f for f in B.frames if f[:2] == b"\x06\xf9"]
    check(not meta, "no RxMeta with signal reports off")
    print("loss 0.3: %d of %d delivered" % (got, n))
    check(600 <= got <= 800, "delivered %d of %d with loss 0.3" % (got, n))
    A.close()
    B.close()


def main():
    mode = sys.argv[1]
    try:
        if mode == "topo":
            ports = dict(a.split("=") for a in sys.argv[4:])
            ports = {k: int(v) for k, v in ports.items()}
            topo_tests(int(sys.argv[2]), sys.argv[3], ports)
        else:
            loss_test(int(sys.argv[2]))
    except Exception as e:  # a crash counts as a failure, with its reason
        import traceback
        traceback.print_exc()
        check(False, "exception: %r" % e)
    print("RESULT %d %d" % (T.passed, T.failed))


if __name__ == "__main__":
    main()
