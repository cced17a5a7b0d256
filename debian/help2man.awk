# debian/help2man.awk - a program's --help as a manual page.
#
# Every roomd program prints its help in the layout of a manual page:
# section names alone in capitals at column 0 (NAME, SYNOPSIS, DESCRIPTION,
# OPTIONS, ..., EXIT STATUS, EXAMPLES), their text indented by 4 spaces.
# This keeps the layout (.nf) and makes NAME a whatis line ("prog \- what").
#   awk -v prog=roomd -v version=0.1.0 -v date=2026-12-07 -f help2man.awk
BEGIN {
	printf ".TH %s 1 \"%s\" \"roomd %s\" \"User Commands\"\n", toupper(prog), date, version
	sec = ""
	nf = 0
}
function roff(s) {
	gsub(/\\/, "\\e", s)
	if (s ~ /^[.']/)
		s = "\\&" s
	return s
}
/^[A-Z][A-Z ]*[A-Z]$/ {
	if (nf) print ".fi"
	nf = 0
	sec = $0
	print ".SH " $0
	next
}
sec == "NAME" {
	if ($0 ~ /^[ \t]*$/) next
	line = $0
	sub(/^[ \t]+/, "", line)
	sub(/ - /, " \\- ", line)
	print line
	next
}
sec != "" {
	if (!nf) { print ".nf"; nf = 1 }
	line = $0
	sub(/^    /, "", line)
	print roff(line)
}
END { if (nf) print ".fi" }
