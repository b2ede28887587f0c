#!/usr/bin/env bash
# aux-server (coturn's): one more listening address and port, serving
# STUN and TURN like the others: a Binding and an authenticated Allocate
# over UDP and TCP on it, and a reload that drops it stops its answers.
#
#   bash test_aux_server.sh /path/to/turnstone        (what ctest runs)
TS_NAME=aux_server
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || exit 0
AUX=$(ts_pick_port) || exit 1
conf="$TS_TMP/turnstone.conf"
echo "aux-server=127.0.0.2:$AUX" >"$conf"
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" -c "$conf" || exit 1
export TS_DIR
ts_python_checks "the aux-server listener" - "$AUX" "$TS_SECRET" "$TS_PID" "$TS_LOG" "$conf" <<'PY'
import os, signal, sys, time
sys.path.insert(0, os.environ["TS_DIR"])
import turnclient as tc
aux, secret, pid, log, conf = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
def check(name, ok, detail=""):
    print(("ok " if ok else "FAIL ") + name + (" (%s)" % detail if detail else ""), flush=True)
for tr in ("udp", "tcp"):
    c = tc.Client(("127.0.0.2", aux), transport=tr, timeout=2.0)
    check("Binding on 127.0.0.2:AUX over %s" % tr, c.binding().cls == tc.SUCCESS)
    c.set_rest_creds(secret, "aux-" + tr)
    r = c.allocate()
    check("Allocate on it over %s" % tr, r.cls == tc.SUCCESS, str(r.error_code()))
    c.close()
open(conf, "w").write("# aux-server gone\n")
os.kill(pid, signal.SIGHUP)
end = time.monotonic() + 10
while "configuration reloaded" not in open(log).read() and time.monotonic() < end:
    time.sleep(0.1)
time.sleep(0.5)  # workers take the new listening set within 200 ms
c = tc.Client(("127.0.0.2", aux), timeout=1.0)
try:
    gone = c.binding().cls != tc.SUCCESS
except Exception:
    gone = True
check("after a reload without it, no answer there", gone)
PY
ts_finish
