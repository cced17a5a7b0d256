#!/usr/bin/env bash
# tests/e2e/restart_push.sh - a roomd restart is invisible to members (issue 18): roomd
# killed with SIGKILL around a member's ACK, RESTART_ROUNDS times (default 3); after each
# restart a post made by another member reaches the members who have not transmitted
# since, and no member is shown a post twice (see tests/e2e/restart_push_test.py).
# Ends with "restart_push: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
. tests/e2e/lib.bash
e2e_python restart_push
