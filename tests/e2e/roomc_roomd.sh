#!/usr/bin/env bash
# tests/e2e/roomc_roomd.sh - roomc --json against the real roomd on meshair, over
# 127.0.0.1 (see tests/e2e/roomc_roomd_test.py).  Ends with "roomc_roomd: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
for b in roomc roomd meshair; do
	if [ ! -x "$O/$b" ]; then
		echo "roomc_roomd: $O/$b not built" >&2
		echo "roomc_roomd: 0 passed, 1 failed"
		exit 1
	fi
done
exec env O="$O" python3 tests/e2e/roomc_roomd_test.py
