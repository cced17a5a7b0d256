"""tests/e2e/world.py - real processes for end-to-end stories: meshair, roomd, roomc.

The driver library of the e2e scripts (stories, crash, faults, roomc_roomd,
meshair):
  - Checks: the "name: N passed, N failed" count of a script;
  - waiting on a log file (file_search, file_count), starting a program with
    its output in a log (spawn, start_meshair), ending what a run started
    (stop_all) and a run in a temporary directory (run_in_tmp);
  - Air: meshair with a topology file, its control port and its JSON trace;
    it can be stopped and started again on the same ports;
  - Roomd: a room server with a roomd.conf written before its first start,
    its control socket (the console's commands), SIGKILL and restart;
  - Roomc: roomc --json kept running with commands on its standard input;
    every event is collected by a reader thread (and written to
    DATA.events.jsonl with the wall-clock time it came, for a kept run), and
    a story waits for the events it expects (generous timeouts: nothing is
    asserted on durations).
Timeouts only bound a wait; a story fails on what it saw, never on how long
it took.
"""
import json
import os
import re
import signal
import socket
import shutil
import subprocess
import sys
import tempfile
import threading
import time

O = os.environ.get("O", "build")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.join(ROOT, O)

# the fast preset every process of a story uses (meshair, roomd.conf, roomc)
SF, BW = 7, 500
FAST = ["--sf", str(SF), "--bw", "%g" % BW]
LISTENING = r"listening on 127\.0\.0\.1:(\d+)"


class Checks:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.lock = threading.Lock()

    def check(self, cond, what):
        with self.lock:
            if cond:
                self.passed += 1
            else:
                self.failed += 1
                print("FAILED: " + what, file=sys.stderr, flush=True)
        return bool(cond)

    def done(self):
        print("%s: %d passed, %d failed" % (self.name, self.passed, self.failed), flush=True)
        return 1 if self.failed or not self.passed else 0


def wait_until(fn, timeout, step=0.05):
    """Calls fn until it returns something true, at most timeout seconds."""
    end = time.time() + timeout
    while True:
        v = fn()
        if v or time.time() >= end:
            return v
        time.sleep(step)


def file_search(path, pattern, timeout=10.0, start=0):
    """The first match of pattern in the file (from offset start) within timeout, or None."""
    def look():
        try:
            with open(path, errors="replace") as f:
                f.seek(start)
                return re.search(pattern, f.read())
        except FileNotFoundError:
            return None
    return wait_until(look, timeout)


def file_count(path, pattern):
    """How many times pattern matches in the file now (0 if there is no file)."""
    try:
        with open(path, errors="replace") as f:
            return len(re.findall(pattern, f.read()))
    except FileNotFoundError:
        return 0


def spawn(prog, args, log, **kw):
    """Starts BIN/prog with its output appended to log; returns (process, log offset)."""
    pos = os.path.getsize(log) if os.path.exists(log) else 0
    with open(log, "a") as f:
        p = subprocess.Popen([os.path.join(BIN, prog)] + list(args), stdout=f, stderr=f, **kw)
    return p, pos


def start_meshair(log, port=0, args=()):
    """meshair on 127.0.0.1:port (0: one it picks); returns (process, its port or 0)."""
    p, pos = spawn("meshair", ["--listen", "127.0.0.1:%d" % port] + list(args), log)
    m = file_search(log, LISTENING, 10, pos)
    return p, int(m.group(1)) if m else 0


def room_key(data, n=1):
    """The public key (hex) of room n of the roomd with this data directory."""
    with open(os.path.join(data, "room-%d.id" % n), "rb") as f:
        return f.read(32).hex()


def events_of(events, kind, **kw):
    """The events of this kind (a name or a tuple of names) whose fields have these values."""
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return [e for e in events if e.get("event") in kinds and
            all(e.get(k) == v for k, v in kw.items())]


def stop_all(procs, grace=0):
    """Ends what still runs of procs (processes, or objects with a .proc): SIGTERM and
    grace seconds before SIGKILL, or SIGKILL at once."""
    for x in procs:
        p = getattr(x, "proc", x)
        if p is None or p.poll() is not None:
            continue
        if grace:
            p.terminate()
            try:
                p.wait(grace)
                continue
            except subprocess.TimeoutExpired:
                pass
        p.kill()
        p.wait()


