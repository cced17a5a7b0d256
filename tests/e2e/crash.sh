#!/usr/bin/env bash
# tests/e2e/crash.sh - crash durability: roomd killed with SIGKILL mid-burst,
# CRASH_ROUNDS times (default 10; 100 for the full run), every acknowledged post
# must be in the database afterwards (see tests/e2e/crash_test.py).
# Ends with "crash: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
for b in roomc roomd meshair; do
	if [ ! -x "$O/$b" ]; then
		echo "crash: $O/$b not built" >&2
		echo "crash: 0 passed, 1 failed"
		exit 1
	fi
done
exec env O="$O" python3 tests/e2e/crash_test.py
