#!/usr/bin/env bash
# tests/e2e/programs.sh - what every program shares on its command line
# (issue 14): --version prints the one version of src/util/version.h; a bad
# option is one line and a hint, exit 2, not the manual; kissprobe takes MHz
# and kHz as roomd and roomc do, and its exit codes are the ones its help
# promises.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.bash
O=${O:-build}
progs=(roomd roomc roomctl meshair kissprobe)
mine=(roomc meshair kissprobe) # roomd and roomctl: see their own tests
e2e_need programs "${progs[@]}"
e2e_begin

version=$(sed -n 's/^#define ROOMD_VERSION "\(.*\)"$/\1/p' src/util/version.h)
check '[ -n "$version" ]' "src/util/version.h defines ROOMD_VERSION"
for p in "${progs[@]}"; do
	out=$("$O/$p" --version 2>"$tmp/err"); rc=$?
	check '[ $rc -eq 0 ]' "$p --version exits 0 (got $rc)"
	check '[[ "$out" == "$p $version"* ]]' "$p --version prints '$p $version' (got '$out')"
	check '[ "$(wc -l <<<"$out")" -eq 1 ] && [ ! -s "$tmp/err" ]' "$p --version: one line"
done
for p in "${mine[@]}"; do
	"$O/$p" --no-such-option </dev/null >"$tmp/out" 2>"$tmp/err"; rc=$?
	check '[ $rc -eq 2 ]' "$p with a bad option exits 2 (got $rc)"
	check '[ ! -s "$tmp/out" ]' "$p with a bad option prints nothing on stdout"
	check '[ "$(wc -l <"$tmp/err")" -le 2 ]' "$p with a bad option: at most two lines, not the manual ($(wc -l <"$tmp/err") lines)"
	check 'grep -q -- "--no-such-option" "$tmp/err" && grep -q -- "--help" "$tmp/err"' \
		"$p with a bad option names it and points to --help: $(cat "$tmp/err")"
done

# kissprobe: MHz and kHz as roomd and roomc (Hz is refused with the unit named)
"$O/kissprobe" --set --freq 869618000 tcp:127.0.0.1:1 >/dev/null 2>"$tmp/err"; rc=$?
check '[ $rc -eq 2 ] && grep -q "MHz" "$tmp/err"' "kissprobe --freq in Hz refused, MHz named (rc $rc)"
"$O/kissprobe" --help >"$tmp/help"
check 'grep -q -- "--freq MHZ" "$tmp/help" && grep -q -- "--bw KHZ" "$tmp/help"' "kissprobe --help: MHz, kHz"
# a missing device: exit 1 as the help says (not 2), within the timeout
start=$(date +%s)
"$O/kissprobe" --timeout 700 serial:"$tmp/no-such-tty" >"$tmp/out" 2>"$tmp/err"; rc=$?
check '[ $rc -eq 1 ]' "kissprobe on a missing device exits 1 (got $rc)"
check 'grep -q "could not be opened" "$tmp/help" && grep -q "^    0 the modem answered; 1 no modem" "$tmp/help"' \
	"kissprobe --help: exit 1 covers a device that cannot be opened"
check '[ $(( $(date +%s) - start )) -lt 30 ]' "kissprobe gives up at its timeout"

# and the units reach the modem: --set --freq 869.525 --bw 250 on meshair
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$O/meshair" --listen 127.0.0.1:"$port" >"$tmp/air.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done
"$O/kissprobe" --set --freq 869.525 --bw 250 --sf 11 tcp:127.0.0.1:"$port" >"$tmp/probe.json" 2>"$tmp/err"; rc=$?
check '[ $rc -eq 0 ]' "kissprobe on meshair exits 0 (got $rc: $(cat "$tmp/err"))"
check 'grep -q "\"freq_hz\": 869525000" "$tmp/probe.json" && grep -q "\"freq_mhz\": 869.525" "$tmp/probe.json"' \
	"kissprobe --freq 869.525 set 869525000 Hz: $(grep radio "$tmp/probe.json")"
check 'grep -q "\"bw_hz\": 250000" "$tmp/probe.json"' "kissprobe --bw 250 set 250 kHz"

echo "programs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
