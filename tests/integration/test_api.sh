#!/usr/bin/env bash
# The ICE-servers HTTP API against its contract (/work/spec/api-spec.md,
# docs/openapi.yaml): every error of the error table, the JWT refusals
# (alg none, wrong key, alg confusion, expired, bad kid, oversized and
# deeply nested tokens, ...), request bodies, CORS, rate limits, the admin
# API, /v1/ip-ranges, /healthz and /metrics. A minted credential must then
# allocate and relay on the same daemon's TURN listener.
#
# Accounts are made with the CLI on the --db file before the daemon
# starts (acme, small, limited, gone); api_cases.py then adds one through
# the admin API (rsaco, with an RS256 key it generates with openssl) and
# changes others with the CLI while the daemon runs. See api_cases.py for
# the table; each case prints one line.
#
#   bash test_api.sh /path/to/turnstone
TS_NAME=api
. "$(dirname "$0")/lib.sh"
ts_api_init "${1:-}"

acme_secret="acme-secret-$RANDOM$RANDOM-0123456789abcdefghij"
small_secret="small-secret-$RANDOM$RANDOM-0123456789abcdefghij"
limited_secret="limited-secret-$RANDOM$RANDOM-0123456789abcdefghij"
gone_secret="gone-secret-$RANDOM$RANDOM-0123456789abcdefghij"

acct() { timeout 30 "$TS_BIN" account "$@" --db "$TS_DB" >>"$TS_TMP/cli.log" 2>&1; }
setup() {
	acct create acme &&
		acct key add acme --kid acme-k1 --alg HS256 --secret "$acme_secret" &&
		acct create small --max-ttl 300 &&
		acct key add small --kid small-k1 --alg HS256 --secret "$small_secret" &&
		acct create limited --rate 2 --burst 2 &&
		acct key add limited --kid limited-k1 --alg HS256 --secret "$limited_secret" &&
		acct create gone &&
		acct key add gone --kid gone-k1 --alg HS256 --secret "$gone_secret"
}
if ! setup; then
	ts_log "account setup with the CLI failed:"
	cat "$TS_TMP/cli.log" >&2
	exit 1
fi

ts_start_api "$TS_BIN" || exit 1

TS_CHECK_TIMEOUT=150 ts_python_checks "api cases" "$TS_DIR/api_cases.py" cases \
	--api-port "$TS_API_PORT" --turn-port "$TS_PORT" --secret "$TS_SECRET" \
	--admin-token "$TS_ADMIN_TOKEN" --bin "$TS_BIN" --db "$TS_DB" --tmp "$TS_TMP" \
	--relay-min "$TS_MINP" --relay-max "$TS_MAXP" \
	--acme-secret "$acme_secret" --small-secret "$small_secret" \
	--limited-secret "$limited_secret" --gone-secret "$gone_secret"

# No secret may reach the daemon's output (admin token, key secrets, REST
# secret). Line 1 is lib.sh's own echo of the command line.
leaks=0
for s in "$TS_ADMIN_TOKEN" "$acme_secret" "$small_secret" "$TS_SECRET"; do
	# Not "tail | grep -q": under pipefail, grep's early exit gives tail
	# SIGPIPE and the pipeline reports no match even when there is one.
	grep -qF -- "$s" <(tail -n +2 "$TS_LOG") && leaks=1
done
if [ "$leaks" = 0 ]; then ts_pass "no secret in the daemon log"; else
	ts_fail "no secret in the daemon log" "a secret appears in $TS_LOG"; fi
ts_finish
