#!/usr/bin/env bash
# serve --check-config checks the ICE-servers API's store (db) as the
# start would open it, without creating or changing it: it said
# "configuration OK" for a db in a missing directory or a file that is
# not a database, and the start then failed. The same for log-file and
# usage-log, and for the start's warning about a db others may read. No
# daemon is started; nothing is sent.
TS_NAME=check_config
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || exit 0

check() { # NAME WANT-RC WANT-TEXT DB
	local out rc=0
	out=$("$TS_BIN" serve --static-auth-secret "$TS_SECRET" \
		--api-listening-port 1 --db "$4" --check-config 2>&1) || rc=$?
	if [ "$rc" = "$2" ] && [[ $out == *"$3"* ]]; then
		ts_pass "$1"
	else
		ts_fail "$1" "exit $rc: $out"
	fi
}

check "a db in a missing directory is refused, naming db" 2 "'db'" \
	"$TS_TMP/no/such/dir/accounts.db"
printf 'not a database at all, but long enough to look like a file\n' >"$TS_TMP/text"
check "a db that is not a database is refused, naming db" 2 "'db'" "$TS_TMP/text"
# Refused by the start without a change to the file; --check-config said
# OK for both. Another program's database: coturn's userdb given as db.
"$TS_PY" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("CREATE TABLE turnusers_lt (realm, name, hmackey)")
c.commit()' "$TS_TMP/turndb"
check "another program's SQLite database is refused, naming db" 2 \
	"'db': '$TS_TMP/turndb': an SQLite database of another program" \
	"$TS_TMP/turndb"
"$TS_PY" -c 'import sqlite3, sys
sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version = 99")' \
	"$TS_TMP/newer.db"
check "a store of a newer schema is refused, naming db" 2 \
	"'db': '$TS_TMP/newer.db': a newer schema version" "$TS_TMP/newer.db"
check "a new db in a writable directory is OK" 0 "configuration OK" "$TS_TMP/new.db"
if [ -e "$TS_TMP/new.db" ]; then
	ts_fail "--check-config does not create the db"
else
	ts_pass "--check-config does not create the db"
fi
"$TS_BIN" account create acme --db "$TS_TMP/acc.db" >/dev/null 2>&1
check "an existing store is OK" 0 "configuration OK" "$TS_TMP/acc.db"
: >"$TS_TMP/empty.db"
check "an empty file (what SQLite starts from) is OK" 0 "configuration OK" "$TS_TMP/empty.db"
# A store others may read holds TURN secrets and JWT keys: the start warns,
# and --check-config said nothing. It warns the same (and still passes).
chmod 644 "$TS_TMP/acc.db"
check "a db others may read is OK, with the start's warning" 0 \
	"'$TS_TMP/acc.db' has mode 0644: group or others may read" "$TS_TMP/acc.db"
chmod 600 "$TS_TMP/acc.db"
out=$("$TS_BIN" serve --static-auth-secret "$TS_SECRET" --api-listening-port 1 \
	--db "$TS_TMP/acc.db" --check-config 2>&1) || true
if [[ $out == "configuration OK" ]]; then
	ts_pass "a db of mode 0600 gets no warning"
else
	ts_fail "a db of mode 0600 gets no warning" "$out"
fi

# log-file and usage-log: "configuration OK", then the start failed.
check_file() { # NAME WANT-RC WANT-TEXT ARGS...
	local name=$1 want=$2 text=$3 out rc=0
	shift 3
	out=$("$TS_BIN" serve --static-auth-secret "$TS_SECRET" "$@" \
		--check-config 2>&1) || rc=$?
	if [ "$rc" = "$want" ] && [[ $out == *"$text"* ]]; then
		ts_pass "$name"
	else
		ts_fail "$name" "exit $rc: $out"
	fi
}
for key in log-file usage-log; do
	check_file "a $key in a missing directory is refused, naming it" 2 \
		"cannot open $key '$TS_TMP/no/such/dir/x.log': No such file" \
		--$key "$TS_TMP/no/such/dir/x.log"
	check_file "a $key that is a directory is refused, naming it" 2 \
		"cannot open $key '$TS_TMP': Is a directory" --$key "$TS_TMP"
	check_file "a new $key in a writable directory is OK" 0 \
		"configuration OK" --$key "$TS_TMP/$key.log"
	if [ -e "$TS_TMP/$key.log" ]; then
		ts_fail "--check-config does not create the $key"
	else
		ts_pass "--check-config does not create the $key"
	fi
	# What the start says for each, so the two agree.
	rc=0
	out=$(timeout 20 "$TS_BIN" serve --static-auth-secret "$TS_SECRET" \
		--listening-port "$(ts_pick_port)" --relay-threads 1 \
		--$key "$TS_TMP/no/such/dir/x.log" 2>&1) || rc=$?
	if [ "$rc" != 0 ] && [ "$rc" != 124 ] &&
		[[ $out == *"cannot open $key '$TS_TMP/no/such/dir/x.log'"* ]]; then
		ts_pass "the start refuses that $key too"
	else
		ts_fail "the start refuses that $key too" "exit $rc: $out"
	fi
done
check_file "usage-log=- (stdout) is OK" 0 "configuration OK" --usage-log -
ts_finish
