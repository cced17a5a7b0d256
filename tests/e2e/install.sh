#!/usr/bin/env bash
# tests/e2e/install.sh - `make install` into a staging directory: every
# program installed, each answering --help with exit 0 and a manual page's
# sections on stdout, and the systemd unit pointing at the installed roomd.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.bash
O=${O:-build}
progs=(roomd roomc roomctl meshair kissprobe)
e2e_need install "${progs[@]}"
e2e_begin

dest=$tmp/stage
make --no-print-directory -s install O="$O" DESTDIR="$dest" PREFIX=/opt/roomd \
	UNITDIR=/lib/systemd/system >"$tmp/make.log" 2>&1
check '[ $? -eq 0 ]' "make install: $(tail -n 5 "$tmp/make.log")"
for p in "${progs[@]}"; do
	bin=$dest/opt/roomd/bin/$p
	check '[ -x "$bin" ]' "$p installed"
	out=$("$bin" --help 2>/dev/null); rc=$?
	check '[ $rc -eq 0 ]' "$p --help exits 0 (got $rc)"
	for sec in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES; do
		check 'grep -q "^$sec\$" <<<"$out"' "$p --help has a $sec section (on stdout)"
	done
	"$bin" --no-such-option </dev/null >/dev/null 2>&1; rc=$?
	check '[ $rc -eq 2 ]' "$p with a bad option exits 2 (got $rc)"
done

unit=$dest/lib/systemd/system/roomd.service
check '[ -f "$unit" ]' "unit installed"
check 'grep -q "^ExecStart=/opt/roomd/bin/roomd --data /var/lib/roomd --radio \${ROOMD_RADIO}$" "$unit"' \
	"unit: ExecStart names the installed roomd"
check '! grep -q "@BINDIR@" "$unit"' "unit: no placeholder left"
check 'grep -q "^Environment=ROOMD_RADIO=serial:" "$unit"' "unit: the radio in one place"
check 'grep -q "^StateDirectory=roomd$" "$unit"' "unit: /var/lib/roomd as its state directory"
check 'grep -q "^RestartPreventExitStatus=2 4$" "$unit"' \
	"unit: no restart loop on a bad config (2) or a corrupt database (4)"
check '[ "$(stat -c %a "$unit")" = 644 ]' "unit mode 644"

echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
