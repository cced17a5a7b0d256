# shellcheck shell=bash
# tests/e2e/lib.bash - what the tests/e2e/*.sh scripts share; sourced from the
# top of the tree with O set (tests/run runs only the *.sh files):
#   e2e_need NAME PROG...  ends the script with "NAME: 0 passed, 1 failed"
#                          unless every $O/PROG is built;
#   e2e_python NAME        runs tests/e2e/NAME_test.py (which prints the
#                          line) once roomc, roomd and meshair are built;
#   e2e_begin              a temporary directory $tmp, the processes in
#                          $pids killed at exit, and the counters behind
#                          ok, bad MESSAGE and check 'TEST' MESSAGE.

e2e_need() { # name program...
	local name=$1 b
	shift
	for b in "$@"; do
		if [ ! -x "$O/$b" ]; then
			echo "$name: $O/$b not built" >&2
			echo "$name: 0 passed, 1 failed"
			exit 1
		fi
	done
}

e2e_python() { # name
	e2e_need "$1" roomc roomd meshair
	exec env O="$O" python3 "tests/e2e/$1_test.py"
}

e2e_cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$tmp"
}

e2e_begin() {
	tmp=$(mktemp -d)
	pids=()
	trap e2e_cleanup EXIT INT TERM
	pass=0 fail=0
}

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAILED: $*" >&2; }
check() { if eval "$1"; then ok; else bad "$2"; fi; }
