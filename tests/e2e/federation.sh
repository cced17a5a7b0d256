#!/usr/bin/env bash
# tests/e2e/federation.sh - one room across three sites over MQTT: a real
# mosquitto on a free loopback port (see tests/e2e/federation_test.py).
# FED_PARTITION_S sets how long the broker stays down (default 300 s).
# Ends with "federation: N passed, N failed".
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
. tests/e2e/lib.bash
if ! command -v mosquitto >/dev/null; then
	echo "federation: mosquitto not installed (scripts/deps)" >&2
	echo "federation: 0 passed, 1 failed"
	exit 1
fi
e2e_python federation
