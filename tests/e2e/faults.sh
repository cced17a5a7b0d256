#!/usr/bin/env bash
# tests/e2e/faults.sh - roomd on meshair when meshair (the modem) is killed and
# started again: roomd reconnects and resumes (see tests/e2e/faults_test.py).
# Ends with "faults: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
for b in roomc roomd meshair; do
	if [ ! -x "$O/$b" ]; then
		echo "faults: $O/$b not built" >&2
		echo "faults: 0 passed, 1 failed"
		exit 1
	fi
done
exec env O="$O" python3 tests/e2e/faults_test.py
