#!/usr/bin/env bash
# tests/e2e/stories.sh - user stories with real processes: roomd, roomc and
# meshair over 127.0.0.1 (see tests/e2e/stories_test.py and world.py).
# Ends with "stories: N passed, N failed".  KEEP=1 keeps the run's directory
# (logs, data, meshair trace).
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
. tests/e2e/lib.bash
e2e_python stories
