#!/usr/bin/env bash
# The man pages and the example configuration stay true to the code:
#   - every implemented option of src/server/config_opts.c is documented in
#     turnstone.conf(5) and listed in packaging/turnstone.conf.example, and
#     neither names an option that does not exist (check_docs.py);
#   - the example passes --check-config as shipped plus a secret (the one
#     thing it leaves out on purpose), fails without one, and each of its
#     commented options passes when uncommented;
#   - both man pages render with groff/man without a warning (skipped if
#     groff or man-db are missing).
#
#   bash test_docs.sh /path/to/turnstone     (ctest)
TS_NAME=docs
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || exit 0
export PYTHONDONTWRITEBYTECODE=1

ts_python_checks "options documented" "$TS_DIR/check_docs.py" "$TS_SRC" "$TS_BIN"

example=$TS_SRC/packaging/turnstone.conf.example
ts_check "example config passes --check-config (with a secret)" \
	"$TS_BIN" serve --check-config -c "$example" --static-auth-secret docs-test-secret
out=$("$TS_BIN" serve --check-config -c "$example" 2>&1)
rc=$?
if [ "$rc" = 2 ] && [[ $out == *"needs at least one 'static-auth-secret'"* ]]; then
	ts_pass "example config ships without a usable secret"
else
	ts_fail "example config ships without a usable secret" "status $rc: $out"
fi

for page in "$TS_SRC/docs/man/turnstone.8" "$TS_SRC/docs/man/turnstone.conf.5"; do
	name=${page##*/}
	if command -v groff >/dev/null; then
		warn=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
		[ -z "$warn" ] && ts_pass "groff renders $name without warnings" ||
			ts_fail "groff renders $name without warnings" "$warn"
	else
		ts_log "groff missing: skipping the groff check of $name"
	fi
	if command -v man >/dev/null; then
		warn=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >"$TS_TMP/$name.txt")
		rc=$?
		if [ "$rc" = 0 ] && [ -z "$warn" ] && [ -s "$TS_TMP/$name.txt" ]; then
			ts_pass "man -l renders $name without warnings"
		else
			ts_fail "man -l renders $name without warnings" "status $rc: $warn"
		fi
	else
		ts_log "man missing: skipping the man -l check of $name"
	fi
done
ts_finish
