#!/usr/bin/env bash
# tests/e2e/roomctl.sh - roomctl against a real roomd on meshair (127.0.0.1, port
# 0 read back from meshair's log): the control socket framing, exit statuses,
# --json, --room, commands on stdin, settings that persist across a restart,
# --set flags over the database, set prv.key taking effect after a restart,
# a backup taken while running and restored, the packet log, and the
# commented roomd.conf listing every key.
# Ends with "roomctl: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
. tests/e2e/lib.bash
e2e_need roomctl roomctl roomd meshair
e2e_begin
CTL=$O/roomctl
RD=$tmp/rd

wait_for() { # file pattern
	for _ in $(seq 200); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# -- usage --------------------------------------------------------------------------
"$CTL" --help >"$tmp/help" 2>&1; check '[ $? -eq 0 ]' "--help exits 0"
for s in NAME SYNOPSIS DESCRIPTION OPTIONS COMMANDS "EXIT STATUS" EXAMPLES; do
	check 'grep -q "^$s\$" "$tmp/help"' "help has section $s"
done
env -u ROOMD_DATA "$CTL" get name >/dev/null 2>&1; check '[ $? -eq 2 ]' "no --data: exit 2"
"$CTL" --bogus >/dev/null 2>&1; check '[ $? -eq 2 ]' "unknown option: exit 2"
"$CTL" -d "$tmp/nowhere" get name >/dev/null 2>"$tmp/err"
check '[ $? -eq 3 ]' "no daemon: exit 3"
check 'grep -q "is roomd running" "$tmp/err"' "no daemon: says what to check"

# -- the world ------------------------------------------------------------------------
"$O/meshair" --listen 127.0.0.1:0 -v >"$tmp/air.log" 2>&1 &
pids+=($!)
wait_for "$tmp/air.log" "listening on 127.0.0.1:" || bad "meshair started"
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/air.log" | head -n 1)

start_roomd() { # extra args...
	: >"$tmp/roomd.log"
	"$O/roomd" --data "$RD" --radio "tcp:127.0.0.1:$port" --name "Ctl Room" "$@" \
		</dev/null >>"$tmp/roomd.log" 2>&1 &
	roomd_pid=$!
	pids+=($roomd_pid)
	wait_for "$tmp/roomd.log" "ready:" && [ -S "$RD/control.sock" ]
}
stop_roomd() {
	kill "$roomd_pid" 2>/dev/null
	wait "$roomd_pid" 2>/dev/null
}
ctl() { "$CTL" -d "$RD" "$@"; }

start_roomd; check '[ $? -eq 0 ]' "roomd started"

# -- one command from the arguments -----------------------------------------------------
out=$(ctl get name); rc=$?
check '[ $rc -eq 0 ] && [ "$out" = "> Ctl Room" ]' "get name: '$out' rc $rc"
out=$(ctl frobnicate); rc=$?
check '[ $rc -eq 1 ] && [ "$out" = "Unknown command" ]' "unknown command: '$out' rc $rc"
out=$(ctl get no.such.key); rc=$?
check '[ $rc -eq 1 ] && [ "$out" = "??: no.such.key" ]' "unknown key: '$out' rc $rc"
out=$(ctl set guest.password s3cret); rc=$?
check '[ $rc -eq 0 ] && [ "$out" = "OK" ]' "set guest.password: '$out'"
out=$(ctl set advert.interval 30); rc=$?
check '[ $rc -eq 1 ] && [ "$out" = "Error: interval range is 60-240 minutes" ]' \
	"advert.interval out of range: '$out' rc $rc"
out=$(ctl get prv.key)
check '[[ "$out" =~ ^\>\ [0-9A-F]{128}$ ]]' "get prv.key works locally"
out=$(ctl set radio 869.525,250,11,5)
check '[[ "$out" == "OK - reboot to apply"* ]]' "set radio: '$out'"
out=$(ctl get radio)
check '[ "$out" = "> 869.525,250,11,5" ]' "get radio as typed: '$out'"
out=$(ctl set tx 10); check '[ "$out" = "OK" ]' "set tx: '$out'"
out=$(ctl get tx); check '[ "$out" = "> 10" ]' "get tx: '$out'"
check 'wait_for "$tmp/roomd.log" "radio reopened"' "set tx reopens the radio"
check 'kill -0 $roomd_pid' "roomd alive after the radio change"
out=$(ctl set lat 52.370216); out=$(ctl get lat)
check '[ "$out" = "> 52.3702163" ]' "get lat: '$out'"
out=$(ctl set max.posts 20000); check '[ "$out" = "OK" ]' "set max.posts"
out=$(ctl region put europe); check '[ "$out" = "OK - (flood allowed)" ]' "region put: '$out'"
out=$(ctl region default europe)
check '[ "$out" = " default scope is now europe" ]' "region default: '$out'"
long=$(head -c 700 /dev/zero | tr '\0' x)
out=$(ctl "$long" 2>&1); rc=$?
check '[ $rc -ne 0 ]' "a command over 511 bytes fails"

# -- commands on stdin, --json, --keep-going ----------------------------------------------
printf 'get name\n# a comment\n\nver\nbogus\nget tx\n' | ctl --json >"$tmp/json"; rc=$?
check '[ $rc -eq 1 ]' "stdin: a failed command makes the exit status 1"
check '[ $(wc -l <"$tmp/json") -eq 3 ]' "stdin: stops at the first failure (3 lines)"
check 'python3 -c "import json,sys; [json.loads(l) for l in open(sys.argv[1])]" "$tmp/json"' \
	"--json: every line is JSON"
check 'grep -q "{\"command\":\"get name\",\"ok\":true,\"reply\":\"> Ctl Room\"}" "$tmp/json"' \
	"--json: command, ok, reply"
printf 'bogus\nget tx\n' | ctl -k >"$tmp/kg"; rc=$?
check '[ $rc -eq 1 ] && grep -q "^> 10$" "$tmp/kg"' "--keep-going runs the rest"

# -- rooms and --room --------------------------------------------------------------------
out=$(ctl room.add Second); check '[ "$out" = "OK - 2 rooms" ]' "room.add: '$out'"
out=$(ctl --room 1 get name); check '[ "$out" = "> Second" ]' "--room 1: '$out'"
out=$(ctl --room Second get name); check '[ "$out" = "> Second" ]' "--room by name"
out=$(ctl get name); check '[ "$out" = "> Ctl Room" ]' "--room is per connection"
ctl --room 7 get name >/dev/null 2>&1; check '[ $? -eq 1 ]' "--room of no room: exit 1"
out=$(ctl rooms); check '[ $(echo "$out" | wc -l) -eq 2 ]' "rooms lists two lines"

# -- the packet log -----------------------------------------------------------------------
out=$(ctl log start); check '[ "$out" = "   logging on" ]' "log start: '$out'"
ctl advert >/dev/null
check 'wait_for "$RD/packets.log" " TX len="' "the flood advert is in the packet log"
out=$(ctl log); check '[[ "$out" == *" TX len="* && "$out" == *"   EOF" ]]' "log shows it, then EOF"
out=$(ctl log erase); check '[ "$out" = "   log erased" ]' "log erase"
out=$(ctl log stop); check '[ "$out" = "   logging off" ]' "log stop"

# -- set prv.key: a firmware identity imported, used after a restart ------------------------
vec_prv=a8a7c4f0e2f2e81684a0ea0c0964e1bc3d700163aac93d605317523ced96876192e78ad845b2bf1b62c1bd7a5f78777936630f894b126f3ff0c38038e27ec513
vec_pub=A80AD8880B161DC844BD5ECF39AB9C1643C848091CC6B0227DED7384060A6316
out=$(ctl set prv.key 00)
check '[ "$out" = "Error, bad key" ]' "set prv.key with a short key: '$out'"
out=$(ctl set prv.key $vec_prv)
check '[ "$out" = "OK, reboot to apply! New pubkey: $vec_pub" ]' "set prv.key: '$out'"
out=$(ctl get public.key)
check '[ "$out" != "> $vec_pub" ]' "the old key stays until the restart"

# -- restart: what was set by command persists -----------------------------------------------
stop_roomd
start_roomd; check '[ $? -eq 0 ]' "roomd restarted"
out=$(ctl get guest.password); check '[ "$out" = "> s3cret" ]' "guest.password persisted: '$out'"
out=$(ctl get radio); check '[ "$out" = "> 869.525,250,11,5" ]' "radio persisted: '$out'"
out=$(ctl get tx); check '[ "$out" = "> 10" ]' "tx persisted: '$out'"
out=$(ctl get max.posts); check '[ "$out" = "> 20000" ]' "max.posts persisted: '$out'"
out=$(ctl region default); check '[ "$out" = " default scope is europe" ]' "regions persisted"
out=$(ctl get public.key); check '[ "$out" = "> $vec_pub" ]' "the imported key is in use: '$out'"
stop_roomd

# -- backup while running; the copy, with the identity files, is a working data directory -----
start_roomd; check '[ $? -eq 0 ]' "roomd restarted for the backup"
mkdir -p "$tmp/restored"
out=$(ctl backup "$tmp/restored/roomd.db")
check '[[ "$out" == "OK - backup written to $tmp/restored/roomd.db; with the room keys beside it (room-1.id, room-2.id): keep them secret" ]]' "backup: '$out'"
out=$(ctl backup relative.db); check '[ "$out" = "Err - give an absolute path" ]' "backup: relative path"
ctl backup "$RD/roomd.db" >/dev/null; check '[ $? -eq 1 ]' "backup over the live database: exit 1"
stop_roomd
check 'cmp -s "$RD/room-1.id" "$tmp/restored/room-1.id" && cmp -s "$RD/room-2.id" "$tmp/restored/room-2.id"' \
	"backup copied the room keys"
live_rd=$RD RD=$tmp/restored
start_roomd; check '[ $? -eq 0 ]' "roomd starts on the restored backup"
out=$(ctl get guest.password); check '[ "$out" = "> s3cret" ]' "restored: guest.password '$out'"
out=$(ctl get public.key); check '[ "$out" = "> $vec_pub" ]' "restored: the room's identity"
out=$(ctl rooms); check '[ $(echo "$out" | wc -l) -eq 2 ]' "restored: both rooms"
stop_roomd
RD=$live_rd

# -- a control client that does not read never blocks the daemon (issue 15) -------------------
start_roomd; check '[ $? -eq 0 ]' "roomd started for the slow control clients"
python3 tests/e2e/ctl_slow_test.py "$RD/control.sock" "$CTL" "$RD" "$tmp/air.log" >"$tmp/slow.out" 2>&1
rc=$?
check '[ $rc -eq 0 ]' "slow control clients: $(grep -c '^ok' "$tmp/slow.out") ok, $(grep '^FAILED' "$tmp/slow.out" | tr '\n' ' ')"
check 'grep -q "control client cut off: too many replies queued" "$tmp/roomd.log"' "the cut-off client is logged"
check 'kill -0 $roomd_pid' "roomd alive after the slow clients"
stop_roomd

# -- --set flags win over the database for this run ---------------------------------------------
start_roomd --set tx=5 --set guest.password=flagpw
out=$(ctl get tx); check '[ "$out" = "> 5" ]' "--set tx=5 over the database: '$out'"
out=$(ctl get guest.password); check '[ "$out" = "> flagpw" ]' "--set of a room key: '$out'"
stop_roomd
"$O/roomd" --data "$RD" --radio "tcp:127.0.0.1:$port" --set nonsense=1 </dev/null >/dev/null 2>&1
check '[ $? -eq 2 ]' "--set of an unknown key: exit 2"

# -- the config file lists every key ---------------------------------------------------------
for k in radio freq bw sf cr tx repeat af txdelay direct.txdelay flood.max flood.max.unscoped \
	flood.max.advert name password guest.password allow.read.only lat lon advert.interval \
	flood.advert.interval path.hash.mode multi.acks owner.info max.posts max.guests \
	max.members push.parallel keepalive.interval rxdelay int.thresh cad agc.reset.interval loop.detect \
	kiss.txdelay kiss.persistence kiss.slottime; do
	check 'grep -q "^#$k = " "$RD/roomd.conf"' "roomd.conf lists $k"
done
check 'grep -q "^#max.posts = 10000$" "$RD/roomd.conf"' "roomd.conf: max.posts default 10000"

echo "roomctl: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
