#!/usr/bin/env bash
# coturn's own test client, turnutils_uclient, relays through the server
# to coturn's echo peer, turnutils_peer, on 127.0.0.1, and every message
# must come back: over UDP and TCP, with channels and with Send/Data
# indications, with REST credentials (-W) and with a static user (-u/-w),
# client-to-peer and client-to-client (-y). A wrong secret must be refused.
# uclient's summary ("tot_send_msgs=.., tot_recv_msgs=..", "Total lost
# packets N") is parsed; any loss, any ERROR line or a nonzero exit fails.
#
#   bash test_uclient.sh /path/to/turnstone        (what ctest runs)
#   TS_SERVER=coturn bash test_uclient.sh           (validate the harness)
TS_NAME=uclient
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"

UCLIENT=${TS_UCLIENT:-/usr/bin/turnutils_uclient}
PEER=${TS_UPEER:-/usr/bin/turnutils_peer}
for t in "$UCLIENT" "$PEER"; do
	[ -x "$t" ] || { ts_log "$t missing (apt-get install coturn)"; exit 1; }
done

# turnutils_uclient speaks RFC 5766 and picks channels in 0x4000-0x7FFF;
# turnstone follows RFC 8656 (0x4000-0x4FFF) unless told otherwise.
legacy=()
[ "${TS_SERVER:-turnstone}" = coturn ] || legacy=(--legacy-channel-range)
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --allow-loopback-peers \
	--relay-threads 2 "${legacy[@]}" || exit 1
ts_start_static_sibling "$TS_BIN" --allow-loopback-peers "${legacy[@]}" || exit 1

peer_port=$(ts_pick_port) || exit 1
ts_bg "$PEER" -L 127.0.0.1 -p "$peer_port" >"$TS_TMP/peer.log" 2>&1
peer_pid=$TS_LAST_PID
sleep 0.3
kill -0 "$peer_pid" 2>/dev/null || { ts_log "turnutils_peer did not start:"; cat "$TS_TMP/peer.log" >&2; exit 1; }

# Small and bounded: 2 clients (each with an RTP and an RTCP allocation
# unless -c), 20 messages of 120 bytes each.
common=(-n 20 -m 2 -l 120 -z 5 -e 127.0.0.1 -r "$peer_port")
n_run=0

# uclient_run NAME EXPECT PORT ARGS...: EXPECT is "ok" (all messages
# echoed, no loss) or "refused" (uclient must fail or receive nothing).
uclient_run() {
	local name=$1 expect=$2 port=$3 out rc sent recv lost errs
	shift 3
	n_run=$((n_run + 1))
	out="$TS_TMP/uclient$n_run.log"
	echo "== $name: turnutils_uclient $* -p $port 127.0.0.1"
	timeout -k 5 60 "$UCLIENT" "$@" -p "$port" 127.0.0.1 >"$out" 2>&1
	rc=$?
	# The summary lines without "msz=" are the totals.
	sent=$(grep -v 'msz=' "$out" | sed -n 's/.*tot_send_msgs=\([0-9]*\).*/\1/p' | tail -n 1)
	recv=$(grep -v 'msz=' "$out" | sed -n 's/.*tot_recv_msgs=\([0-9]*\).*/\1/p' | tail -n 1)
	lost=$(sed -n 's/.*Total lost packets \([0-9]*\).*/\1/p' "$out" | tail -n 1)
	errs=$(grep -ciE 'error|cannot|fail' "$out")
	echo "   exit $rc, sent ${sent:-?}, received ${recv:-?}, lost ${lost:-?}, error lines $errs"
	if [ "$expect" = ok ]; then
		if [ "$rc" = 0 ] && [ -n "$sent" ] && [ "$sent" -gt 0 ] &&
		   [ "$recv" = "$sent" ] && [ "$lost" = 0 ] && [ "$errs" = 0 ]; then
			ts_pass "$name" "$recv/$sent echoed"
		else
			ts_fail "$name" "exit $rc, sent ${sent:-none}, received ${recv:-none}, lost ${lost:-none}, $errs error lines"
			sed 's/^/   | /' "$out" | grep -vE 'start_mclient: msz=' | tail -n 25
		fi
	else
		if [ "$rc" = 124 ]; then
			ts_fail "$name" "uclient hung (timeout 60 s)"
		elif [ "$rc" != 0 ] || [ -z "$recv" ] || [ "$recv" = 0 ]; then
			ts_pass "$name" "refused: exit $rc, received ${recv:-none}"
		else
			ts_fail "$name" "was not refused: exit $rc, received $recv of $sent"
			tail -n 15 "$out" | sed 's/^/   | /'
		fi
	fi
}

P=$TS_PORT
S=$TS_SPORT
uclient_run "udp, REST, channels" ok "$P" -W "$TS_SECRET" -u uc-udp "${common[@]}"
uclient_run "udp, REST, Send/Data indications" ok "$P" -s -W "$TS_SECRET" -u uc-send "${common[@]}"
uclient_run "udp, REST, IPv4 relay requested (-X), no RTCP" ok "$P" -X -c -W "$TS_SECRET" -u uc-x "${common[@]}"
uclient_run "udp, static user, channels" ok "$S" -u alice -w alicepw "${common[@]}"
uclient_run "udp, REST, client-to-client" ok "$P" -y -W "$TS_SECRET" -u uc-c2c -n 20 -m 2 -l 120 -z 5
uclient_run "tcp, REST, channels" ok "$P" -t -W "$TS_SECRET" -u uc-tcp "${common[@]}"
uclient_run "tcp, static user, Send/Data indications" ok "$S" -t -s -u alice -w alicepw "${common[@]}"
uclient_run "tcp, REST, client-to-client" ok "$P" -t -y -W "$TS_SECRET" -u uc-tcp-c2c -n 20 -m 2 -l 120 -z 5
uclient_run "udp, wrong REST secret" refused "$P" -W "not-$TS_SECRET" -u uc-bad -n 5 -m 1 -l 120 -e 127.0.0.1 -r "$peer_port"
uclient_run "udp, static user, wrong password" refused "$S" -u alice -w wrong -n 5 -m 1 -l 120 -e 127.0.0.1 -r "$peer_port"

# The harness must be able to see loss: stop the peer and expect it.
# (uclient waits about 15 s for stragglers before it gives its totals.)
if [ -z "${TS_QUICK:-}" ]; then
	ts_stop_pid "$peer_pid" 30
	n_run=$((n_run + 1))
	out="$TS_TMP/uclient$n_run.log"
	echo "== harness: loss is detected when the peer is gone"
	timeout -k 5 60 "$UCLIENT" -s -W "$TS_SECRET" -u uc-lost -n 3 -m 1 -c -l 120 \
		-e 127.0.0.1 -r "$peer_port" -p "$P" 127.0.0.1 >"$out" 2>&1
	lost=$(sed -n 's/.*Total lost packets \([0-9]*\).*/\1/p' "$out" | tail -n 1)
	if [ -n "$lost" ] && [ "$lost" -gt 0 ]; then
		ts_pass "harness sees loss" "lost $lost with no peer"
	else
		ts_fail "harness sees loss" "uclient reported lost '${lost:-nothing}' with no peer"
	fi
fi

ts_finish
