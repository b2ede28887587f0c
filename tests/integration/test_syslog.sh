#!/usr/bin/env bash
# coturn's logging options, against a syslog stand-in the test owns: the
# test runs in a private mount namespace whose /dev is a fresh tmpfs (a
# few device nodes made again), where syslog_sink.py listens on /dev/log.
# No system syslog daemon is used or touched.
#  - --syslog --syslog-facility LOCAL3: lines arrive as "turnstone[PID]",
#    at LOCAL3 with the level's priority, and none on stderr;
#    --log-binding logs each Binding (client address, transport);
#  - SIGHUP with a new facility moves the lines to it; a bad reload is
#    logged there at LOG_ERR, with its reason, and the old configuration
#    keeps running;
#  - --syslog with --log-file: each line goes to both; no Binding lines
#    without --log-binding; the default facility is USER;
#  - --no-stdout-log with nowhere else to log is a startup error.
#
#   bash test_syslog.sh /path/to/turnstone        (what ctest runs)
TS_NAME=syslog
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || exit 0

if [ -z "${TS_IN_MNTNS:-}" ]; then
	unshare -m true 2>/dev/null || {
		ts_log "FAIL: cannot create a mount namespace (unshare -m needs root)"
		exit 1
	}
	trap - EXIT
	rm -rf "$TS_TMP"
	TS_IN_MNTNS=1 exec unshare -m --propagation private bash "$0" "$@"
fi

# A private /dev: a tmpfs mounted here is seen by this process and its
# children only, and goes away with them.
mount -t tmpfs -o mode=755,size=1m ts-dev /dev || { ts_log "cannot mount /dev"; exit 1; }
mknod -m 666 /dev/null c 1 3 && mknod -m 666 /dev/zero c 1 5 &&
	mknod -m 666 /dev/urandom c 1 9 && mknod -m 666 /dev/random c 1 8 || exit 1
ln -s /proc/self/fd /dev/fd
mkdir /dev/shm

sink=$TS_TMP/syslog.txt
ts_bg "$TS_PY" "$TS_DIR/syslog_sink.py" /dev/log "$sink"
for ((i = 0; i < 50; i++)); do
	[ -S /dev/log ] && [ -e "$sink" ] && break
	sleep 0.1
done
[ -S /dev/log ] || { ts_log "syslog_sink.py did not listen"; exit 1; }

# wait_for PATTERN FILE: up to 10 s for a line matching PATTERN (grep -E).
wait_for() {
	local i
	for ((i = 0; i < 100; i++)); do
		grep -qE "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
expect() { # NAME PATTERN FILE
	if wait_for "$2" "$3"; then ts_pass "$1"; else ts_fail "$1" "no line /$2/ in $3"; fi
}
refute() { # NAME PATTERN FILE
	if grep -qE "$2" "$3" 2>/dev/null; then ts_fail "$1" "$(grep -E "$2" "$3" | head -2)"; else ts_pass "$1"; fi
}

# LOCAL3 is 19 and LOCAL4 20 (RFC 5424 6.2.1): PRI = facility * 8 + severity
# (3 error, 4 warning, 6 info).
conf=$TS_TMP/log.conf
printf 'syslog\nsyslog-facility=LOCAL3\nlog-binding\n' >"$conf"
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" -c "$conf" || exit 1
P1=$TS_PID L1=$TS_LOG
expect "startup line at local3.info from turnstone[pid]" \
	"^<158>.* turnstone\[$P1\]: info listening on 127\.0\.0\.1:$TS_PORT " "$sink"
expect "--log-binding: the readiness Binding is logged with address and transport" \
	"^<158>.* turnstone\[$P1\]: info binding request from 127\.0\.0\.1:[0-9]+ over udp$" "$sink"
refute "nothing on stderr but the command line" "listening on|binding request" "$L1"
TS_DIR=$TS_DIR "$TS_PY" - "$TS_PORT" <<'PY' || ts_fail "TCP Binding answered"
import os, sys
sys.path.insert(0, os.environ["TS_DIR"])
import turnclient as tc
c = tc.Client(("127.0.0.1", int(sys.argv[1])), transport="tcp", timeout=2.0)
sys.exit(0 if c.binding().cls == tc.SUCCESS else 1)
PY
expect "a Binding over TCP says tcp" \
	"turnstone\[$P1\]: info binding request from 127\.0\.0\.1:[0-9]+ over tcp$" "$sink"

printf 'syslog\nsyslog-facility=log_local4\n' >"$conf"
kill -HUP "$P1"
expect "SIGHUP: the new facility (local4) takes over" \
	"^<166>.* turnstone\[$P1\]: info configuration reloaded" "$sink"
printf 'syslog\nsyslog-facility=nonsense\n' >"$conf"
kill -HUP "$P1"
expect "a bad reload is logged at local4.err" \
	"^<163>.* turnstone\[$P1\]: error reload failed" "$sink"
expect "and its reason too, naming the key (a daemon's stderr is /dev/null)" \
	"^<163>.* turnstone\[$P1\]: error reload: invalid value for 'syslog-facility': 'nonsense'" "$sink"
sleep 0.5 # a worker takes a new configuration within 200 ms
n=$(grep -c "turnstone\[$P1\]: info binding request" "$sink")
"$TS_PY" "$TS_DIR/turnclient.py" binding 127.0.0.1 "$TS_PORT" 1 >/dev/null ||
	ts_fail "Binding answered after the reloads"
sleep 0.5
m=$(grep -c "turnstone\[$P1\]: info binding request" "$sink")
if [ "$m" = "$n" ]; then
	ts_pass "log-binding off after the reload that dropped it"
else
	ts_fail "log-binding off after the reload that dropped it" "$n -> $m lines"
fi

file=$TS_TMP/both.log
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --syslog --log-file "$file" --no-stdout-log || exit 1
P2=$TS_PID
expect "syslog and log-file: syslog has the line (default facility user.info)" \
	"^<14>.* turnstone\[$P2\]: info listening on 127\.0\.0\.1:$TS_PORT " "$sink"
expect "syslog and log-file: the file has it too" \
	"Z info listening on 127\.0\.0\.1:$TS_PORT " "$file"
refute "no Binding lines without --log-binding" "turnstone\[$P2\]: .*binding request" "$sink"
refute "nor in the file" "binding request" "$file"

out=$("$TS_BIN" serve "${TS_AUTH[@]}" --no-stdout-log 2>&1)
rc=$?
if [ "$rc" = 2 ] && [[ $out == *"'no-stdout-log' needs 'log-file'"* ]]; then
	ts_pass "no-stdout-log with nowhere to log: startup error"
else
	ts_fail "no-stdout-log with nowhere to log: startup error" "status $rc: $out"
fi

ts_finish
