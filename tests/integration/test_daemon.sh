#!/usr/bin/env bash
# coturn's -o / daemon: `serve -o` returns once the server runs (exit 0)
# or failed to start (its status, the error on stderr); the server runs
# on in its own session with its standard streams on /dev/null, writes
# its pidfile, serves TURN and stops on SIGTERM. Loopback only; the
# daemon is stopped by the PID it wrote, which is ours.
TS_NAME=daemon
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
BIN=$TS_BIN

port=$(ts_pick_port) || exit 1
ts_pick_relay_range || exit 1
pidf="$TS_TMP/turnstone.pid"
logf="$TS_TMP/daemon.log"
args=(serve --listening-ip 127.0.0.1 --listening-port "$port"
	--relay-ip 127.0.0.1 --min-port "$TS_MINP" --max-port "$TS_MAXP"
	--use-auth-secret --static-auth-secret "$TS_SECRET" --realm test
	--allow-loopback-peers --pidfile "$pidf")

conf="$TS_TMP/turnstone.conf"
echo "# reloaded below" >"$conf"

# The foreground part must come back by itself: bounded by timeout.
timeout 30 "$BIN" "${args[@]}" -o --log-file "$logf" -c "$conf" >"$TS_TMP/out" 2>&1
rc=$?
dpid=$(cat "$pidf" 2>/dev/null)
if [ "$rc" = 0 ] && [[ $dpid =~ ^[0-9]+$ ]] && kill -0 "$dpid" 2>/dev/null; then
	TS_PIDS+=("$dpid") # stopped by the EXIT trap if a check fails
	ts_pass "serve -o returned 0 with the daemon running" "pid $dpid"
else
	ts_fail "serve -o" "exit $rc, pidfile '$dpid': $(cat "$TS_TMP/out" "$logf" 2>/dev/null)"
	ts_finish
fi

sid=$(ps -o sid= -p "$dpid" | tr -d ' ')
if [ "$sid" = "$dpid" ]; then
	ts_pass "the daemon leads a session of its own"
else
	ts_fail "the daemon's session" "sid '$sid', pid $dpid"
fi
streams=ok
for fd in 0 1 2; do
	[ "$(readlink "/proc/$dpid/fd/$fd")" = /dev/null ] || streams="fd $fd is $(readlink "/proc/$dpid/fd/$fd")"
done
if [ "$streams" = ok ]; then
	ts_pass "its standard streams are /dev/null"
else
	ts_fail "its standard streams" "$streams"
fi
# What the address serves, without a stray comma ("(udp,tcp,)" before).
if grep -q "listening on 127.0.0.1:$port (udp,tcp)$" "$logf"; then
	ts_pass "it logs to log-file"
else
	ts_fail "log-file" "$(cat "$logf")"
fi
# What runs is named: the release (and commit) at start, and by
# --version, on its own or among serve's options (as coturn takes it).
ver=$("$BIN" --version 2>&1)
if [[ $ver =~ ^turnstone\ [0-9]+\.[0-9]+\.[0-9]+ ]] &&
	[ "$("$BIN" serve --realm x --version 2>&1)" = "$ver" ] &&
	grep -qF "${ver}, OpenSSL 3" "$logf"; then
	ts_pass "--version and the start line name the release" "$ver"
else
	ts_fail "--version and the start line name the release" \
		"'$ver'; log: $(head -3 "$logf")"
fi
if [[ $("$BIN" serve --realm x --help 2>&1) == "usage: turnstone serve"* ]]; then
	ts_pass "serve --help after other options"
else
	ts_fail "serve --help after other options" "$("$BIN" serve --realm x --help 2>&1 | head -2)"
fi
ts_check "it serves TURN" "$BIN" probe "turn:127.0.0.1:$port?transport=udp" \
	--secret "$TS_SECRET" --count 3

# A reload that fails says why in the log, naming the key: the daemon's
# stderr, where a start prints it, is /dev/null.
echo "bogus-option=1" >>"$conf"
kill -HUP "$dpid"
for _ in $(seq 50); do
	grep -q "reload failed" "$logf" && break
	sleep 0.1
done
if grep -q "reload: unknown option 'bogus-option'" "$logf" &&
	grep -q "reload failed; keeping" "$logf"; then
	ts_pass "a failed reload names the key in the log"
else
	ts_fail "a failed reload's reason" "$(cat "$logf")"
fi
ts_check "it still serves TURN after the failed reload" "$BIN" probe \
	"turn:127.0.0.1:$port?transport=udp" --secret "$TS_SECRET" --count 3
echo "# reloaded below" >"$conf"

