#!/usr/bin/env bash
# Limits on TCP/TLS client connections (net_abuse.py zerowin, unauthcap):
# a client that never reads its answers is paused, then closed once its
# output stalls for --tcp-write-timeout; a source holds at most
# --max-unauth-tcp-per-ip connections that carry no allocation.
#
#   bash test_tcp_limits.sh /path/to/turnstone        (what ctest runs)
TS_NAME=tcp_limits
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || exit 0
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --allow-loopback-peers --relay-threads 2 \
	--tcp-write-timeout 2 --max-unauth-tcp-per-ip 4 || exit 1
for mode in zerowin unauthcap; do
	TS_CHECK_TIMEOUT=60 ts_python_checks "$mode" "$TS_DIR/net_abuse.py" "$mode" \
		"$TS_PORT" 0 "$TS_PID"
done
case $(cat "$TS_LOG") in
*"refused: it has 4 connections without an allocation"*)
	ts_pass "the refusal is logged, naming the option" ;;
*) ts_fail "the refusal is logged, naming the option" "not in $TS_LOG" ;;
esac
ts_finish
