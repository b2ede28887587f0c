#!/usr/bin/env bash
# userdb (coturn's -b): a coturn SQLite user database made by coturn's own
# turnadmin, read by Turnstone:
#  - its long-term users of our realm authenticate (MD5 keys), a wrong
#    password or a user of another realm does not;
#  - its shared secret serves use-auth-secret without static-auth-secret;
#  - its denied_peer_ip rows join the peer policy;
#  - SIGHUP reads it again (a user added or deleted by turnadmin);
#  - a missing file, a file that is not coturn's, or a key Turnstone
#    cannot use is a startup error naming 'userdb' (and --check-config
#    says so too).
#
#   bash test_userdb.sh /path/to/turnstone        (what ctest runs)
TS_NAME=userdb
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || exit 0
TURNADMIN=${TS_TURNADMIN:-$(command -v turnadmin)}
if [ -z "$TURNADMIN" ]; then
	ts_log "FAIL: turnadmin (Debian's coturn, scripts/install-deps) is missing"
	exit 1
fi
db="$TS_TMP/turndb"

# turnadmin logs to /var/log/turn_<pid>_<date>.log when it can: remove
# the file of each run we make, by its PID.
tadmin() {
	"$TURNADMIN" "$@" >"$TS_TMP/turnadmin.out" 2>&1 &
	local pid=$! rc
	wait "$pid"
	rc=$?
	rm -f /var/log/turn_"$pid"_*.log 2>/dev/null
	[ "$rc" = 0 ] || { ts_log "turnadmin $* failed:"; cat "$TS_TMP/turnadmin.out" >&2; }
	return "$rc"
}
tadmin -a -b "$db" -u alice -r test -p alicepw &&
	tadmin -a -b "$db" -u dave -r test -p davepw &&
	tadmin -a -b "$db" -u bob -r other.realm -p bobpw &&
	tadmin -s dbsecret -b "$db" -r test &&
	tadmin -s othersecret -b "$db" -r other.realm || exit 1
"$TS_PY" - "$db" <<'EOF' || exit 1
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("INSERT INTO denied_peer_ip (realm, ip_range) VALUES ('test', '127.0.0.5')")
c.execute("INSERT INTO denied_peer_ip (realm, ip_range) VALUES ('other.realm', '127.0.0.1')")
c.commit()
EOF
ts_pass "turnadmin wrote a coturn user database"

out=$("$TS_BIN" serve --realm test --userdb "$db" --check-config 2>&1)
[ $? = 0 ] && [[ $out == *"userdb $db: 2 users, 1 shared secrets and 1 peer ranges of realm 'test'"* ]] &&
	ts_pass "--check-config reads it: 2 users, 1 secret, 1 range of realm test" ||
	ts_fail "--check-config reads it" "$out"

out=$("$TS_BIN" serve --realm example.org --userdb "$db" --check-config 2>&1)
[ $? = 0 ] && [[ $out == *"holds no user and no shared secret of realm 'example.org'"* ]] &&
	ts_pass "a userdb with nothing of this realm: a warning naming the realm" ||
	ts_fail "a userdb with nothing of this realm: a warning naming the realm" "$out"

ts_start_server "$TS_BIN" --userdb "$db" --allow-loopback-peers || exit 1
export TS_DIR
ts_python_checks "long-term users from the userdb" - "$TS_PORT" "$TS_PID" "$TS_LOG" "$db" \
	"$TURNADMIN" <<'EOF'
import os, signal, subprocess, sys, time
sys.path.insert(0, os.environ["TS_DIR"])
import turnclient as tc
port, pid, log, db, turnadmin = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]

def check(name, ok, detail=""):
    print(("ok " if ok else "FAIL ") + name + (" (%s)" % detail if detail else ""), flush=True)

n_ip = [0]
def allocate(user, pw):
    n_ip[0] += 1  # a new source address each time: the 401 limit is per IP
    c = tc.Client(("127.0.0.1", port), bind=("127.0.3.%d" % n_ip[0], 0), timeout=2.0)
    c.set_user(user, pw)
    r = c.allocate()
    return c, r

c, r = allocate("alice", "alicepw")
check("alice (turnadmin -a, realm test) allocates", r.cls == tc.SUCCESS, str(r.error_code()))
p = c.create_permission("127.0.0.1")
check("a peer the userdb does not deny: permitted", p.cls == tc.SUCCESS, str(p.error_code()))
p = c.create_permission("127.0.0.5")
check("127.0.0.5, in the userdb's denied_peer_ip: 403", p.code() == 403, str(p.error_code()))
c.close()
_, r = allocate("dave", "alicepw")
check("dave with a wrong password: 401", r.code() == 401, str(r.error_code()))
_, r = allocate("bob", "bobpw")
check("bob, a user of another realm: 401", r.code() == 401, str(r.error_code()))