# A second server on the same address and port is refused (exit 1,
# naming the address): the workers bind with SO_REUSEPORT, which let it
# share the ports with the first one silently, each getting part of the
# clients. It leaves the running daemon's pidfile alone.
dup_rc=0
timeout 30 "$BIN" "${args[@]}" >"$TS_TMP/out_dup" 2>&1 || dup_rc=$?
if [ "$dup_rc" = 1 ] && grep -q "cannot listen on 127.0.0.1:$port" "$TS_TMP/out_dup" &&
	[ "$(cat "$pidf" 2>/dev/null)" = "$dpid" ]; then
	ts_pass "a second server on the same port exits 1 naming the address"
else
	ts_fail "a second server on the same port" "exit $dup_rc, pidfile '$(cat "$pidf" 2>/dev/null)': $(cat "$TS_TMP/out_dup")"
fi

# A second start that fails (its log file cannot be opened) leaves the
# running daemon's pidfile alone.
timeout 30 "$BIN" "${args[@]}" --log-file "$TS_TMP/no/such/dir/y.log" \
	>/dev/null 2>&1
if [ "$(cat "$pidf" 2>/dev/null)" = "$dpid" ]; then
	ts_pass "a failed second start keeps the running daemon's pidfile"
else
	ts_fail "a failed second start" "pidfile now '$(cat "$pidf" 2>/dev/null)'"
fi

kill -TERM "$dpid"
for _ in $(seq 100); do
	kill -0 "$dpid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$dpid" 2>/dev/null; then
	ts_fail "SIGTERM stops the daemon" "still running after 10 s"
else
	ts_forget_pid "$dpid"
	ts_pass "SIGTERM stops the daemon"
fi
if [ -e "$pidf" ]; then
	ts_fail "the pidfile is removed on exit"
else
	ts_pass "the pidfile is removed on exit"
fi

# A start that fails after the fork: the waiting parent exits with the
# child's status, and the error was printed here.
bad_rc=0
timeout 30 "$BIN" "${args[@]}" -o --log-file "$TS_TMP/no/such/dir/x.log" \
	>"$TS_TMP/out2" 2>&1 || bad_rc=$?
if [ "$bad_rc" != 0 ] && [ "$bad_rc" != 124 ] &&
	grep -q "cannot open log-file" "$TS_TMP/out2"; then
	ts_pass "a failed start is reported by serve -o" "exit $bad_rc"
else
	ts_fail "a failed start" "exit $bad_rc: $(cat "$TS_TMP/out2")"
fi
# Without a log file a daemon would log nowhere: refused, naming the key.
nolog_rc=0
timeout 30 "$BIN" "${args[@]}" --daemon >"$TS_TMP/out3" 2>&1 || nolog_rc=$?
if [ "$nolog_rc" = 2 ] && grep -q "'daemon' needs 'log-file'" "$TS_TMP/out3"; then
	ts_pass "daemon without log-file is a startup error"
else
	ts_fail "daemon without log-file" "exit $nolog_rc: $(cat "$TS_TMP/out3")"
fi

# The pidfile: a symlink there is not followed (it is written as root,
# before proc-user); a reload that names another pidfile does not make
# that one ours, so the exit removes only the one written.
pconf="$TS_TMP/pid.conf"
victim="$TS_TMP/victim" other="$TS_TMP/other.pid"
echo keep >"$victim"
ln -s "$victim" "$TS_TMP/link.pid"
printf 'pidfile=%s\n' "$TS_TMP/link.pid" >"$pconf"
ts_start_server "$BIN" --use-auth-secret --static-auth-secret "$TS_SECRET" \
	-c "$pconf" || ts_finish
if [ "$(cat "$victim")" = keep ] && grep -q "cannot write pidfile" "$TS_LOG"; then
	ts_pass "a symlink as pidfile is not followed"
else
	ts_fail "a symlink as pidfile" "victim now '$(cat "$victim")'"
fi
ts_stop_server "$TS_PID" "$TS_LOG"
ts_forget_server "$TS_PID"
rm -f "$TS_TMP/link.pid"
printf 'pidfile=%s\n' "$TS_TMP/own.pid" >"$pconf"
ts_start_server "$BIN" --use-auth-secret --static-auth-secret "$TS_SECRET" \
	-c "$pconf" || ts_finish
echo 1 >"$other" # another instance's
printf 'pidfile=%s\n' "$other" >"$pconf"
kill -HUP "$TS_PID"
for _ in $(seq 50); do
	grep -q "configuration reloaded" "$TS_LOG" && break
	sleep 0.1
done
ts_stop_server "$TS_PID" "$TS_LOG"
ts_forget_server "$TS_PID"
if [ -e "$other" ] && [ ! -e "$TS_TMP/own.pid" ]; then
	ts_pass "exit removes the pidfile written, not one a reload named"
else
	ts_fail "the pidfile at exit" "other.pid $( [ -e "$other" ] && echo kept || echo removed), own.pid $( [ -e "$TS_TMP/own.pid" ] && echo kept || echo removed)"
fi
ts_finish
