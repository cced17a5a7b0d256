#!/usr/bin/env bash
# tests/e2e/perms.sh - the data directory is private (issue 13.11): started with
# the usual umask 022, roomd creates its directory 0700 and every file in it
# (database, WAL, SHM, roomd.conf, identity, packet log) and a backup 0600,
# also inside an existing 0755 directory, and warns at start about a directory
# or a file others can read.  Ends with "perms: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
. tests/e2e/lib.bash
e2e_need perms roomctl roomd meshair
e2e_begin
umask 022

wait_for() { # file pattern
	for _ in $(seq 200); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}
mode() { stat -c %a "$1"; }

"$O/meshair" --listen 127.0.0.1:0 -v >"$tmp/air.log" 2>&1 &
pids+=($!)
wait_for "$tmp/air.log" "listening on 127.0.0.1:" || bad "meshair started"
port=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/air.log" | head -n 1)

start_roomd() { # dir
	: >"$tmp/roomd.log"
	"$O/roomd" --data "$1" --radio "tcp:127.0.0.1:$port" --name "Perm Room" \
		</dev/null >>"$tmp/roomd.log" 2>&1 &
	roomd_pid=$!
	pids+=($roomd_pid)
	wait_for "$tmp/roomd.log" "ready:" && [ -S "$1/control.sock" ]
}
stop_roomd() {
	kill "$roomd_pid" 2>/dev/null
	wait "$roomd_pid" 2>/dev/null
}
files_private() { # dir: every entry 0600
	local f bad=0
	for f in "$1"/* "$1"/.[!.]*; do
		[ -e "$f" ] || continue
		if [ "$(mode "$f")" != 600 ]; then
			echo "  $f is $(mode "$f")" >&2
			bad=1
		fi
	done
	return $bad
}

# -- a new data directory -----------------------------------------------------------
RD=$tmp/new
start_roomd "$RD"; check '[ $? -eq 0 ]' "roomd started"
"$O/roomctl" -d "$RD" log start >/dev/null
"$O/roomctl" -d "$RD" post hello >/dev/null
"$O/roomctl" -d "$RD" backup "$tmp/backup.db" >/dev/null
check '[ "$(mode "$RD")" = 700 ]' "new data directory is $(mode "$RD"), not 700"
check '[ -e "$RD/roomd.db-wal" ]' "the WAL exists while running"
check 'files_private "$RD"' "every file of a new data directory 0600"
check '[ "$(mode "$tmp/backup.db")" = 600 ]' "backup is $(mode "$tmp/backup.db"), not 600"
check '! grep -q "other users" "$tmp/roomd.log"' "no warning for a private directory"
stop_roomd

# -- an existing 0755 directory, with a 0644 file in it -----------------------------
RD=$tmp/old
mkdir -m 755 "$RD"
echo "# my settings" >"$RD/roomd.conf"
chmod 644 "$RD/roomd.conf"
start_roomd "$RD"; check '[ $? -eq 0 ]' "roomd started in an existing directory"
"$O/roomctl" -d "$RD" log start >/dev/null
check 'grep -q "$RD is mode 0755: other users" "$tmp/roomd.log"' "warns about the 0755 directory"
check 'grep -q "$RD/roomd.conf is mode 0644: other users" "$tmp/roomd.log"' "warns about the 0644 file"
chmod 600 "$RD/roomd.conf"
check 'files_private "$RD"' "every file roomd made in a 0755 directory 0600"
stop_roomd

echo "perms: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
