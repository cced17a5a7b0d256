#!/usr/bin/env bash
# tests/e2e/meshair.sh - meshair over real sockets on 127.0.0.1: starts the
# program on ports it picks itself (port 0, read back from its log), runs
# tests/e2e/meshair_test.py against it with KISS-only clients, and checks the
# trace, the control port and the exit status.  Ends with
# "meshair: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
BIN=$O/meshair
. tests/e2e/lib.bash
e2e_need meshair meshair
e2e_begin

# Waits for the "ready" line of a meshair log; prints nothing.
wait_ready() {
	for _ in $(seq 100); do
		grep -q ' ready$' "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
port_of() { sed -n "s/.*$2 on 127\.0\.0\.1:\([0-9]*\).*/\1/p" "$1" | head -n 1; }

# -- usage errors exit 2, help is complete -------------------------------------
"$BIN" >/dev/null 2>&1; check '[ $? -eq 2 ]' "no --listen: exit 2"
"$BIN" --listen 127.0.0.1:0 --sf 13 >/dev/null 2>&1; check '[ $? -eq 2 ]' "--sf 13: exit 2"
"$BIN" --listen 127.0.0.1:0 --bogus >/dev/null 2>&1; check '[ $? -eq 2 ]' "unknown option: exit 2"
"$BIN" --listen 127.0.0.1:0 --control 0.0.0.0:0 >/dev/null 2>&1
check '[ $? -eq 2 ]' "non-loopback control: exit 2"
printf 'radio A 0\nlink A Q\n' >"$tmp/bad.topo"
"$BIN" --listen 127.0.0.1:0 --topology "$tmp/bad.topo" 2>"$tmp/bad.err" >/dev/null
check '[ $? -eq 2 ]' "bad topology: exit 2"
check 'grep -q "bad.topo:2: unknown radio Q" "$tmp/bad.err"' "topology error names file:line"
"$BIN" --help >"$tmp/help" 2>&1; check '[ $? -eq 0 ]' "--help exits 0"
for s in NAME SYNOPSIS DESCRIPTION OPTIONS "TOPOLOGY FILE" "CONTROL COMMANDS" "TRACE FORMAT" \
	"EXIT STATUS" EXAMPLES; do
	check 'grep -q "^$s\$" "$tmp/help"' "help has section $s"
done

# -- a topology with four named radios ------------------------------------------
cat >"$tmp/t.topo" <<'TOPO'
# A, B, C hear each other; S is heard only by C, 20 dB above the others
mode links
radio A 0
radio B 0
radio C 0
radio S 0
link A B snr=10 rssi=-60
link A C
link B C
link S -> C rssi=-50
TOPO
"$BIN" --listen 127.0.0.1:0 --topology "$tmp/t.topo" --control 127.0.0.1:0 \
	--trace "$tmp/trace.jsonl" --seed 1 -v 2>"$tmp/log1" &
pid=$!
pids+=("$pid")
if wait_ready "$tmp/log1"; then
	ok
	args=(topo "$(port_of "$tmp/log1" control)" "$tmp/trace.jsonl")
	for r in A B C S; do args+=("$r=$(port_of "$tmp/log1" "radio $r")"); done
	args+=("listen=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/log1")")
	python3 tests/e2e/meshair_test.py "${args[@]}" >"$tmp/out1" 2>&1
	cat "$tmp/out1" >&2
	read -r p f < <(sed -n 's/^RESULT \([0-9]*\) \([0-9]*\)$/\1 \2/p' "$tmp/out1")
	pass=$((pass + ${p:-0})); fail=$((fail + ${f:-1}))
	# quit: exits 0 and writes a final summary
	for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	wait "$pid"; rc=$?
	check '[ $rc -eq 0 ]' "quit: exit status 0 (got $rc)"
	check 'tail -n 1 "$tmp/trace.jsonl" | grep -q "\"event\":\"summary\""' "summary at exit"
	check 'grep -q "does not read its output" "$tmp/log1"' "flooding client logged"
else
	bad "meshair did not start"; cat "$tmp/log1" >&2
fi

# -- loss 0.3 over 1000 frames, seeded; then SIGTERM exits 0 ---------------------
"$BIN" --listen 127.0.0.1:0 --loss 0.3 --seed 7 --trace "$tmp/trace2.jsonl" 2>"$tmp/log2" &
pid=$!
pids+=("$pid")
if wait_ready "$tmp/log2"; then
	ok
	lport=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/log2")
	python3 tests/e2e/meshair_test.py loss "$lport" >"$tmp/out2" 2>&1
	cat "$tmp/out2" >&2
	read -r p f < <(sed -n 's/^RESULT \([0-9]*\) \([0-9]*\)$/\1 \2/p' "$tmp/out2")
	pass=$((pass + ${p:-0})); fail=$((fail + ${f:-1}))
	kill -TERM "$pid"
	wait "$pid"; rc=$?
	check '[ $rc -eq 0 ]' "SIGTERM: exit status 0 (got $rc)"
	check 'tail -n 1 "$tmp/trace2.jsonl" | grep -q "\"transmissions\":1000,"' \
		"summary at SIGTERM counts 1000 transmissions"
else
	bad "meshair did not start"; cat "$tmp/log2" >&2
fi

# -- CSMA profiles: --csma is the default, csma= per radio ----------------------------
"$BIN" --listen 127.0.0.1:0 --csma fw >/dev/null 2>&1; check '[ $? -eq 2 ]' "--csma fw: exit 2"
printf 'radio A 0 csma=mcu\n' >"$tmp/bad2.topo"
"$BIN" --listen 127.0.0.1:0 --topology "$tmp/bad2.topo" 2>"$tmp/bad2.err" >/dev/null
check '[ $? -eq 2 ]' "topology csma=mcu: exit 2"
check 'grep -q "bad2.topo:1: csma= wants" "$tmp/bad2.err"' "csma= error names file:line"
printf 'radio M 0 csma=modem\nradio H 0 csma=host\nradio F 0\n' >"$tmp/csma.topo"
"$BIN" --listen 127.0.0.1:0 --topology "$tmp/csma.topo" --csma firmware --control 127.0.0.1:0 \
	2>"$tmp/log4" &
pid=$!
pids+=("$pid")
if wait_ready "$tmp/log4"; then
	check 'grep -q "csma firmware; seed" "$tmp/log4"' "log names the default profile"
	check 'grep -q "radio F on .*, csma firmware" "$tmp/log4"' "log names a radio's profile"
	out=$(python3 - "$(port_of "$tmp/log4" control)" "$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/log4")" <<'PY'
import json, socket, sys, time
a = socket.create_connection(("127.0.0.1", int(sys.argv[2])))  # an anonymous radio
time.sleep(0.2)
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"radios\n")
buf = b""
while not buf.endswith(b"\n"):
    buf += c.recv(65536)
