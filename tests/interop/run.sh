#!/usr/bin/env bash
# tests/interop/run.sh - roomd and roomc against the upstream v1.17.1 firmware itself
# (issue 12.6).  NOT part of CI: it needs the upstream sources.
#
# Finds the reference peer (up_roomd, up_client: the upstream room server and chat
# client compiled natively, /work/shared/refpeer/README.txt) in $UP_BIN_DIR, else
# /work/refpeer-build, else builds it with the refpeer's build.sh from bare git clones
# named by MESHCORE_GIT and ARDUINOLIBS_GIT into $TMPDIR/refpeer-build; then runs
# tests/interop/interop.py on meshair, firmware nodes with the `firmware' CSMA profile.
#
#   tests/interop/run.sh [interop.py options]   e.g. --rounds 5 --keep
#
# Environment: O (build dir of roomd/roomc/meshair, default build), UP_BIN_DIR,
# REFPEER_DIR (default /work/shared/refpeer), MESHCORE_GIT, ARDUINOLIBS_GIT.
# Prints a summary; exit 0 if every check passed, 1 if one failed, 2 if it cannot run.
set -u
cd "$(dirname "$0")/../.."
O=${O:-build}
REFPEER_DIR=${REFPEER_DIR:-/work/shared/refpeer}

have_peer() { [ -x "$1/up_roomd" ] && [ -x "$1/up_client" ]; }

if [ -n "${UP_BIN_DIR:-}" ] && have_peer "$UP_BIN_DIR"; then
	peer=$UP_BIN_DIR
elif have_peer /work/refpeer-build; then
	peer=/work/refpeer-build
else
	peer=${TMPDIR:-/tmp}/refpeer-build
	if ! have_peer "$peer"; then
		if [ -z "${MESHCORE_GIT:-}" ] || [ -z "${ARDUINOLIBS_GIT:-}" ]; then
			echo "interop: no reference peer; set UP_BIN_DIR, or MESHCORE_GIT and" \
				"ARDUINOLIBS_GIT (bare clones of MeshCore and arduinolibs) to build it" >&2
			exit 2
		fi
		echo "interop: building the reference peer into $peer" >&2
		MESHCORE_GIT=$MESHCORE_GIT ARDUINOLIBS_GIT=$ARDUINOLIBS_GIT \
			bash "$REFPEER_DIR/build.sh" "$peer" >&2 || exit 2
	fi
fi
for p in meshair roomd roomc; do
	[ -x "$O/$p" ] || { echo "interop: $O/$p missing (make)" >&2; exit 2; }
done
exec python3 tests/interop/interop.py --peer "$peer" --build "$O" "$@"
