#!/usr/bin/env bash
# TCP relays (RFC 6062) through the real daemon on loopback:
#  - coturn's turnutils_uclient, client-to-client over TCP relays (-T: each
#    client Connects to the other's relayed address, which then gets a
#    ConnectionAttempt) and with an active TCP peer (-P); every message
#    must arrive. -l 200: uclient reads at most -l bytes of any message on
#    a data connection, and the 438 answering its first ConnectionBind
#    (whose nonce belongs to the control connection) is 124 bytes.
#  - tcprelay.py: the RFC's errors (400, 442, 446, 447), byte-exact
#    transfers both ways under back-pressure, permission checks for
#    incoming peers, and closing from either side and by deallocation;
#    and a Connect the peer never answers, 447 when its 30 s are up.
# Two relay threads, so ConnectionBinds land on both workers.
#
#   bash test_tcprelay.sh /path/to/turnstone
#   TS_SERVER=coturn bash test_tcprelay.sh     (validate the uclient part)
TS_NAME=tcprelay
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"

UCLIENT=${TS_UCLIENT:-/usr/bin/turnutils_uclient}
[ -x "$UCLIENT" ] || { ts_log "$UCLIENT missing (apt-get install coturn)"; exit 1; }

ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --allow-loopback-peers \
	--relay-threads 2 || exit 1
P=$TS_PORT

# uclient_run NAME HALF ARGS...: all messages must arrive (HALF=1: half of
# them, uclient's -P peer does not count what it reads, under coturn too).
n_run=0
uclient_run() {
	local name=$1 half=$2 out rc sent recv sbytes rbytes errs want
	shift 2
	n_run=$((n_run + 1))
	out="$TS_TMP/uclient$n_run.log"
	echo "== $name: turnutils_uclient $* -p $P 127.0.0.1"
	timeout -k 5 50 "$UCLIENT" "$@" -p "$P" 127.0.0.1 >"$out" 2>&1
	rc=$?
	sent=$(grep -v 'msz=' "$out" | sed -n 's/.*tot_send_msgs=\([0-9]*\).*/\1/p' | tail -n 1)
	recv=$(grep -v 'msz=' "$out" | sed -n 's/.*tot_recv_msgs=\([0-9]*\).*/\1/p' | tail -n 1)
	sbytes=$(grep -v 'msz=' "$out" | sed -n 's/.*tot_send_bytes ~ \([0-9]*\).*/\1/p' | tail -n 1)
	rbytes=$(grep -v 'msz=' "$out" | sed -n 's/.*tot_recv_bytes ~ \([0-9]*\).*/\1/p' | tail -n 1)
	errs=$(grep -ciE 'error|cannot|fail|uninitialized' "$out")
	want=${sent:-0}
	[ "$half" = 1 ] && want=$((want / 2))
	echo "   exit $rc, sent ${sent:-?} (${sbytes:-?} B), received ${recv:-?} (${rbytes:-?} B), error lines $errs"
	if [ "$rc" = 0 ] && [ "${sent:-0}" -gt 0 ] && [ "$recv" = "$want" ] &&
	   [ "$errs" = 0 ]; then
		ts_pass "$name" "$recv/$sent messages"
	else
		ts_fail "$name" "exit $rc, sent ${sent:-none}, received ${recv:-none} (want $want), $errs error lines"
		sed 's/^/   | /' "$out" | grep -vE 'start_mclient: msz=' | tail -n 20
	fi
}

uclient_run "uclient -T: client-to-client over TCP relays" 0 \
	-T -W "$TS_SECRET" -u uc-tcp-relay -n 20 -m 2 -l 200 -z 5
uclient_run "uclient -P: active TCP peer, ConnectionAttempt" 1 \
	-P -W "$TS_SECRET" -u uc-passive -n 20 -m 2 -l 200 -z 5

if [ "$TS_SERVER" = turnstone ]; then
	ts_python_checks "RFC 6062 checks" "$TS_DIR/tcprelay.py" "$P" "$TS_SECRET" main
	ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --allow-loopback-peers \
		--no-tcp-relay || exit 1
	ts_python_checks "--no-tcp-relay" "$TS_DIR/tcprelay.py" "$TS_PORT" \
		"$TS_SECRET" no-tcp-relay
	# --max-bps holds TCP relays back too (they wait; nothing is lost).
	ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --allow-loopback-peers \
		--max-bps 262144 || exit 1
	ts_python_checks "--max-bps on TCP relays" "$TS_DIR/tcprelay.py" "$TS_PORT" \
		"$TS_SECRET" bandwidth
	# Its own quiet server: nothing else may wake the worker in time.
	ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --allow-loopback-peers || exit 1
	ts_python_checks "Connect timing out: 447" "$TS_DIR/tcprelay.py" "$TS_PORT" \
		"$TS_SECRET" connect-timeout
fi
ts_finish
