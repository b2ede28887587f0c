#!/usr/bin/env bash
# Malformed requests against the HTTP API (docs/api.md, "Errors"): the
# heads libmicrohttpd 0.9.75 lets through (no or two Host fields, a field
# name with whitespace or folded onto the next line, control characters,
# a method that is not a token) get our JSON 400 and the connection
# closes; those it refuses itself get the status docs/api.md lists; lenient
# but valid requests are still served. Then a few of them over HTTPS
# (api-cert). Loopback only, bounded: a few seconds.
#
#   bash test_api_malformed.sh /path/to/turnstone
TS_NAME=api_malformed
. "$(dirname "$0")/lib.sh"
ts_api_init "${1:-}"

ts_start_api "$TS_BIN" --api-health-interval 0 || exit 1
TS_CHECK_TIMEOUT=60 ts_python_checks "plain HTTP" \
	"$TS_DIR/api_malformed_cases.py" "$TS_API_PORT"
ts_forget_server "$TS_PID"
ts_stop_server "$TS_PID" "$TS_LOG"

ts_make_cert apimal || exit 1
ts_start_api_tls "$TS_BIN" "$TS_CERT" "$TS_KEY" || exit 1
TS_CHECK_TIMEOUT=30 ts_python_checks "HTTPS" \
	"$TS_DIR/api_malformed_cases.py" "$TS_API_PORT" "$TS_CERT"
ts_finish
