#!/usr/bin/env bash
# Protocol conformance against the RFC text, one section per check
# (conformance_cases.py): RFC 8489 message processing (classes, unknown
# attributes after authentication, FINGERPRINT, attributes after
# MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and PASSWORD-ALGORITHM,
# 400/438), RFC 8656 7.2's Allocate checks in their order (437, 400, 442,
# RESERVATION-TOKEN, address families, EVEN-PORT, 440, 508), Refresh,
# CreatePermission and ChannelBind rules, the Send and ChannelData paths
# (UDP, and padding over TCP), RFC 6062 5.1. Binding over UDP, TCP, TLS
# and DTLS. About 30 seconds, loopback only.
#
#   bash test_conformance.sh /path/to/turnstone
#   TS_SERVER=coturn bash test_conformance.sh   (coturn as a second opinion;
#                            its known differences print "skip")
TS_NAME=conformance
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"

tls=() tls_port=-
if [ "$TS_SERVER" = turnstone ]; then
	ts_make_cert conformance || exit 1
	tls_port=$(ts_pick_port) || exit 1
	tls=(--tls-listening-port "$tls_port" --cert "$TS_CERT" --pkey "$TS_KEY")
fi
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --allow-loopback-peers "${tls[@]}" || exit 1
main=$TS_PORT
v6=-
if [ "$TS_SERVER" = turnstone ]; then
	# Relays on ::1 only (RFC 8656 7.2 step 7 without IPv4).
	TS_RELAY_IP=::1 ts_start_server "$TS_BIN" "${TS_AUTH[@]}" \
		--allow-loopback-peers || exit 1
	v6=$TS_PORT
fi
TS_RELAY_SPAN=2 ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --allow-loopback-peers || exit 1
tiny=$TS_PORT

ts_python_checks "conformance" "$TS_DIR/conformance_cases.py" "$TS_SERVER" \
	"$main" "$v6" "$tiny" "$tls_port" "$TS_SECRET"
ts_finish
