#!/usr/bin/env bash
# tests/e2e/web.sh - roomd's web page in headless Chromium with meshair, roomd and two roomc
# (see tests/e2e/web_test.py).  Ends with "web: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
. tests/e2e/lib.bash
e2e_need web roomc roomd meshair
# Debian's python3-selenium and python3-prometheus-client live in the system python
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
exec env O="$O" "$PY" tests/e2e/web_test.py
