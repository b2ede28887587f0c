#!/usr/bin/env bash
# Slowloris and malformed framing against the HTTP API (docs/api.md,
# "Slow clients"). On the default options: 4100 half-sent request heads
# from 5 loopback addresses leave a normal client served (at most 128
# connections per address), the heads trickled a byte every 2 s are
# closed at the 10 s head deadline, and 4100 from 50 addresses (every
# slot) are closed under pressure within about 2 s. With short deadlines:
# a trickled body, kept-alive connections, requests whose body could be
# framed two ways (JSON 400/501 and the connection closed), and
# libmicrohttpd's own messages in our log. Loopback only (127.0.0.1 to
# 127.0.0.51), bounded: about 40 s in all.
#
#   bash test_api_slowloris.sh /path/to/turnstone
TS_NAME=api_slowloris
. "$(dirname "$0")/lib.sh"
ts_api_init "${1:-}"

ts_start_api "$TS_BIN" --api-health-interval 0 || exit 1
TS_CHECK_TIMEOUT=50 ts_python_checks "default options" \
	"$TS_DIR/api_slow_cases.py" slowloris "$TS_API_PORT"
ts_forget_server "$TS_PID"
ts_stop_server "$TS_PID" "$TS_LOG"

ts_start_api "$TS_BIN" --api-health-interval 0 --api-header-timeout 2 \
	--api-body-timeout 3 || exit 1
TS_CHECK_TIMEOUT=40 ts_python_checks "short deadlines" \
	"$TS_DIR/api_slow_cases.py" short "$TS_API_PORT" "$TS_LOG"
ts_finish
