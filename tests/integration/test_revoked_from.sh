#!/usr/bin/env bash
# revoked-from (docs/api.md, "Blocking a user"): a fleet's TURN-only node
# B polls node A's GET /v1/revoked, so users blocked and accounts
# disabled on A stop relaying on B too; B keeps its last list while A is
# down. Two daemons on loopback; see revoked_cases.py.
#
#   bash test_revoked_from.sh /path/to/turnstone
TS_NAME=revoked_from
. "$(dirname "$0")/lib.sh"
ts_api_init "${1:-}"

acme_secret="acme-secret-$RANDOM$RANDOM-0123456789abcdefghij"
acct() { timeout 30 "$TS_BIN" account "$@" --db "$TS_DB" >>"$TS_TMP/cli.log" 2>&1; }
if ! { acct create acme &&
	acct key add acme --kid acme-k1 --alg HS256 --secret "$acme_secret"; }; then
	ts_log "account setup with the CLI failed:"
	cat "$TS_TMP/cli.log" >&2
	exit 1
fi

ts_start_api "$TS_BIN" || exit 1
a_pid=$TS_PID a_log=$TS_LOG api_port=$TS_API_PORT
ts_start_server "$TS_BIN" --use-auth-secret --static-auth-secret "$TS_SECRET" \
	--allow-loopback-peers --revoked-interval 1 \
	--revoked-from "http://127.0.0.1:$api_port/v1/revoked" || exit 1
b_port=$TS_PORT b_log=$TS_LOG

ts_python_checks "fleet cases" "$TS_DIR/revoked_cases.py" cases \
	--api-port "$api_port" --b-port "$b_port" --admin-token "$TS_ADMIN_TOKEN" \
	--secret "$TS_SECRET" --acme-secret "$acme_secret"
if grep -q "revoked-from: TURN refuses the credentials of 1 blocked users" "$b_log"; then
	ts_pass "node B logs what it refuses"
else
	ts_fail "node B logs what it refuses" "not in $b_log"
fi

# A goes away: B says so once, and keeps the last list.
ts_stop_server "$a_pid" "$a_log"
ts_forget_server "$a_pid"
for _ in $(seq 1 40); do
	grep -q "the last list stays" "$b_log" && break
	sleep 0.1
done
if grep -q "revoked-from http://127.0.0.1:$api_port/v1/revoked: .*the last list stays" "$b_log"; then
	ts_pass "node B warns when A cannot be reached"
else
	ts_fail "node B warns when A cannot be reached" "not in $b_log"
fi
ts_python_checks "with A down" "$TS_DIR/revoked_cases.py" down \
	--b-port "$b_port" --secret "$TS_SECRET"
sleep 2.2 # two more failed polls: said once, not each time
n=$(grep -c "the last list stays" "$b_log")
if [ "$n" = 1 ]; then ts_pass "the warning is said once"; else
	ts_fail "the warning is said once" "$n times"; fi
# The secret signs requests; it must not reach the log.
if grep -qF -- "$TS_SECRET" <(tail -n +2 "$b_log"); then
	ts_fail "no secret in node B's log"
else
	ts_pass "no secret in node B's log"
fi
ts_finish
