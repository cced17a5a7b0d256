#!/usr/bin/env bash
# tests/e2e/demo.sh - scripts/demo and a port that is taken (issue 14): with
# PORT given it stops at once with a message naming the port; without, it
# takes the next free pair and says which.  (DEMO_PORTS_ONLY: no build.)
set -u
cd "$(dirname "$0")/../.."
. tests/e2e/lib.bash
O=${O:-build}
e2e_begin

# a listener on a free port pair's first port
python3 - "$tmp/port" <<'PY' &
import socket, sys, time
for base in range(20000, 60000, 2):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", base))
        t = socket.socket(); t.bind(("127.0.0.1", base + 1)); t.close()
    except OSError:
        s.close(); continue
    s.listen(1)
    open(sys.argv[1], "w").write(str(base))
    time.sleep(60)
    break
PY
pids+=($!)
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port")

out=$(PORT=$port DEMO_PORTS_ONLY=1 timeout 20 scripts/demo 2>"$tmp/err"); rc=$?
check '[ $rc -ne 0 ]' "PORT=$port (taken): the demo stops (rc $rc, out '$out')"
check 'grep -q "port $port .*taken" "$tmp/err"' "the message names the taken port: $(cat "$tmp/err")"

out=$(DEMO_DEFAULT_PORT=$port DEMO_PORTS_ONLY=1 timeout 20 scripts/demo 2>"$tmp/err"); rc=$?
check '[ $rc -eq 0 ]' "no PORT: the demo goes on (rc $rc)"
check '[[ "$out" == "channel 127.0.0.1:$((port + 2)) "* ]]' "the next free pair is used: '$out'"
check 'grep -q "port $port is taken.*using $((port + 2))" "$tmp/err"' "and it says so: $(cat "$tmp/err")"
check '[[ "$out" =~ " web http://127.0.0.1:"[0-9]+"/" ]]' "the web page's URL is printed: '$out'"
check 'grep -q "^web: *http://127.0.0.1:\$HTTP/" scripts/demo' "the banner has the URL"

echo "demo: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
