#!/usr/bin/env bash
# tests/e2e/json.sh - text with an emoji and invalid bytes through every
# program's JSON output (see tests/e2e/json_test.py).  Ends with
# "json: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
. tests/e2e/lib.bash
e2e_need json kissprobe roomctl
e2e_python json
