#!/usr/bin/env bash
# Health checks drive the answers: a customer's TURN server that fails its
# STUN Binding probes is left out of a fallback account's answer, an
# override account still gets it (never platform servers instead) and
# metrics flag it; once the server answers again it is back. See
# api_health.py for the checks.
#
#   bash test_api_health.sh /path/to/turnstone
TS_NAME=api_health
. "$(dirname "$0")/lib.sh"
ts_api_init "${1:-}"
db=$TS_DB
customer_secret="customer-$RANDOM$RANDOM"
cport=$(ts_pick_port) || exit 1
custom="turn:127.0.0.1:$cport?transport=udp"
acct() { timeout 30 "$TS_BIN" account "$@" --db "$db" >>"$TS_TMP/cli.log" 2>&1; }
for a in ovr fb; do
	mode=override
	[ "$a" = fb ] && mode=fallback
	acct create "$a" --configurable-turn &&
		acct key add "$a" --kid "$a-k1" --alg HS256 \
			--secret "$a-secret-0123456789abcdefghijklmnop" &&
		acct turn set "$a" --mode "$mode" --server "$custom" \
			--secret "$customer_secret" ||
		{ ts_log "CLI setup failed:"; cat "$TS_TMP/cli.log" >&2; exit 1; }
done

ts_start_api "$TS_BIN" --api-health-interval 1 --api-health-failures 2 || exit 1
args=(--api "http://127.0.0.1:$TS_API_PORT" --admin "$TS_ADMIN_TOKEN" --bin "$TS_BIN"
	--db "$db" --custom "$custom"
	--platform "turn:127.0.0.1:$TS_PORT?transport=udp")
TS_CHECK_TIMEOUT=60 ts_python_checks "customer server down" \
	"$TS_DIR/api_health.py" down "${args[@]}"

# The customer's server comes up (a second turnstone with its own secret).
clog="$TS_TMP/customer.log"
ts_bg "$TS_BIN" serve --listening-ip 127.0.0.1 --listening-port "$cport" \
	--use-auth-secret --static-auth-secret "$customer_secret" >"$clog" 2>&1
TS_SRV_PIDS+=("$TS_LAST_PID")
TS_SRV_LOGS+=("$clog")
TS_CHECK_TIMEOUT=60 ts_python_checks "customer server up" \
	"$TS_DIR/api_health.py" up "${args[@]}"
ts_finish
