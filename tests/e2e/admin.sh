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

# -- a corrupt database: a distinct exit status that the unit does not restart on ----------
mkdir -p "$tmp/bad" && head -c 8192 /dev/urandom >"$tmp/bad/roomd.db"
timeout 10 "$O/roomd" --data "$tmp/bad" --radio "tcp:127.0.0.1:$port" </dev/null >"$tmp/bad.log" 2>&1
rc=$?
check '[ $rc -eq 4 ]' "a corrupt database: exit 4 (rc $rc)"
check 'grep -q "restore .* from a backup" "$tmp/bad.log"' "a corrupt database: says what to do"
check 'grep -q "^RestartPreventExitStatus=.*\b4\b" contrib/roomd.service' \
	"roomd.service does not restart on exit 4"

echo "admin: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
