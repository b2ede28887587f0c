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
prom=$(ts_pick_port) || exit 1
ts_start_server "$TS_BIN" --use-auth-secret --static-auth-secret "$TS_SECRET" \
	--allow-loopback-peers --revoked-interval 1 \
	--prometheus --prometheus-port "$prom" \
	--revoked-from "http://127.0.0.1:$api_port/v1/revoked" || exit 1
b_port=$TS_PORT b_log=$TS_LOG
# wait_log FILE TEXT: up to 4 s for a line holding TEXT (grep -E).
wait_log() {
	for _ in $(seq 1 40); do
		grep -qE -- "$2" "$1" && return 0
		sleep 0.1
	done
	return 1
}
# metric NAME: its value on node B's exporter ("" when absent).
metric() {
	curl -s --max-time 5 "http://127.0.0.1:$prom/metrics" |
		awk -v m="$1" '$1 == m { print $2 }'
}

ts_python_checks "fleet cases" "$TS_DIR/revoked_cases.py" cases \
	--api-port "$api_port" --b-port "$b_port" --admin-token "$TS_ADMIN_TOKEN" \
	--secret "$TS_SECRET" --acme-secret "$acme_secret"
if grep -q "revoked-from: TURN refuses the credentials of 1 blocked user and" "$b_log"; then
	ts_pass "node B logs what it refuses"
else
	ts_fail "node B logs what it refuses" "not in $b_log"
fi

users=$(metric turnstone_revoked_users) last=$(metric turnstone_revoked_last_sync_timestamp_seconds)
fails=$(metric turnstone_revoked_sync_failures_total)
if [ "$users" = 1 ] && [ "$fails" = 0 ] && [ "${last:-0}" -ge $(($(date +%s) - 5)) ]; then
	ts_pass "node B's metrics: 1 revoked user, a recent sync, no failure"
else
	ts_fail "node B's metrics: 1 revoked user, a recent sync, no failure" \
		"users '$users' last '$last' failures '$fails'"
fi

# A node whose secret the API does not know gets 401s (said once, with
# a hint); rotated to the right one by SIGHUP, its next poll signs with
# it and the list arrives.
conf=$TS_TMP/c.conf
printf 'use-auth-secret\nstatic-auth-secret=not-the-platform-secret\n' >"$conf"
ts_start_server "$TS_BIN" -c "$conf" --allow-loopback-peers --revoked-interval 1 \
	--revoked-from "http://127.0.0.1:$api_port/v1/revoked" || exit 1
c_pid=$TS_PID c_log=$TS_LOG
wait_log "$c_log" "HTTP status 401"
grep -q "HTTP status 401 (is this node's first static-auth-secret one of the API's" "$c_log" &&
	ts_pass "a node with another secret: 401, said with a hint" ||
	ts_fail "a node with another secret: 401, said with a hint" "$(grep revoked-from "$c_log")"
printf 'use-auth-secret\nstatic-auth-secret=%s\n' "$TS_SECRET" >"$conf"
kill -HUP "$c_pid"
wait_log "$c_log" "revoked-from: TURN refuses the credentials of 1 blocked user and"
grep -q "revoked-from: TURN refuses the credentials of 1 blocked user and" "$c_log" &&
	ts_pass "the secret rotated by SIGHUP signs the next poll" ||
	ts_fail "the secret rotated by SIGHUP signs the next poll" "$(grep -E 'revoked-from|reload' "$c_log")"
grep -qF -- "$TS_SECRET" <(tail -n +2 "$c_log") &&
	ts_fail "no secret in node C's log" || ts_pass "no secret in node C's log"

# A goes away: B says so once, and keeps the last list.
ts_stop_server "$a_pid" "$a_log"
ts_forget_server "$a_pid"
wait_log "$b_log" "the last list stays"
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
fails=$(metric turnstone_revoked_sync_failures_total)
if [ "${fails:-0}" -ge 2 ] && [ "$(metric turnstone_revoked_users)" = 1 ]; then
	ts_pass "node B's metrics count each failed poll, the list kept ($fails)"
else
	ts_fail "node B's metrics count each failed poll, the list kept" "failures '$fails'"
fi
# Over HTTPS: A again, its API on TLS, and two B nodes: one trusting
# A's certificate (it gets the list: mallory is refused), one trusting
# another (the handshake fails, said once; it has no list).
ts_make_cert revoked || exit 1
cert=$TS_CERT key=$TS_KEY
ts_make_cert other || exit 1
other_ca=$TS_CERT
ts_start_api_tls "$TS_BIN" "$cert" "$key" || exit 1
api2=$TS_API_PORT
ts_start_server "$TS_BIN" --use-auth-secret --static-auth-secret "$TS_SECRET" \
	--allow-loopback-peers --revoked-interval 1 --revoked-ca-file "$cert" \
	--revoked-from "https://127.0.0.1:$api2/v1/revoked" || exit 1
tls_port=$TS_PORT tls_log=$TS_LOG
ts_start_server "$TS_BIN" --use-auth-secret --static-auth-secret "$TS_SECRET" \
	--allow-loopback-peers --revoked-interval 1 --revoked-ca-file "$other_ca" \
	--revoked-from "https://127.0.0.1:$api2/v1/revoked" || exit 1
bad_log=$TS_LOG
wait_log "$tls_log" "revoked-from: TURN refuses"
wait_log "$bad_log" "the last list stays"
grep -q "revoked-from: TURN refuses the credentials of 1 blocked user and" "$tls_log" &&
	ts_pass "over HTTPS with revoked-ca-file: the list arrives" ||
	ts_fail "over HTTPS with revoked-ca-file: the list arrives" "not in $tls_log"
ts_python_checks "over HTTPS" "$TS_DIR/revoked_cases.py" down \
	--b-port "$tls_port" --secret "$TS_SECRET"
grep -q "TLS handshake: .*the last list stays" "$bad_log" &&
	! grep -q "revoked-from: TURN refuses" "$bad_log" &&
	ts_pass "a certificate another CA signed: refused, said" ||
	ts_fail "a certificate another CA signed: refused, said" \
		"$(grep revoked-from "$bad_log")"

# A revoked-ca-file that cannot be loaded is a startup error naming it,
# as for api-cert: else the node would run without the list, warning.
echo "not a certificate" >"$TS_TMP/notca.pem"
for f in "$TS_TMP/none.pem" "$TS_TMP/notca.pem"; do
	out=$(timeout -k 1 10 "$TS_BIN" serve --use-auth-secret --static-auth-secret x \
		--listening-port "$(ts_pick_port)" --revoked-ca-file "$f" \
		--revoked-from "https://127.0.0.1:$api2/v1/revoked" --check-config 2>&1)
	rc=$?
	[ "$rc" = 2 ] && [[ $out == *"'revoked-ca-file' $f"* ]] &&
		ts_pass "revoked-ca-file ${f##*/}: startup error naming the key" ||
		ts_fail "revoked-ca-file ${f##*/}: startup error naming the key" \
			"status $rc: $out"
done

# The secret signs requests; it must not reach the log.
if grep -qF -- "$TS_SECRET" <(tail -n +2 "$b_log"); then
	ts_fail "no secret in node B's log"
else
	ts_pass "no secret in node B's log"
fi
ts_finish
