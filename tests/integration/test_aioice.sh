#!/usr/bin/env bash
# aioice (Debian's python3-aioice, run with /usr/bin/python3) as a TURN
# client: allocations over UDP and TCP with REST credentials echo datagrams
# through the relay to a UDP echo peer on 127.0.0.1, and two relay-only
# aioice ICE agents connect through the server. See aioice_echo.py.
#
#   bash test_aioice.sh /path/to/turnstone     (ctest)
#   TS_SERVER=coturn bash test_aioice.sh        (harness validation)
TS_NAME=aioice
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"

if ! "$TS_PY" -c 'import aioice.turn' 2>/dev/null; then
	ts_log "$TS_PY cannot import aioice (apt-get install python3-aioice)"
	exit 1
fi

ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --allow-loopback-peers || exit 1
ts_python_checks "aioice" "$TS_DIR/aioice_echo.py" 127.0.0.1 "$TS_PORT" \
	"$TS_SECRET" "$TS_MINP" "$TS_MAXP" 50
ts_finish
