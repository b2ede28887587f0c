#!/usr/bin/env bash
# The API's account store under a crash and a corrupted file.
#
# 1. Durability: a loader (api_cases.py load) creates accounts and keys
#    through the admin API as fast as the daemon acknowledges them,
#    writing down every 201 it got, and the daemon is killed with SIGKILL
#    (its own PID only) mid-load. After a restart on the same --db, every
#    acknowledged account and key must be there, through the admin API and
#    through `turnstone account list`. Two rounds: the API alone, then with
#    an operator's CLI writes to the same file before and during the load
#    (whose accounts must survive too).
# 2. Store unavailable: the first 100 bytes of the db file are zeroed
#    under the running daemon. Within ~3 s POST /v1/ice-servers, /healthz
#    and the admin API answer 503 store_unavailable, while TURN (which
#    never reads the store) still allocates and relays.
#
#   bash test_api_durability.sh /path/to/turnstone
TS_NAME=api_durability
. "$(dirname "$0")/lib.sh"
ts_api_init "${1:-}"

base_secret="base-secret-$RANDOM$RANDOM-0123456789abcdefghij"
py() { "$TS_PY" "$TS_DIR/api_cases.py" "$@"; }
acct() { timeout 30 "$TS_BIN" account "$@" --db "$TS_DB"; }

if ! { acct create base >/dev/null &&
	acct key add base --kid base-k1 --alg HS256 --secret "$base_secret"; }; then
	ts_log "CLI setup failed"
	exit 1
fi

nacks() {
	local n
	n=$(grep -c '^account ' "$acks" 2>/dev/null)
	echo "${n:-0}"
}
# Wait (bounded, tenths of a second) until at least $1 accounts are acked.
wait_acks() {
	local want=$1 tenths=$2 i
	for ((i = 0; i < tenths; i++)); do
		[ "$(nacks)" -ge "$want" ] && return 0
		kill -0 "$loader" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# One crash round on the running daemon: load, SIGKILL, restart, verify.
# With WITH_CLI=1 an operator's CLI writes to the same --db too: once
# while the daemon is idle (and has been up for more than one store poll),
# as when accounts are set up by hand before traffic, and once during the
# load.
crash_round() { # TAG WITH_CLI
	local tag=$1 with_cli=$2 pid=$TS_PID log=$TS_LOG i a
	acks="$TS_TMP/acks-$tag"
	: >"$acks"
	if [ "$with_cli" = 1 ]; then
		sleep 1.5
		if acct create "$tag-op-before" >/dev/null 2>"$TS_TMP/cli.err"; then
			ts_pass "$tag: CLI account create beside the idle daemon"
		else
			ts_fail "$tag: CLI account create beside the idle daemon" "$(cat "$TS_TMP/cli.err")"
		fi
	fi
	ts_bg "$TS_PY" "$TS_DIR/api_cases.py" load --api-port "$TS_API_PORT" \
		--admin-token "$TS_ADMIN_TOKEN" --out "$acks" --prefix "$tag" --max 3000 \
		2>"$TS_TMP/loader-$tag.err"
	loader=$TS_LAST_PID
	if wait_acks 20 300; then
		ts_pass "$tag: loader gets 201s from the admin API" "$(nacks) so far"
	else
		ts_fail "$tag: loader gets 201s from the admin API" \
			"$(nacks) after 30 s: $(tail -3 "$TS_TMP/loader-$tag.err")"
	fi
	if [ "$with_cli" = 1 ]; then
		if acct create "$tag-op-during" >/dev/null 2>"$TS_TMP/cli.err"; then
			ts_pass "$tag: CLI account create while the API writes"
		else
			ts_fail "$tag: CLI account create while the API writes" "$(cat "$TS_TMP/cli.err")"
		fi
	fi
	wait_acks $(($(nacks) + 40)) 300 ||
		ts_log "only $(nacks) acks before the kill ($(tail -2 "$TS_TMP/loader-$tag.err"))"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	ts_forget_pid "$pid"
	ts_forget_server "$pid" # killed on purpose; its log is checked below
	ts_log "$tag: SIGKILLed the daemon (pid $pid) after $(nacks) acknowledged accounts"
	# The loader stops at the first refused connection.
	for ((i = 0; i < 200; i++)); do kill -0 "$loader" 2>/dev/null || break; sleep 0.1; done
	ts_stop_pid "$loader" 10
	if ts_log_has_sanitizer "$log"; then
		ts_fail "$tag: no sanitizer report before the SIGKILL" "see below"
		tail -n 40 "$log"
	fi
	ts_start_api "$TS_BIN" || { ts_fail "$tag: restart on the same --db"; ts_finish; }
	ts_pass "$tag: restart on the same --db after SIGKILL"
	ts_python_checks "$tag: acknowledged writes survive SIGKILL" \
		"$TS_DIR/api_cases.py" verify --label "$tag" --api-port "$TS_API_PORT" \
		--admin-token "$TS_ADMIN_TOKEN" --acks "$acks" --bin "$TS_BIN" --db "$TS_DB"
	[ "$with_cli" = 1 ] || return 0
	# The list is read whole first: "acct list | grep -q" under pipefail
	# fails whenever grep's early exit gives the CLI SIGPIPE (a list over
	# one stdio buffer), which looked like lost data here.
	local listing
	listing=$(acct list 2>&1)
	for a in "$tag-op-before" "$tag-op-during"; do
		if grep -q "^$a	" <<<"$listing"; then
			ts_pass "$tag: the CLI's account $a survives too"
		else
			ts_fail "$tag: the CLI's account $a survives too" "$(head -3 <<<"$listing")"
		fi
	done
}

ts_start_api "$TS_BIN" || exit 1
# ---- 1a. the admin API alone
crash_round api 0
# ---- 1b. the admin API and the CLI on the same file
crash_round cli 1

# ---- 2. the store becomes unreadable under the running daemon
token=$(py mint --kid base-k1 --key-secret "$base_secret" --iss base)
ts_check "200 before the store is damaged" \
	env PYTHONPATH="$TS_DIR" "$TS_PY" -c 'import sys, api_cases as a
r = a.req(int(sys.argv[1]), "POST", "/v1/ice-servers", None, a.bearer(sys.argv[2]))
print(r.brief()[:120]); sys.exit(r.status != 200)' "$TS_API_PORT" "$token"
dd if=/dev/zero of="$TS_DB" bs=100 count=1 conv=notrunc status=none
ts_log "zeroed the first 100 bytes of $TS_DB"
ts_python_checks "store unavailable" "$TS_DIR/api_cases.py" store-down \
	--api-port "$TS_API_PORT" --admin-token "$TS_ADMIN_TOKEN" --token "$token" \
	--turn-port "$TS_PORT" --secret "$TS_SECRET" --bin "$TS_BIN"
ts_finish
