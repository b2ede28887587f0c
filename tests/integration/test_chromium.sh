#!/usr/bin/env bash
# Chromium's WebRTC relays a data channel through the server over UDP, TCP
# and TLS (turns:, relay-only, relayProtocol "tls") with REST credentials, getStats() shows a relay/relay pair with
# the right relayProtocol, and a wrong credential does not connect.
# See chromium_relay.mjs; the browser flags are explained in
# docs/interop.md. Debian's /usr/bin/chromium is used; nothing is
# downloaded, and Chromium always runs with --host-resolver-rules that make
# every name but localhost unresolvable plus --disable-background-networking.
#
#   bash test_chromium.sh /path/to/turnstone     (ctest)
#   TS_SERVER=coturn bash test_chromium.sh        (harness validation)
# Belt and braces: when a private network namespace is available (root),
# the whole test re-runs inside one that has only "lo" (lib.sh's
# ts_netns_lo), so the browser cannot reach anything but loopback whatever
# it tries. Set TS_NETNS=0 to run in the host namespace (the flags above
# still apply).
TS_NAME=chromium
. "$(dirname "$0")/lib.sh"
ts_netns_lo "$@"
ts_need_bin "${1:-}"
ts_need_chromium # also keeps Chromium's profile and crash dumps in TS_TMP

tls=()
if [ "$TS_SERVER" = turnstone ]; then
	ts_make_cert chromium || exit 1
	TS_TLS_PORT=$(ts_pick_port) || exit 1
	export TS_TLS_PORT TS_SPKI
	tls=(--tls-listening-port "$TS_TLS_PORT" --cert "$TS_CERT" --pkey "$TS_KEY")
fi
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --allow-loopback-peers "${tls[@]}" || exit 1

user=$(ts_rest_user chromium-test 600)
pass=$(ts_rest_pass "$TS_SECRET" "$user")
TS_CHECK_TIMEOUT=170 ts_run_checks "chromium" \
	node "$TS_DIR/chromium_relay.mjs" "$TS_PORT" "$user" "$pass"
ts_finish