def run_in_tmp(checks, prefix, run, procs, grace=0, keep=False):
    """run(tmp) in a new temporary directory; then stop_all(procs, grace), the directory
    removed (kept if keep) and the checks' line printed; returns the exit status."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    try:
        run(tmp)
    finally:
        stop_all(procs, grace)
        if keep:
            print("kept " + tmp, file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return checks.done()


def _ask(s, cmd):
    """Sends one command line on the socket; returns the reply up to its newline."""
    s.sendall((cmd + "\n").encode())
    buf = b""
    while not buf.endswith(b"\n"):
        d = s.recv(65536)
        if not d:
            break
        buf += d
    return buf


def _ask_roomd(s, cmd):
    """One command on roomd's control socket: the reply's lines come back each
    prefixed by a space, then a status line "OK" or "ERR" (see src/app/roomd.c).
    Returns the reply, its lines without the prefix."""
    s.sendall((cmd + "\n").encode())
    buf = b""
    while True:
        lines = buf.split(b"\n")
        if any(l in (b"OK", b"ERR") for l in lines[:-1]):
            break
        d = s.recv(65536)
        if not d:
            break
        buf += d
    out = []
    for l in buf.decode(errors="replace").split("\n"):
        if l in ("OK", "ERR"):
            break
        out.append(l[1:] if l.startswith(" ") else l)
    return "\n".join(out)


class Air:
    """meshair with a topology (radio lines with port 0 are given free ports)."""

    def __init__(self, tmp, topology, name="air"):
        self.tmp = tmp
        self.name = name
        self.topology = topology
        self.topo_path = os.path.join(tmp, name + ".topo")
        self.trace = os.path.join(tmp, name + ".trace.jsonl")
        self.log = os.path.join(tmp, name + ".log")
        self.port = 0
        self.ctl_port = 0
        self.ports = {}
        self.proc = None

    def start(self):
        topo = self.topology
        if self.ports:  # a restart: the same ports again
            topo = "\n".join(self._fixed(line) for line in topo.splitlines())
        with open(self.topo_path, "w") as f:
            f.write(topo + "\n")
        self.proc, logpos = spawn(
            "meshair", ["--listen", "127.0.0.1:%d" % self.port, "--topology", self.topo_path,
                        "--control", "127.0.0.1:%d" % self.ctl_port, "--trace", self.trace,
                        "--seed", "7", "-v"] + FAST, self.log)
        m = file_search(self.log, LISTENING, 10, logpos)
        c = file_search(self.log, r"control on 127\.0\.0\.1:(\d+)", 10, logpos)
        if not m or not c:
            raise RuntimeError("meshair did not start: see " + self.log)
        self.port, self.ctl_port = int(m.group(1)), int(c.group(1))
        radios = self.control("radios")
        for r in radios.get("radios", []):
            if r.get("port"):
                self.ports[r["name"]] = r["port"]

    def _fixed(self, line):
        w = line.split()
        if len(w) >= 3 and w[0] == "radio" and w[1] in self.ports:
            w[2] = str(self.ports[w[1]])
        return " ".join(w)

    def spec(self, radio):
        return "tcp:127.0.0.1:%d" % self.ports[radio]

    def control(self, cmd):
        with socket.create_connection(("127.0.0.1", self.ctl_port), timeout=10) as s:
            buf = _ask(s, cmd)
        return json.loads(buf.decode().splitlines()[0])

    def stop(self, kill=False):
        if self.proc and self.proc.poll() is None:
            if kill:
                self.proc.kill()
            else:
                self.proc.terminate()
            self.proc.wait(10)

    def tx(self):
        """The transmissions traced so far."""
        out = []
        try:
            with open(self.trace) as f:
                for line in f:
                    try:
                        e = json.loads(line)
                    except ValueError:
                        continue
                    if e.get("event") == "tx":
                        out.append(e)
        except FileNotFoundError:
            pass
        return out


class Roomd:
    """A room server; conf is written as DIR/roomd.conf before the first start (with the
    fast preset); flags are roomd's extra options."""

    def __init__(self, tmp, name, radio, conf, room_name, flags=("-v",)):
        self.dir = os.path.join(tmp, name)
        self.log = os.path.join(tmp, name + ".log")
        self.radio = radio
        self.room_name = room_name
        self.flags = list(flags)
        self.proc = None
        os.makedirs(self.dir, exist_ok=True)
        lines = ["sf = %d" % SF, "bw = %g" % BW]
        lines += ["%s = %s" % kv for kv in conf.items()]
        with open(os.path.join(self.dir, "roomd.conf"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self):
        self.proc, pos = spawn("roomd", ["--data", self.dir, "--radio", self.radio,
                                         "--name", self.room_name] + self.flags,
                               self.log, stdin=subprocess.DEVNULL)
        ok = file_search(self.log, r"radio \S+ up", 20, pos) is not None
        ok = ok and wait_until(lambda: os.path.exists(self.sock()), 10)
        return ok

    def sock(self):
        return os.path.join(self.dir, "control.sock")

    def ctl(self, cmd):
        """One command on the control socket, to the room chosen with use();
        returns its reply."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(self.sock())
            if getattr(self, "room", None) is not None:
                _ask_roomd(s, "use " + self.room)  # per connection (roomd.c)
            return _ask_roomd(s, cmd)

    def use(self, room):
        """Chooses the room later ctl() commands go to; returns use's reply."""
        self.room = None
        reply = self.ctl("use " + room)
        if reply.startswith("OK"):
            self.room = room
        return reply

    def key(self, n=1):
        return room_key(self.dir, n)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Roomc:
    """roomc --json kept running; commands go to its standard input."""

    def __init__(self, data, radio, extra=(), log=None):
        self.events = []
        self.lock = threading.Condition()
        args = [os.path.join(BIN, "roomc"), "--data", data, "--radio", radio,
                "--json"] + FAST + list(extra)
        self.errf = open(log or (data.rstrip("/") + ".stderr"), "a")
        # every event, as it came, for the kept directory (KEEP=1)
        self.evf = open(data.rstrip("/") + ".events.jsonl", "a")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.errf, text=True, bufsize=1)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.evf.write("%.3f %s" % (time.time(), line))
            self.evf.flush()
            try:
                e = json.loads(line)
            except ValueError:
                e = {"event": "not-json", "line": line}
            with self.lock:
                self.events.append(e)
                self.on_event(e)
                self.lock.notify_all()
        self.evf.close()
        with self.lock:
            self.events.append({"event": "exit"})
            self.lock.notify_all()

    def on_event(self, e):
        """Called with every event as it comes (the lock held); for subclasses."""

    def send(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()

    def wait(self, kind, timeout=60, since=0, **kw):
        """The first event of this kind (a name or a tuple of names) and fields at
        index >= since, or None."""
        end = time.time() + timeout
        with self.lock:
            while True:
                got = events_of(self.events[since:], kind, **kw)
                if got:
                    return got[0]
                left = end - time.time()
                if left <= 0 or (self.events and self.events[-1].get("event") == "exit"):
                    return None
                self.lock.wait(left)

    def wait_count(self, kind, n, timeout=60, since=0, **kw):
        """Waits until n events of this kind have been seen; returns them all."""
        end = time.time() + timeout
        with self.lock:
            while True:
                got = self.of(kind, since, **kw)
                if len(got) >= n:
                    return got
                left = end - time.time()
                if left <= 0 or (self.events and self.events[-1].get("event") == "exit"):
                    return got
                self.lock.wait(left)

    def of(self, kind, since=0, **kw):
        return events_of(self.events[since:], kind, **kw)

    def mark(self):
        with self.lock:
            return len(self.events)

    def do(self, cmd, kind, timeout=60, **kw):
        """Sends a command and waits for its outcome event."""
        m = self.mark()
        self.send(cmd)
        return self.wait(kind, timeout, since=m, **kw)

    def quit(self, timeout=30):
        try:
            self.send("quit")
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait(5)
        self.reader.join(5)
        self.errf.close()
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.errf.close()
