#!/usr/bin/env bash
# --max-bps end to end: an allocation limited to 1 Mbit/s (125,000 bytes/s,
# coturn's unit is bytes) is offered 2 Mbit/s of ChannelData for 30 s; the
# peer must receive at most 1.1 Mbit/s on average (and at least 0.9, so the
# relay is shown to work). About 35 s.
TS_NAME=bandwidth
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
if [ "$TS_SERVER" != turnstone ]; then
	ts_log "turnstone only"
	exit 0
fi
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --allow-loopback-peers \
	--max-bps 125000 || exit 1
ts_python_checks "max-bps 1 Mbit/s" "$TS_DIR/limits_cases.py" bandwidth \
	"$TS_PORT" "$TS_SECRET" 30 2000000 1000000
ts_finish
