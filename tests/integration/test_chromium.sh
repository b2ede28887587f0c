#!/usr/bin/env bash
# Chromium's WebRTC relays a data channel through the server over UDP and
# over TCP with REST credentials, getStats() shows a relay/relay pair with
# the right relayProtocol, and a wrong credential does not connect.
# See chromium_relay.mjs; the browser flags are explained in
# docs/interop.md. Debian's /usr/bin/chromium is used; nothing is
# downloaded, and Chromium always runs with --host-resolver-rules that make
# every name but localhost unresolvable plus --disable-background-networking.
#
#   bash test_chromium.sh /path/to/turnstone     (ctest)
#   TS_SERVER=coturn bash test_chromium.sh        (harness validation)
# Belt and braces: when a private network namespace is available (root),
# the whole test re-runs inside one that has only "lo", so the browser
# cannot reach anything but loopback whatever it tries. Set TS_NETNS=0 to
# run in the host namespace (the flags above still apply).
if [ -z "${TS_IN_NETNS:-}" ] && [ "${TS_NETNS:-1}" != 0 ] &&
   unshare -n true 2>/dev/null; then
	# shellcheck disable=SC2016 # $0 and $@ belong to the inner bash
	TS_IN_NETNS=1 exec unshare -n bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" "$@"
fi

TS_NAME=chromium
. "$(dirname "$0")/lib.sh"
[ -n "${TS_IN_NETNS:-}" ] && ts_log "running in a private network namespace (lo only)"
ts_need_bin "${1:-}"

chromium=${TS_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { ts_log "$chromium missing (apt-get install chromium)"; exit 1; }
command -v node >/dev/null || { ts_log "node missing"; exit 1; }
[ -d "$TS_DIR/node_modules/playwright-core" ] ||
	{ ts_log "playwright-core missing: run scripts/install-deps"; exit 1; }

ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --allow-loopback-peers || exit 1

user=$(ts_rest_user chromium-test 600)
pass=$(ts_rest_pass "$TS_SECRET" "$user")
# Chromium's profile and crash dumps stay in our temporary directory.
export HOME="$TS_TMP/home" XDG_CONFIG_HOME="$TS_TMP/home/.config" \
	XDG_CACHE_HOME="$TS_TMP/home/.cache"
mkdir -p "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
export TS_CHROMIUM="$chromium" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
TS_CHECK_TIMEOUT=170 ts_run_checks "chromium" \
	node "$TS_DIR/chromium_relay.mjs" "$TS_PORT" "$user" "$pass"
ts_finish
