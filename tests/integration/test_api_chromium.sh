#!/usr/bin/env bash
# Chromium opens the daemon's demo page (/demo#token=JWT&policy=relay),
# which gets ICE servers from POST /v1/ice-servers and connects two peer
# connections through them, relay only. Three ways (api_demo.mjs checks
# each):
#
#   platform  the account uses the platform: the API daemon's own TURN
#             listener relays (screenshot: tests/integration/out/api-demo.png);
#   override  `account turn set --mode override` with "the customer's
#             server", a second turnstone with its own secret: every relay
#             port comes from the customer's relay range (disjoint from the
#             platform's) and the platform is not handed out;
#   fallback  an API-only node (--no-turn) whose platform is the first
#             daemon, health-checked every second; the account falls back
#             to the customer's server. The platform daemon is stopped (by
#             its PID); once /v1/admin/health shows it unhealthy the demo
#             still connects, through the customer's server.
#
# Debian's /usr/bin/chromium with --host-resolver-rules (only localhost
# and loopback literals resolve) and --disable-background-networking;
# inside a private network namespace with only "lo" when possible (as in
# test_chromium.sh; TS_NETNS=0 to skip). IP addresses only in TURN URLs.
#
#   bash test_api_chromium.sh /path/to/turnstone
if [ -z "${TS_IN_NETNS:-}" ] && [ "${TS_NETNS:-1}" != 0 ] &&
   unshare -n true 2>/dev/null; then
	# shellcheck disable=SC2016 # $0 and $@ belong to the inner bash
	TS_IN_NETNS=1 exec unshare -n bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" "$@"
fi

TS_NAME=api_chromium
. "$(dirname "$0")/lib.sh"
export PYTHONDONTWRITEBYTECODE=1 # no __pycache__ in the source tree
[ -n "${TS_IN_NETNS:-}" ] && ts_log "running in a private network namespace (lo only)"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || { ts_log "turnstone only (the API is ours)"; exit 0; }

