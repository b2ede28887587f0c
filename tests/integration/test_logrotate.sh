#!/usr/bin/env bash
# logrotate without copytruncate: it renames log-file and usage-log, then
# sends SIGHUP (postrotate). The daemon must write on to new files at the
# old names, with nothing written before the rename moving and nothing
# after it landing in the renamed files. Also: a reload that changes a key
# serve only acts on at start (relay-threads, pidfile, ...) fails naming it,
# instead of reporting "configuration reloaded" without it; a reload that
# fails (a bad edit of the file) still moves to the new files.
#
#   bash test_logrotate.sh /path/to/turnstone        (what ctest runs)
TS_NAME=logrotate
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || exit 0

conf="$TS_TMP/turnstone.conf"
log="$TS_TMP/turnstone.log"
usage="$TS_TMP/usage.log"
echo "# set by test_logrotate.sh" >"$conf"
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" -c "$conf" --log-file "$log" \
	--usage-log "$usage" || exit 1
export TS_DIR

ts_python_checks "rotation by rename and SIGHUP" - "$TS_PORT" "$TS_SECRET" \
	"$TS_PID" "$log" "$usage" "$conf" <<'EOF'
import os, signal, sys, time
sys.path.insert(0, os.environ["TS_DIR"])
import turnclient as tc
port, secret, pid, log, usage, conf = sys.argv[1:7]
port, pid = int(port), int(pid)

def check(name, ok, detail=""):
    print(("ok " if ok else "FAIL ") + name + (" (%s)" % detail if detail else ""), flush=True)

def read(path):
    try:
        return open(path).read()
    except OSError:
        return ""

def wait_for(path, text, n=1):
    end = time.monotonic() + 10
    while time.monotonic() < end and read(path).count(text) < n:
        time.sleep(0.05)
    return read(path)

def one_allocation(user):
    c = tc.Client(("127.0.0.1", port), timeout=2.0)
    c.set_rest_creds(secret, user)
    ok = c.allocate().cls == tc.SUCCESS and c.refresh(0).cls == tc.SUCCESS
    c.close()
    return ok

check("an allocation before the rotation", one_allocation("before-rotation"))
check("its usage record is written",
      "before-rotation" in wait_for(usage, "before-rotation"))
check("the log file has the start", "listening on" in read(log))

os.rename(log, log + ".1")
os.rename(usage, usage + ".1")
os.kill(pid, signal.SIGHUP)
text = wait_for(log, "configuration reloaded")
check("after SIGHUP the log file at the name is new and written",
      "configuration reloaded" in text and "listening on" not in text, text[:200])
check("the renamed log file keeps what was written before it",
      "listening on" in read(log + ".1"))
check("an allocation after the rotation", one_allocation("after-rotation"))
wait_for(usage, "after-rotation")
check("its usage record goes to the new usage-log",
      "after-rotation" in read(usage) and "before-rotation" not in read(usage))
check("the renamed usage-log has only the record from before",
      "before-rotation" in read(usage + ".1") and "after-rotation" not in read(usage + ".1"))
check("the renamed log file got nothing after the reload",
      "configuration reloaded" not in read(log + ".1"))

# A rename with no SIGHUP in between is fine too: a second reload with the
# file in place opens the same file again and appends to it.
os.kill(pid, signal.SIGHUP)
text = wait_for(log, "configuration reloaded", 2)
check("a reload without rotation appends to the same file",
      text.count("configuration reloaded") == 2)

def refused(key_line, expect):
    with open(conf, "w") as f:
        f.write(key_line + "\n")
    n = read(log).count("reload failed")
    os.kill(pid, signal.SIGHUP)
    text = wait_for(log, "reload failed", n + 1)
    ok = "reload: changing %s needs a restart" % expect in text
    check("%s in a reload: refused, naming the key" % key_line, ok,
          "" if ok else text[-300:])
    with open(conf, "w") as f:
        f.write("# back\n")

refused("relay-threads=3", "'relay-threads'")
refused("daemon", "'daemon'")
refused("prometheus", "'prometheus', 'prometheus-port' or 'prometheus-address'")
refused("pidfile=%s/other.pid" % os.path.dirname(log), "'pidfile'")
check("... and nothing of them was created",
      not os.path.exists(os.path.dirname(log) + "/other.pid"))

# A rotation while the configuration file holds a bad edit: the reload
# fails, but the files are opened again all the same (else the daemon
# would write into a file logrotate compresses next).
with open(conf, "w") as f:
    f.write("no-such-key=1\n")
failed_before = read(log).count("reload failed")
os.rename(log, log + ".2")
os.rename(usage, usage + ".2")
os.kill(pid, signal.SIGHUP)
text = wait_for(log, "reload failed")
check("a failed reload still moves to the new log file",
      "no-such-key" in text and "no-such-key" not in read(log + ".2")
      and read(log + ".2").count("reload failed") == failed_before, text[:300])
check("an allocation after it", one_allocation("after-failed"))
wait_for(usage, "after-failed")
check("... and its usage record goes to the new usage-log",
      "after-failed" in read(usage) and "after-failed" not in read(usage + ".2"))
with open(conf, "w") as f:
    f.write("# back\n")
c = tc.Client(("127.0.0.1", port), timeout=2.0)
check("the server still answers", c.binding().cls == tc.SUCCESS)
c.close()
EOF

# --- the shipped packaging/turnstone.logrotate, run by logrotate --------
lr=$(command -v logrotate || echo /usr/sbin/logrotate)
if [ -x "$lr" ]; then
	lrconf="$TS_TMP/logrotate.conf"
	sed -e "s|/var/log/turnstone/turnstone.log|$log|" \
		-e "s|/var/log/turnstone/usage.jsonl|$usage|" \
		-e "s|create 0640 turnstone turnstone|create 0640|" \
		-e "s|systemctl reload turnstone.service|kill -HUP $TS_PID|" \
		"$TS_SRC/packaging/turnstone.logrotate" >"$lrconf"
	grep -q "kill -HUP $TS_PID" "$lrconf" && grep -q "$usage" "$lrconf" &&
		ts_pass "the shipped logrotate file, pointed at this daemon" ||
		ts_fail "the shipped logrotate file, pointed at this daemon" "$(cat "$lrconf")"
	n=$(grep -c "configuration reloaded" "$log")
	echo "before logrotate" >>"$log" # notifempty: make sure both have lines
	out=$("$lr" -f -s "$TS_TMP/logrotate.state" "$lrconf" 2>&1) &&
		ts_pass "logrotate -f ran it" || ts_fail "logrotate -f ran it" "$out"
	for i in $(seq 1 100); do
		grep -q "configuration reloaded" "$log" 2>/dev/null && break
		sleep 0.05
	done
	grep -q "before logrotate" "$log.1" && [ "$(grep -c "configuration reloaded" "$log.1")" = "$n" ] &&
		ts_pass "logrotate: the rotated log keeps the earlier lines" ||
		ts_fail "logrotate: the rotated log keeps the earlier lines"
	grep -q "configuration reloaded" "$log" && ! grep -q "before logrotate" "$log" &&
		ts_pass "logrotate: its postrotate SIGHUP moved the daemon to a new log file" ||
		ts_fail "logrotate: its postrotate SIGHUP moved the daemon to a new log file" "$(cat "$log" 2>&1)"
	[ -e "$usage.1" ] && [ -e "$usage" ] &&
		ts_pass "logrotate: usage-log rotated and opened again" ||
		ts_fail "logrotate: usage-log rotated and opened again" "$(ls "$TS_TMP")"
else
	ts_log "logrotate missing (scripts/install-deps installs it): skipping its run"
fi
ts_finish
