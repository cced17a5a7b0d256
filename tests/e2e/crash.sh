#!/usr/bin/env bash
# tests/e2e/crash.sh - crash durability: roomd killed with SIGKILL mid-burst,
# CRASH_ROUNDS times (default 10; 100 for the full run), every acknowledged post
# must be in the database afterwards (see tests/e2e/crash_test.py).
# Ends with "crash: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
. tests/e2e/lib.bash
e2e_python crash
