#!/usr/bin/env bash
# tests/e2e/admin.sh - running roomd as an operator does (issue 14): one roomd
# per data directory, room keys never replaced, room.add and room.remove
# leaving the other rooms alone, frequencies kept in Hz, the setup guide's
# spellings, key prefixes, exit statuses and messages.
# Ends with "admin: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
. tests/e2e/lib.bash
e2e_need admin roomctl roomd meshair
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

"$O/meshair" --listen 127.0.0.1:0 -v >"$tmp/air.log" 2>&1 &
pids+=($!)
wait_for "$tmp/air.log" "listening on 127.0.0.1:" || bad "meshair started"
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/air.log" | head -n 1)

start_roomd() { # extra args...
	: >"$tmp/roomd.log"
	"$O/roomd" --data "$RD" --radio "tcp:127.0.0.1:$port" --name "Admin Room" "$@" \
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
check 'grep -Eq "^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z roomd: info roomd: ready:" "$tmp/roomd.log"' \
	"log lines have timestamps when stderr is not the journal"

# -- 1. one roomd per data directory ---------------------------------------------------
timeout 10 "$O/roomd" --data "$RD" --radio "tcp:127.0.0.1:$port" </dev/null >"$tmp/second.log" 2>&1
rc=$?
check '[ $rc -eq 3 ]' "a second roomd on the same DIR exits 3 (rc $rc)"
check 'grep -q "in use by another roomd (pid $roomd_pid)" "$tmp/second.log"' \
	"the second roomd names the holder's pid"
check '[ -S "$RD/control.sock" ]' "the first one's control.sock is still there"
out=$(ctl get name); check '[ "$out" = "> Admin Room" ]' "the first roomd still answers: '$out'"

# -- 2. a room key is never replaced: a key file without a database row is adopted ----------
key1=$(ctl get public.key)
stop_roomd
rm -f "$RD"/roomd.db "$RD"/roomd.db-wal "$RD"/roomd.db-shm
start_roomd; check '[ $? -eq 0 ]' "roomd starts without its database"
out=$(ctl get public.key); check '[ "$out" = "$key1" ]' "the room kept its key: '$out'"
check 'grep -q "room-1.id has no room in the database: adopted as room 1" "$tmp/roomd.log"' \
	"the adoption is logged"
stop_roomd
: >"$RD/roomd.db"; rm -f "$RD"/roomd.db-wal "$RD"/roomd.db-shm
start_roomd; check '[ $? -eq 0 ]' "roomd starts on an emptied database"
out=$(ctl get public.key); check '[ "$out" = "$key1" ]' "emptied database: the same key"

# -- 3. room.add touches nothing else; room.remove ------------------------------------------
ctl room.post "before the second room" >/dev/null
check 'grep -Eq "^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z roomd: info room: Admin Room: post [0-9]+ by [0-9a-f]{8}, 22 bytes$" "$tmp/roomd.log"' \
	"a post is logged (id, author, length) with a timestamp off the journal"
check '! grep -q "before the second room" "$tmp/roomd.log"' "the post's text is not logged"
out=$(ctl stats-room); check '[[ "$out" == *\"posts\":1,* ]]' "a post counted: '$out'"
out=$(ctl room.add Second); check '[ "$out" = "OK - 2 rooms" ]' "room.add: '$out'"
out=$(ctl stats-room); check '[[ "$out" == *\"posts\":1,* ]]' "room.add left room 0's counters: '$out'"
opened=$(grep -c "room 1 'Admin Room' key" "$tmp/roomd.log")
check '[ "$opened" -eq 1 ]' "room.add did not reopen room 0 (opened $opened times)"
key2=$(ctl --room Second get public.key)
out=$(ctl room.remove Second)
check '[ "$out" = "OK - room '\''Second'\'' removed with its posts, members and settings; its key is kept in room-2.id.removed" ]' \
	"room.remove: '$out'"
check '[ -f "$RD/room-2.id.removed" ] && [ ! -e "$RD/room-2.id" ]' "room.remove keeps the key file aside"
out=$(ctl room.remove 0); rc=$?
check '[ $rc -eq 1 ] && [ "$out" = "Err - the last room cannot be removed" ]' "the last room stays: '$out'"
out=$(ctl room.remove Nope); rc=$?
check '[ $rc -eq 1 ] && [[ "$out" == "Err - no such room"* ]]' "room.remove of no room: '$out'"
stop_roomd
start_roomd
out=$(ctl rooms); check '[ $(echo "$out" | wc -l) -eq 1 ]' "a removed room stays removed after a restart"

# -- 4. frequencies in Hz, as typed; the radio logged at start, a change of channel said -------
check 'grep -q "radio tcp:127.0.0.1:$port: 869.618,62.5,8,5 (MHz,kHz,SF,CR), 22 dBm" "$tmp/roomd.log"' \
	"the radio settings are logged at start"
out=$(ctl set freq 869.525)
check '[ "$out" = "OK - reboot to apply: 869.525,62.5,8,5; the room is on 869.618,62.5,8,5 now, members there will not hear it" ]' \
	"set freq says the room leaves its channel: '$out'"
out=$(ctl set freq 869.618)
check '[ "$out" = "OK - reboot to apply" ]' "set freq back: '$out'"
out=$(ctl get freq); check '[ "$out" = "> 869.618" ]' "get freq as typed: '$out'"
ctl set freq 910.525 >/dev/null
stop_roomd
start_roomd
out=$(ctl get freq); check '[ "$out" = "> 910.525" ]' "after a restart: '$out'"
check 'grep -q "radio settings changed since the last run (were 869.618,62.5,8,5, now 910.525,62.5,8,5)" "$tmp/roomd.log"' \
	"the next start says the channel changed"
ctl set freq 869.618 >/dev/null
stop_roomd
start_roomd
check '! grep -q "changed since the last run" "$tmp/roomd.log" || grep -q "now 869.618," "$tmp/roomd.log"' \
	"back on the first channel"

# -- backup: the room keys go with the database, never over a different key ---------------------
mkdir -p "$tmp/bk" && head -c 96 /dev/urandom >"$tmp/bk/room-1.id"
cp "$tmp/bk/room-1.id" "$tmp/other.id"
out=$(ctl backup "$tmp/bk/roomd.db")
check '[ "$out" = "OK - backup written to $tmp/bk/roomd.db; keys none copied beside it; NOT copied: room-1.id (see the log)" ]' \
	"backup says which key it did not copy: '$out'"
check 'cmp -s "$tmp/bk/room-1.id" "$tmp/other.id"' "a different key file beside the backup is left alone"
rm "$tmp/bk/room-1.id"
out=$(ctl backup "$tmp/bk/roomd.db")
check '[ "$out" = "OK - backup written to $tmp/bk/roomd.db; with the room keys beside it (room-1.id): keep them secret" ]' \
	"backup copies the key: '$out'"
check 'cmp -s "$tmp/bk/room-1.id" "$RD/room-1.id"' "the key beside the backup is the room's"

# -- the programs' options ----------------------------------------------------------------
for p in roomd roomctl; do
	"$O/$p" --bogus >"$tmp/opt.out" 2>"$tmp/opt.err"; rc=$?
	check '[ $rc -eq 2 ] && [ ! -s "$tmp/opt.out" ] && [ $(wc -l <"$tmp/opt.err") -le 2 ]' \
		"$p --bogus: exit 2, at most two lines (rc $rc, $(wc -l <"$tmp/opt.err") lines)"
	check 'grep -q -- "--bogus" "$tmp/opt.err" && grep -q "$p --help" "$tmp/opt.err"' \
		"$p --bogus names the option and the hint"
	out=$("$O/$p" --version); rc=$?
	check '[ $rc -eq 0 ] && [[ "$out" == "$p "[0-9]* ]]' "$p --version: '$out'"
done

# -- roomctl --json: a JSON reply is JSON ------------------------------------------------------
out=$(ctl --json stats-room)
check 'python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert isinstance(d[\"reply\"], dict) and \"posts\" in d[\"reply\"]" "$out"' \
	"--json stats-room: the reply is an object: $out"
out=$(ctl --json get name)
check '[ "$out" = "{\"command\":\"get name\",\"ok\":true,\"reply\":\"> Admin Room\"}" ]' \
	"--json get name: the reply stays a string: $out"

# -- room keys edited in roomd.conf after the first start: said at start ----------------------
stop_roomd
cp "$RD/roomd.conf" "$tmp/conf.orig"
printf 'name = Renamed Room\nmax.posts = 500\nguest.password = fromfile\n' >>"$RD/roomd.conf"
start_roomd
check 'grep -q "roomd.conf: name = Renamed Room does not apply to room 0 .Admin Room., which has Admin Room of its own" "$tmp/roomd.log"' \
	"an overridden name in roomd.conf is said at start"
check 'grep -q "max.posts = 500 does not apply to room 0" "$tmp/roomd.log"' "an overridden max.posts too"
check 'grep -q "guest.password = \*\*\* does not apply" "$tmp/roomd.log" && ! grep -q fromfile "$tmp/roomd.log"' \
	"a password is said, never shown"
stop_roomd
cp "$tmp/conf.orig" "$RD/roomd.conf"
start_roomd

# -- a corrupt database: a distinct exit status that the unit does not restart on ----------
mkdir -p "$tmp/bad" && head -c 8192 /dev/urandom >"$tmp/bad/roomd.db"
timeout 10 "$O/roomd" --data "$tmp/bad" --radio "tcp:127.0.0.1:$port" </dev/null >"$tmp/bad.log" 2>&1
rc=$?
check '[ $rc -eq 4 ]' "a corrupt database: exit 4 (rc $rc)"
check 'grep -q "restore .* from a backup" "$tmp/bad.log"' "a corrupt database: says what to do"
JOURNAL_STREAM=8:1 timeout 10 "$O/roomd" --data "$tmp/bad" --radio "tcp:127.0.0.1:$port" \
	</dev/null >"$tmp/bad.log" 2>&1
check 'grep -q "^roomd: error roomd: " "$tmp/bad.log"' "under the journal: no timestamps of our own"
check 'grep -q "^RestartPreventExitStatus=.*\b4\b" contrib/roomd.service' \
	"roomd.service does not restart on exit 4"

echo "admin: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