for r in json.loads(buf)["radios"]:
    print(r["name"], r["csma"], r["txdelay"], r["persistence"], r["slottime"])
PY
)
	echo "$out" >&2
	check 'grep -qx "M modem 50 63 10" <<<"$out"' "csma=modem: kiss_modem defaults"
	check 'grep -qx "H host 0 255 0" <<<"$out"' "csma=host: nothing added"
	check 'grep -qx "F firmware 0 255 0" <<<"$out"' "no csma=: the --csma default"
	check 'grep -qx "anon1 firmware 0 255 0" <<<"$out"' "anonymous radio: the --csma default"
	kill -TERM "$pid"; wait "$pid"
else
	bad "meshair did not start"; cat "$tmp/log4" >&2
fi

# -- a port in use is a runtime error (1) ------------------------------------------
"$BIN" --listen 127.0.0.1:0 2>"$tmp/log3" &
pid=$!
pids+=("$pid")
if wait_ready "$tmp/log3"; then
	busy=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/log3")
	"$BIN" --listen "127.0.0.1:$busy" 2>/dev/null; rc=$?
	check '[ $rc -eq 1 ]' "port in use: exit 1 (got $rc)"
	kill -INT "$pid"; wait "$pid"; rc=$?
	check '[ $rc -eq 0 ]' "SIGINT: exit status 0 (got $rc)"
else
	bad "meshair did not start"
fi

echo "meshair: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
