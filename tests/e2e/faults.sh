#!/usr/bin/env bash
# tests/e2e/faults.sh - roomd on meshair when meshair (the modem) is killed and
# started again: roomd reconnects and resumes (see tests/e2e/faults_test.py).
# Ends with "faults: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
. tests/e2e/lib.bash
e2e_python faults
