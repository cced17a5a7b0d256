#!/usr/bin/env bash
# bench/catchup_meshair.sh - the real-time catch-up benchmark (issue 7): meshair, roomd and
# roomc as real processes; see bench/catchup_meshair.py.  Arguments are passed on, e.g.
#   bench/catchup_meshair.sh --quick            (about a minute)
#   bench/catchup_meshair.sh --jobs 4 --out catchup.tsv   (the full run, about 40 minutes)
# Prints figures; exits non-zero only if the benchmark could not run.
set -eu
cd "$(dirname "$0")/.."
O=${O:-build}
for b in meshair roomd roomc; do
	if [ ! -x "$O/$b" ]; then
		echo "catchup_meshair: $O/$b not built (make)" >&2
		exit 1
	fi
done
exec nice -n 10 python3 bench/catchup_meshair.py --build "$O" "$@"
