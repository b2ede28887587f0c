#!/usr/bin/env bash
# Dual-stack allocations end to end on loopback (127.0.0.1 and ::1):
# RFC 8656 ADDITIONAL-ADDRESS-FAMILY, and a Refresh with
# REQUESTED-ADDRESS-FAMILY that deletes one family alone
# (dualstack_cases.py). A few seconds.
TS_NAME=dualstack
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
if [ "$TS_SERVER" != turnstone ]; then
	ts_log "turnstone only"
	exit 0
fi
if ! "$TS_PY" -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))'; then
	ts_log "no ::1 on this machine"
	exit 1
fi
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --allow-loopback-peers \
	--relay-ip ::1 || exit 1
ts_python_checks "dual-stack Refresh" "$TS_DIR/dualstack_cases.py" "$TS_PORT"
ts_finish
