#!/usr/bin/env bash
# Limits on TCP/TLS client connections (net_abuse.py zerowin, congest,
# pipepause, unauthcap, capone):
# a client that never reads its answers is paused, then closed once it
# leaves our output unread for --tcp-write-timeout; a source holds at most
# --max-unauth-tcp-per-ip connections that carry no allocation, and a
# reload changes that cap.
#
#   bash test_tcp_limits.sh /path/to/turnstone        (what ctest runs)
TS_NAME=tcp_limits
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || exit 0
PROM=$(ts_pick_port) || exit 1
conf="$TS_TMP/turnstone.conf"
echo "max-unauth-tcp-per-ip=4" >"$conf"
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --allow-loopback-peers --relay-threads 2 \
	--tcp-write-timeout 2 -c "$conf" \
	--prometheus --prometheus-port "$PROM" || exit 1
for mode in zerowin congest pipepause unauthcap; do
	TS_CHECK_TIMEOUT=60 ts_python_checks "$mode" "$TS_DIR/net_abuse.py" "$mode" \
		"$TS_PORT" 0 "$TS_PID"
done
case $(cat "$TS_LOG") in
*"refused: it has 4 connections without an allocation"*)
	ts_pass "the refusal is logged, naming the option" ;;
*) ts_fail "the refusal is logged, naming the option" "not in $TS_LOG" ;;
esac
# A reload changes the cap for connections accepted after it.
echo "max-unauth-tcp-per-ip=1" >"$conf"
kill -HUP "$TS_PID"
for i in $(seq 1 50); do
	case $(cat "$TS_LOG") in *"configuration reloaded"*) break ;; esac
	sleep 0.1
done
sleep 0.5 # workers pick the new configuration up within their 200 ms wait
TS_CHECK_TIMEOUT=30 ts_python_checks capone "$TS_DIR/net_abuse.py" capone "$TS_PORT" 0 "$TS_PID"

metrics=$(curl -s --max-time 5 "http://127.0.0.1:$PROM/metrics")
metric() { printf '%s\n' "$metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
ts_check "the kernel's timeout is counted (tcp_timed_out_total >= 1)" \
	test "$(metric turnstone_tcp_timed_out_total)" -ge 1
ts_check "refusals are counted (tcp_refused_total >= 2)" \
	test "$(metric turnstone_tcp_refused_total)" -ge 2
ts_finish