def tadmin(*args):
    p = subprocess.Popen([turnadmin] + list(args), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    p.wait(30)
    for f in os.listdir("/var/log") if os.access("/var/log", os.W_OK) else []:
        if f.startswith("turn_%d_" % p.pid):
            os.unlink(os.path.join("/var/log", f))
    return p.returncode

check("turnadmin adds carol and deletes alice",
      tadmin("-a", "-b", db, "-u", "carol", "-r", "test", "-p", "carolpw") == 0 and
      tadmin("-d", "-b", db, "-u", "alice", "-r", "test") == 0)
_, r = allocate("carol", "carolpw")
check("before SIGHUP carol is unknown", r.code() == 401, str(r.error_code()))
os.kill(pid, signal.SIGHUP)
end = time.monotonic() + 10
while "configuration reloaded" not in open(log).read() and time.monotonic() < end:
    time.sleep(0.1)
_, r = allocate("carol", "carolpw")
check("after SIGHUP carol allocates", r.cls == tc.SUCCESS, str(r.error_code()))
_, r = allocate("alice", "alicepw")
check("... and alice, deleted, does not", r.code() == 401, str(r.error_code()))
EOF
ts_forget_server "$TS_PID"
ts_stop_server "$TS_PID" "$TS_LOG"

# REST credentials from the userdb's turn_secret (no static-auth-secret).
ts_start_server "$TS_BIN" --userdb "$db" --use-auth-secret || exit 1
ts_python_checks "REST secret from the userdb" - "$TS_PORT" <<'EOF'
import os, sys
sys.path.insert(0, os.environ["TS_DIR"])
import turnclient as tc
port = int(sys.argv[1])
def check(name, ok, detail=""):
    print(("ok " if ok else "FAIL ") + name + (" (%s)" % detail if detail else ""), flush=True)
c = tc.Client(("127.0.0.1", port), timeout=2.0)
c.set_rest_creds("dbsecret", "someone")
r = c.allocate()
check("REST credentials made with the userdb's secret of realm test", r.cls == tc.SUCCESS, str(r.error_code()))
c.close()
c = tc.Client(("127.0.0.1", port), bind=("127.0.3.200", 0), timeout=2.0)
c.set_rest_creds("othersecret", "someone")
r = c.allocate()
check("... not with another realm's secret", r.code() == 401, str(r.error_code()))
c.close()
EOF
ts_forget_server "$TS_PID"
ts_stop_server "$TS_PID" "$TS_LOG"

# What cannot be used stops the start, naming the key. (timeout stops a
# server that starts after all; a sleep-then-kill in the background kept
# the output open 5 s each time, and could hit a PID reused meanwhile.)
bad() { # name, expected text, serve args...
	local name=$1 want=$2 out rc
	shift 2
	out=$(timeout -k 2 10 "$TS_BIN" serve --realm test \
		--listening-port "$(ts_pick_port)" "$@" 2>&1 </dev/null)
	rc=$?
	[ "$rc" = 2 ] && [[ $out == *"$want"* ]] && ts_pass "$name" ||
		ts_fail "$name" "status $rc: $out"
}
bad "a missing userdb: startup error" "'userdb': cannot read '$TS_TMP/none'" \
	--userdb "$TS_TMP/none"
printf 'not a database at all, but long enough to look like a file\n' >"$TS_TMP/text"
bad "a file that is not SQLite: startup error" "'userdb': cannot read" \
	--userdb "$TS_TMP/text"
"$TS_PY" -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("CREATE TABLE t (x)")' "$TS_TMP/other.db"
bad "an SQLite file without coturn's tables: startup error" "not a coturn user database" \
	--userdb "$TS_TMP/other.db"
cp "$db" "$TS_TMP/enc.db"
"$TS_PY" -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE turnusers_lt SET hmackey = ? WHERE name = ?", ("q2ZlYWZhY2VkZWFkYmVlZg==", "dave"))
c.commit()' "$TS_TMP/enc.db"
bad "a key that is not 32 hex digits (secret-key-file): startup error naming the user" \
	"'userdb': user 'dave' has a key that is not 32 hex digits" --userdb "$TS_TMP/enc.db"
bad "use-auth-secret, a userdb of no secret for the realm: startup error" \
	"or a shared secret in 'userdb'" --userdb "$db" --use-auth-secret --realm nosuch
ts_finish
