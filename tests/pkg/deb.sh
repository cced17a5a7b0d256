#!/usr/bin/env bash
# tests/pkg/deb.sh - the Debian package (issue 14), run by scripts/check (not
# by tests/run: it builds the programs again, without sanitizers):
#   make deb builds it and lintian reports no error;
#   unpacked into a throw-away root (dpkg -x): the five programs, their
#   manual pages, the systemd unit naming /usr/bin/roomd and not enabled;
#   roomd --version from that root names the version of debian/changelog,
#   which is src/util/version.h's;
#   the maintainer scripts, run with stand-ins for adduser, getent, install
#   and deb-systemd-helper: a roomd system user in dialout, /var/lib/roomd
#   mode 0700 owned by it, nothing redone on a second run, data kept on purge.
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.bash
e2e_begin
for t in dpkg-buildpackage dh lintian; do
	if ! command -v "$t" >/dev/null; then
		echo "deb: $t missing (scripts/deps installs it)" >&2
		echo "deb: 0 passed, 1 failed"
		exit 1
	fi
done

out=$tmp/deb
make --no-print-directory -s deb DEB_OUT="$out" >"$tmp/make.log" 2>&1
rc=$?
check '[ $rc -eq 0 ]' "make deb: $(tail -n 20 "$tmp/make.log")"
deb=$(ls "$out"/roomd_*.deb 2>/dev/null | head -n 1)
check '[ -f "$deb" ]' "a .deb was built"
check '! grep -q "^E: " "$out/lintian.txt"' "lintian: no error: $(grep '^E: ' "$out/lintian.txt" | head -n 5)"
[ -f "$deb" ] || { echo "deb: $pass passed, $fail failed"; exit 1; }

version=$(sed -n 's/^#define ROOMD_VERSION "\(.*\)"$/\1/p' src/util/version.h)
cl=$(dpkg-parsechangelog -l debian/changelog -S Version)
check '[ "$cl" = "$version" ] || [[ "$cl" == "$version"-* ]]' \
	"debian/changelog ($cl) is src/util/version.h's version ($version)"
check '[ "$(dpkg-deb -f "$deb" Version)" = "$cl" ]' "the package carries it"

root=$tmp/root
dpkg -x "$deb" "$root"
for p in roomd roomctl roomc kissprobe meshair; do
	check '[ -x "$root/usr/bin/$p" ]' "/usr/bin/$p installed"
	check '[ -f "$root/usr/share/man/man1/$p.1.gz" ]' "$p.1 manual page installed"
	check 'zcat "$root/usr/share/man/man1/$p.1.gz" | grep -q "^$p \\\\- "' "$p.1 has a whatis line"
	out=$("$root/usr/bin/$p" --version 2>&1); rc=$?
	check '[ $rc -eq 0 ] && [[ "$out" == "$p $version"* ]]' "$p --version from the package: '$out'"
done
unit=$root/lib/systemd/system/roomd.service
check '[ -f "$unit" ]' "systemd unit installed"
check 'grep -q "^ExecStart=/usr/bin/roomd --data /var/lib/roomd " "$unit"' "unit: ExecStart names /usr/bin/roomd"
check 'grep -q "^User=roomd$" "$unit" && grep -q "^SupplementaryGroups=dialout$" "$unit"' "unit: runs as roomd, in dialout"
check '[ ! -e "$root/etc/systemd/system/multi-user.target.wants/roomd.service" ]' "unit not enabled by the package"
check 'MANWIDTH=80 man -l "$root/usr/share/man/man1/roomd.1.gz" 2>&1 | grep -q "EXIT STATUS"' "man renders roomd.1"

# the maintainer scripts, with stand-ins that log what they are asked
ctl=$tmp/ctl
dpkg-deb -e "$deb" "$ctl"
check 'sh -n "$ctl/postinst" && sh -n "$ctl/postrm"' "maintainer scripts parse"
stub=$tmp/stub
mkdir -p "$stub"
log=$tmp/calls
for c in adduser install deb-systemd-helper systemctl; do
	printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$c" "$log" >"$stub/$c"
	chmod +x "$stub/$c"
done
# getent: the user exists once adduser has made it; dialout always does
cat >"$stub/getent" <<STUB
#!/bin/sh
case "\$1 \$2" in
"group dialout") echo "dialout:x:20:"; exit 0 ;;
"passwd roomd") grep -q "^adduser --system" "$log" 2>/dev/null && { echo "roomd:x:999:999::/var/lib/roomd:/usr/sbin/nologin"; exit 0; }; exit 2 ;;
esac
exit 2
STUB
chmod +x "$stub/getent"
# a first installation: the unit was never enabled
printf '#!/bin/sh\necho "deb-systemd-helper $*" >>"%s"\ncase "$*" in *was-enabled*) exit 1 ;; esac\n' \
	"$log" >"$stub/deb-systemd-helper"
: >"$log"
PATH=$stub:$PATH sh "$ctl/postinst" configure ""; rc=$?
check '[ $rc -eq 0 ]' "postinst configure exits 0 (got $rc)"
check 'grep -q "^adduser --system --group --home /var/lib/roomd .*roomd$" "$log"' \
	"postinst creates the roomd system user: $(grep adduser "$log" | head -n 1)"
check 'grep -q "^adduser roomd dialout$" "$log"' "postinst puts roomd in dialout"
if [ -d /var/lib/roomd ]; then
	ok # this machine has one: it is kept as it is
else
	check 'grep -q "^install -d -o roomd -g roomd -m 0700 /var/lib/roomd$" "$log"' \
		"postinst makes /var/lib/roomd, mode 0700, owned by roomd"
fi
check '! grep -q "deb-systemd-helper enable" "$log" && ! grep -q "systemctl.*start" "$log"' \
	"postinst neither enables nor starts the unit"
PATH=$stub:$PATH sh "$ctl/postinst" configure "$version"
check '[ "$(grep -c "^adduser --system" "$log")" -eq 1 ]' "a second configure makes no second user"
: >"$log"
PATH=$stub:$PATH sh "$ctl/postrm" purge 2>"$tmp/purge.err"; rc=$?
check '[ $rc -eq 0 ] && ! grep -q "rm \|deluser\|userdel" "$log"' "purge keeps the data and the user"

echo "deb: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
