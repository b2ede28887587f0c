#!/usr/bin/env bash
# packaging/turnstone.service as written: its ExecStart line, with the
# built binary and a test configuration (loopback, random ports) put in
# place of /usr/bin/turnstone and /etc/turnstone/turnstone.conf, runs the
# daemon; with NOTIFY_SOCKET set (a python AF_UNIX datagram listener) it
#   - serves (a Binding and an Allocate work) after READY=1;
#   - says RELOADING=1 with MONOTONIC_USEC, then READY=1, on SIGHUP;
#   - says STOPPING=1 on SIGTERM and exits 0.
# Also `systemd-analyze verify` of the unit when the tool is there.
#
#   bash test_systemd_unit.sh /path/to/turnstone     (ctest)
TS_NAME=systemd_unit
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || exit 0
export PYTHONDONTWRITEBYTECODE=1
unit=$TS_SRC/packaging/turnstone.service

exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
read -r -a cmd <<<"$exec_start"
if [ "${cmd[0]}" = /usr/bin/turnstone ] && [ "${cmd[*]: -1}" = /etc/turnstone/turnstone.conf ]; then
	ts_pass "ExecStart runs /usr/bin/turnstone with /etc/turnstone/turnstone.conf"
else
	ts_fail "ExecStart runs /usr/bin/turnstone with /etc/turnstone/turnstone.conf" "$exec_start"
	ts_finish
fi
grep -qx 'Type=notify' "$unit" && ts_pass "unit is Type=notify" || ts_fail "unit is Type=notify"

port=$(ts_pick_port) || exit 1
ts_pick_relay_range || exit 1
conf=$TS_TMP/turnstone.conf
cat >"$conf" <<CONF
listening-ip=127.0.0.1
listening-port=$port
relay-ip=127.0.0.1
min-port=$TS_MINP
max-port=$TS_MAXP
realm=test
user=alice:alicepw
CONF
cmd[0]=$TS_BIN
cmd[${#cmd[@]}-1]=$conf

# The notify listener: one line per datagram, newlines shown as '|'.
sock=$TS_TMP/notify.sock
events=$TS_TMP/notify.log
cat >"$TS_TMP/notify.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(1.0)
end = time.monotonic() + 60
with open(sys.argv[2], "a") as out:
    while time.monotonic() < end:
        try:
            d = s.recv(4096)
        except socket.timeout:
            continue
        out.write(d.decode("utf-8", "replace").replace("\n", "|") + "\n")
        out.flush()
PY
: >"$events"
ts_bg "$TS_PY" "$TS_TMP/notify.py" "$sock" "$events"
for ((i = 0; i < 50; i++)); do [ -S "$sock" ] && break; sleep 0.1; done

# wait_event REGEX COUNT: until COUNT lines of the notify log match (10 s).
wait_event() {
	local i
	for ((i = 0; i < 100; i++)); do
		[ "$(grep -cE "$1" "$events")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

log=$TS_TMP/server.log
echo "+ NOTIFY_SOCKET=$sock ${cmd[*]}" >"$log"
NOTIFY_SOCKET=$sock ts_bg "${cmd[@]}" >>"$log" 2>&1
pid=$TS_LAST_PID
TS_SRV_PIDS+=("$pid")
TS_SRV_LOGS+=("$log")

if wait_event '^READY=1' 1; then
	ts_pass "READY=1 on NOTIFY_SOCKET"
else
	ts_fail "READY=1 on NOTIFY_SOCKET" "$(cat "$events")"
	cat "$log"
	ts_finish
fi
ts_check "serves a Binding after READY=1" \
	"$TS_PY" "$TS_DIR/turnclient.py" binding 127.0.0.1 "$port" 2
cat >"$TS_TMP/alloc.py" <<'PY'
import sys
import turnclient as tc
c = tc.Client(("127.0.0.1", int(sys.argv[1])))
c.set_user("alice", "alicepw")
r = c.allocate()
print(("ok %s" if r.code() == 0 else "FAIL %s: " + r.describe()) % "Allocate works")
r = c.refresh(0)
PY
ts_python_checks "allocate" "$TS_TMP/alloc.py" "$port"

kill -HUP "$pid"
if wait_event '^RELOADING=1\|MONOTONIC_USEC=[0-9]+$' 1 && wait_event '^READY=1' 2; then
	ts_pass "SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1"
else
	ts_fail "SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1" "$(cat "$events")"
fi
ts_check "serves after the reload" \
	"$TS_PY" "$TS_DIR/turnclient.py" binding 127.0.0.1 "$port" 2

kill -TERM "$pid"
if wait_event '^STOPPING=1' 1; then
	ts_pass "SIGTERM: STOPPING=1"
else
	ts_fail "SIGTERM: STOPPING=1" "$(cat "$events")"
fi
ts_stop_pid "$pid" 100
ts_forget_server "$pid"
[ "$TS_STOP_RC" = 0 ] && ts_pass "exits 0 after SIGTERM" ||
	ts_fail "exits 0 after SIGTERM" "status $TS_STOP_RC"
ts_log_has_sanitizer "$log" && ts_fail "no sanitizer report" "$(tail -n 30 "$log")"
order=$(cut -d'|' -f1 "$events" | tr '\n' ' ')
[ "$order" = "READY=1 RELOADING=1 READY=1 STOPPING=1 " ] &&
	ts_pass "notifications in order ($order)" ||
	ts_fail "notifications in order" "$order"

if command -v systemd-analyze >/dev/null; then
	sed "s|/usr/bin/turnstone|$(readlink -f "$TS_BIN")|" "$unit" >"$TS_TMP/turnstone.service"
	ts_check "systemd-analyze verify" systemd-analyze verify --man=no "$TS_TMP/turnstone.service"
else
	ts_log "systemd-analyze missing: skipping the unit verification"
fi
ts_finish