chromium=${TS_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { ts_log "$chromium missing (apt-get install chromium)"; exit 1; }
command -v node >/dev/null || { ts_log "node missing"; exit 1; }
[ -d "$TS_DIR/node_modules/playwright-core" ] ||
	{ ts_log "playwright-core missing: run scripts/install-deps"; exit 1; }

db="$TS_TMP/accounts.db"
admin_token="admin-$RANDOM$RANDOM-$RANDOM$RANDOM-token"
printf '%s\n' "$admin_token" >"$TS_TMP/admin-token"
key_secret="demo-key-secret-$RANDOM$RANDOM-0123456789abcdef"
cust_secret="customer-secret-$RANDOM$RANDOM"
outdir="$TS_DIR/out"
py() { "$TS_PY" "$TS_DIR/api_cases.py" "$@"; }
acct() { timeout 30 "$TS_BIN" account "$@" --db "$db"; }

if ! { acct create demo --configurable-turn >/dev/null &&
	acct key add demo --kid demo-k1 --alg HS256 --secret "$key_secret"; }; then
	ts_log "CLI setup failed"
	exit 1
fi

# The server at PID leaves lib.sh's list (so it can be stopped early).
forget_server() {
	local i pids=() logs=()
	for i in "${!TS_SRV_PIDS[@]}"; do
		if [ "${TS_SRV_PIDS[$i]}" != "$1" ]; then
			pids+=("${TS_SRV_PIDS[$i]}")
			logs+=("${TS_SRV_LOGS[$i]}")
		fi
	done
	TS_SRV_PIDS=("${pids[@]}")
	TS_SRV_LOGS=("${logs[@]}")
}

# Platform daemon: TURN plus the API, serving the demo page.
api_a=$(ts_pick_port) || exit 1
ts_start_server "$TS_BIN" --use-auth-secret --static-auth-secret "$TS_SECRET" \
	--allow-loopback-peers --api-listening-port "$api_a" --db "$db" \
	--api-admin-token-file "$TS_TMP/admin-token" || exit 1
pa=$TS_PORT pa_pid=$TS_PID pa_log=$TS_LOG pa_range="$TS_MINP-$TS_MAXP" pa_min=$TS_MINP
py wait-http "http://127.0.0.1:$api_a/healthz" 20 || { ts_log "API A never answered"; exit 1; }

# The customer's server: TURN only, its own secret, a disjoint relay range
# (lib.sh picks aligned blocks of 100, so differing starts are disjoint).
for ((try = 0; try < 5; try++)); do
	ts_start_server "$TS_BIN" --use-auth-secret --static-auth-secret "$cust_secret" \
		--allow-loopback-peers || exit 1
	[ "$TS_MINP" != "$pa_min" ] && break
	forget_server "$TS_PID"
	ts_stop_pid "$TS_PID" 50
done
pb=$TS_PORT pb_range="$TS_MINP-$TS_MAXP"
ts_log "platform TURN :$pa (relay $pa_range, API :$api_a); customer TURN :$pb (relay $pb_range)"

token=$(timeout 30 "$TS_BIN" token mint --db "$db" --account demo --sub alice --ttl 3600 2>"$TS_TMP/mint.err")
if [ -z "$token" ]; then
	ts_fail "turnstone token mint" "$(cat "$TS_TMP/mint.err")"
	token=$(py mint --kid demo-k1 --key-secret "$key_secret" --iss demo)
else
	ts_pass "turnstone token mint"
fi

export HOME="$TS_TMP/home" XDG_CONFIG_HOME="$TS_TMP/home/.config" \
	XDG_CACHE_HOME="$TS_TMP/home/.cache"
mkdir -p "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
export TS_CHROMIUM="$chromium" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
demo() { # NAME API_PORT RANGE WANT ABSENT [SCREENSHOT]
	TS_CHECK_TIMEOUT=110 ts_run_checks "demo: $1" node "$TS_DIR/api_demo.mjs" \
		--name "$1" --url "http://127.0.0.1:$2/demo#token=$token&policy=relay" \
		--relay-range "$3" --want-url "$4" --absent-url "$5" \
		${6:+--screenshot "$6"}
}
# Poll the API until its answer lists WANT and not ABSENT (bounded).
wait_ice() { # NAME API_PORT WANT ABSENT
	ts_check "$1" "$TS_PY" "$TS_DIR/api_cases.py" wait-ice --api-port "$2" \
		--token "$token" --want "$3" ${4:+--absent "$4"} --timeout 8
}

# ---- platform
demo platform "$api_a" "$pa_range" "127.0.0.1:$pa?" "127.0.0.1:$pb?" "$outdir/api-demo.png"

# ---- override: the customer's server only
if acct turn set demo --mode override --server "turn:127.0.0.1:$pb?transport=udp" \
	--secret "$cust_secret" >/dev/null 2>"$TS_TMP/cli.err"; then
	ts_pass "CLI account turn set demo --mode override"
else
	ts_fail "CLI account turn set demo --mode override" "$(cat "$TS_TMP/cli.err")"
fi
wait_ice "API hands out only the customer's server (override)" "$api_a" \
	"127.0.0.1:$pb?" "127.0.0.1:$pa?"
demo override "$api_a" "$pb_range" "127.0.0.1:$pb?" "127.0.0.1:$pa?" "$outdir/api-demo-override.png"

# ---- fallback: an API-only node whose platform (daemon A) goes down
if acct turn set demo --mode fallback --server "turn:127.0.0.1:$pb?transport=udp" \
	--secret "$cust_secret" >/dev/null 2>"$TS_TMP/cli.err"; then
	ts_pass "CLI account turn set demo --mode fallback"
else
	ts_fail "CLI account turn set demo --mode fallback" "$(cat "$TS_TMP/cli.err")"
fi
api_c=$(ts_pick_port) || exit 1
port_c=$(ts_pick_port) || exit 1
plat_url="turn:127.0.0.1:$pa?transport=udp"
log_c="$TS_TMP/api-node.log"
cmd_c=(serve --listening-ip 127.0.0.1 --listening-port "$port_c" --realm test --no-turn
	--api-listening-port "$api_c" --db "$db" --api-admin-token-file "$TS_TMP/admin-token"
	--api-turn-server "$plat_url $TS_SECRET" --api-health-interval 1 --api-health-failures 2)
echo "+ $TS_BIN ${cmd_c[*]/$TS_SECRET/(secret)}" >"$log_c"
ts_bg "$TS_BIN" "${cmd_c[@]}" >>"$log_c" 2>&1
TS_SRV_PIDS+=("$TS_LAST_PID")
TS_SRV_LOGS+=("$log_c")
if py wait-http "http://127.0.0.1:$api_c/healthz" 20; then
	ts_pass "API-only node (--no-turn) up" "API :$api_c, platform $plat_url"
else
	ts_fail "API-only node (--no-turn) up" "$(tail -5 "$log_c")"
fi
wait_ice "fallback lists the platform while it is up" "$api_c" "127.0.0.1:$pa?"
wait_ice "fallback lists the customer's server too" "$api_c" "127.0.0.1:$pb?"
ts_check "the platform is healthy in /v1/admin/health" "$TS_PY" "$TS_DIR/api_cases.py" \
	wait-health --api-port "$api_c" --admin-token "$admin_token" --url "$plat_url" \
	--healthy 1 --timeout 10
forget_server "$pa_pid"
ts_stop_server "$pa_pid" "$pa_log"
ts_log "stopped the platform daemon (pid $pa_pid)"
ts_check "the platform is unhealthy in /v1/admin/health" "$TS_PY" "$TS_DIR/api_cases.py" \
	wait-health --api-port "$api_c" --admin-token "$admin_token" --url "$plat_url" \
	--healthy 0 --timeout 15
wait_ice "fallback now hands out only the customer's server" "$api_c" \
	"127.0.0.1:$pb?" "127.0.0.1:$pa?"
demo fallback "$api_c" "$pb_range" "127.0.0.1:$pb?" "127.0.0.1:$pa?" "$outdir/api-demo-fallback.png"
ts_finish
