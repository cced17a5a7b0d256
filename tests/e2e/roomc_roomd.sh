#!/usr/bin/env bash
# tests/e2e/roomc_roomd.sh - roomc --json against the real roomd on meshair, over
# 127.0.0.1 (see tests/e2e/roomc_roomd_test.py).  Ends with "roomc_roomd: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
. tests/e2e/lib.bash
e2e_python roomc_roomd
