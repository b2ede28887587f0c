#!/usr/bin/env bash
# Blocking end users and disabling accounts (docs/api.md, "Blocking a
# user"): the admin API and the CLI, the API's 403, and the daemon's own
# TURN side refusing credentials it minted before and ending their live
# allocations. All on loopback; see block_cases.py.
#
#   bash test_api_block.sh /path/to/turnstone
TS_NAME=api_block
. "$(dirname "$0")/lib.sh"
ts_api_init "${1:-}"

acme_secret="acme-secret-$RANDOM$RANDOM-0123456789abcdefghij"
beta_secret="beta-secret-$RANDOM$RANDOM-0123456789abcdefghij"
acct() { timeout 30 "$TS_BIN" account "$@" --db "$TS_DB" >>"$TS_TMP/cli.log" 2>&1; }
if ! { acct create acme &&
	acct key add acme --kid acme-k1 --alg HS256 --secret "$acme_secret" &&
	acct create beta &&
	acct key add beta --kid beta-k1 --alg HS256 --secret "$beta_secret"; }; then
	ts_log "account setup with the CLI failed:"
	cat "$TS_TMP/cli.log" >&2
	exit 1
fi

# A store group or others may read (it holds the keys just added) is
# warned about at start, and left as it is.
chmod 644 "$TS_DB"
ts_start_api "$TS_BIN" || exit 1
if grep -qF "db '$TS_DB' has mode 0644: group or others may read or write it" "$TS_LOG" &&
	grep -qF "fix with 'chmod 600 $TS_DB'" "$TS_LOG" &&
	[ "$(stat -c %a "$TS_DB")" = 644 ]; then
	ts_pass "a store readable by others is warned about, not changed"
else
	ts_fail "a store readable by others is warned about, not changed" "not in $TS_LOG"
fi

ts_python_checks "block cases" "$TS_DIR/block_cases.py" \
	--api-port "$TS_API_PORT" --turn-port "$TS_PORT" \
	--admin-token "$TS_ADMIN_TOKEN" --bin "$TS_BIN" --db "$TS_DB" \
	--acme-secret "$acme_secret" --beta-secret "$beta_secret" \
	--log "$TS_LOG"

# The daemon said what TURN refuses, and no sub it was given to block
# reached its log.
if grep -q "TURN refuses the credentials of 1 blocked user and" "$TS_LOG"; then
	ts_pass "the daemon logs how many users TURN refuses"
else
	ts_fail "the daemon logs how many users TURN refuses" "not in $TS_LOG"
fi
ts_finish
