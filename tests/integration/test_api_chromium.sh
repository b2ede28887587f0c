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
# test_chromium.sh, lib.sh's ts_netns_lo; TS_NETNS=0 to skip). IP
# addresses only in TURN URLs.
#
#   bash test_api_chromium.sh /path/to/turnstone
TS_NAME=api_chromium
. "$(dirname "$0")/lib.sh"
ts_netns_lo "$@"
ts_api_init "${1:-}"
ts_need_chromium

key_secret="demo-key-secret-$RANDOM$RANDOM-0123456789abcdef"
cust_secret="customer-secret-$RANDOM$RANDOM"
outdir="$TS_DIR/out"
py() { "$TS_PY" "$TS_DIR/api_cases.py" "$@"; }
acct() { timeout 30 "$TS_BIN" account "$@" --db "$TS_DB"; }

if ! { acct create demo --configurable-turn >/dev/null &&
	acct key add demo --kid demo-k1 --alg HS256 --secret "$key_secret"; }; then
	ts_log "CLI setup failed"
	exit 1
fi

# Platform daemon: TURN plus the API, serving the demo page.
ts_start_api "$TS_BIN" || exit 1
api_a=$TS_API_PORT pa=$TS_PORT pa_pid=$TS_PID pa_log=$TS_LOG
pa_range="$TS_MINP-$TS_MAXP" pa_min=$TS_MINP

# The customer's server: TURN only, its own secret, a disjoint relay range
# (lib.sh picks aligned blocks of 100, so differing starts are disjoint).
for ((try = 0; try < 5; try++)); do
	ts_start_server "$TS_BIN" --use-auth-secret --static-auth-secret "$cust_secret" \
		--allow-loopback-peers || exit 1
	[ "$TS_MINP" != "$pa_min" ] && break
	ts_forget_server "$TS_PID"
	ts_stop_pid "$TS_PID" 50
done
pb=$TS_PORT pb_range="$TS_MINP-$TS_MAXP"
ts_log "platform TURN :$pa (relay $pa_range, API :$api_a); customer TURN :$pb (relay $pb_range)"

token=$(timeout 30 "$TS_BIN" token mint --db "$TS_DB" --account demo --sub alice --ttl 3600 2>"$TS_TMP/mint.err")
if [ -z "$token" ]; then
	ts_fail "turnstone token mint" "$(cat "$TS_TMP/mint.err")"
	token=$(py mint --kid demo-k1 --key-secret "$key_secret" --iss demo)
else
	ts_pass "turnstone token mint"
fi

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
# The account's Configurable TURN: MODE with the customer's server.
turn_set() { # MODE
	local what="CLI account turn set demo --mode $1"
	if acct turn set demo --mode "$1" --server "turn:127.0.0.1:$pb?transport=udp" \
		--secret "$cust_secret" >/dev/null 2>"$TS_TMP/cli.err"; then
		ts_pass "$what"
	else
		ts_fail "$what" "$(cat "$TS_TMP/cli.err")"
	fi
}
# Wait until the API node at API_PORT shows the platform healthy (1) or
# unhealthy (0) in /v1/admin/health.
wait_health() { # NAME API_PORT HEALTHY TIMEOUT
	ts_check "$1" "$TS_PY" "$TS_DIR/api_cases.py" wait-health --api-port "$2" \
		--admin-token "$TS_ADMIN_TOKEN" --url "$plat_url" --healthy "$3" --timeout "$4"
}

# ---- platform
demo platform "$api_a" "$pa_range" "127.0.0.1:$pa?" "127.0.0.1:$pb?" "$outdir/api-demo.png"

# ---- override: the customer's server only
turn_set override
wait_ice "API hands out only the customer's server (override)" "$api_a" \
	"127.0.0.1:$pb?" "127.0.0.1:$pa?"
demo override "$api_a" "$pb_range" "127.0.0.1:$pb?" "127.0.0.1:$pa?" "$outdir/api-demo-override.png"

# ---- fallback: an API-only node whose platform (daemon A) goes down
turn_set fallback
api_c=$(ts_pick_port) || exit 1
port_c=$(ts_pick_port) || exit 1
plat_url="turn:127.0.0.1:$pa?transport=udp"
log_c="$TS_TMP/api-node.log"
cmd_c=(serve --listening-ip 127.0.0.1 --listening-port "$port_c" --realm test --no-turn
	--api-listening-port "$api_c" --db "$TS_DB" --api-admin-token-file "$TS_ADMIN_TOKEN_FILE"
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
wait_health "the platform is healthy in /v1/admin/health" "$api_c" 1 10
ts_forget_server "$pa_pid"
ts_stop_server "$pa_pid" "$pa_log"
ts_log "stopped the platform daemon (pid $pa_pid)"
wait_health "the platform is unhealthy in /v1/admin/health" "$api_c" 0 15
wait_ice "fallback now hands out only the customer's server" "$api_c" \
	"127.0.0.1:$pb?" "127.0.0.1:$pa?"
demo fallback "$api_c" "$pb_range" "127.0.0.1:$pb?" "127.0.0.1:$pa?" "$outdir/api-demo-fallback.png"
ts_finish
