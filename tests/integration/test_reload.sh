#!/usr/bin/env bash
# SIGHUP rebuilds the listeners too. The daemon starts on port P1 with a
# config file; the file then moves it to P2 and turns TLS on, and SIGHUP:
#  - P2 answers over UDP, TCP and TLS; P1 no longer answers or accepts;
#  - a TCP allocation made on P1 before the reload still refreshes (its
#    connection is not touched);
#  - a reload naming a port another program holds is refused, logged, and
#    P2 keeps serving.
# The ICE-servers API's options reload too: a daemon whose config file
# lists one platform TURN server hands out another after the file changes
# and SIGHUP (health checks off: the documentation addresses listed are
# never contacted).
#
#   bash test_reload.sh /path/to/turnstone        (what ctest runs)
TS_NAME=reload
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || exit 0
ts_make_cert reload || exit 1

conf="$TS_TMP/turnstone.conf"
echo "# set by test_reload.sh" >"$conf"
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --relay-threads 2 -c "$conf" || exit 1
P1=$TS_PORT
P2=$(ts_pick_port) || exit 1
P3=$(ts_pick_port) || exit 1
TLSP=$(ts_pick_port) || exit 1
export TS_DIR

ts_python_checks "listeners follow the configuration" - "$P1" "$P2" "$P3" "$TLSP" \
	"$TS_SECRET" "$TS_PID" "$TS_LOG" "$conf" "$TS_CERT" "$TS_KEY" <<'EOF'
import os, signal, socket, sys, time
sys.path.insert(0, os.environ["TS_DIR"])
import turnclient as tc
p1, p2, p3, tlsp = (int(x) for x in sys.argv[1:5])
secret, pid, log, conf, cert, key = sys.argv[5:11]
pid = int(pid)
H = "127.0.0.1"

def check(name, ok, detail=""):
    print(("ok " if ok else "FAIL ") + name + (" (%s)" % detail if detail else ""), flush=True)

def reloads(n):
    end = time.monotonic() + 10
    while time.monotonic() < end:
        text = open(log).read()
        if text.count("configuration reloaded") + text.count("reload failed") >= n:
            return text
        time.sleep(0.1)
    return open(log).read()

def answers(port, transport="udp"):
    try:
        c = tc.Client((H, port), transport=transport, timeout=1.0)
        ok = c.binding().cls == tc.SUCCESS
        c.close()
        return ok
    except Exception:
        return False

t1 = tc.Client((H, p1), transport="tcp", timeout=3.0)
t1.set_rest_creds(secret, "before-reload")
check("TCP allocation on P1", t1.allocate().cls == tc.SUCCESS)

with open(conf, "w") as f:
    f.write("listening-port=%d\ntls-listening-port=%d\ncert=%s\npkey=%s\n" % (p2, tlsp, cert, key))
os.kill(pid, signal.SIGHUP)
text = reloads(1)
check("reload accepted", "configuration reloaded" in text)
time.sleep(0.5)  # workers pick the new set up within their 200 ms wait
check("P2 answers over UDP", answers(p2))
check("P2 answers over TCP", answers(p2, "tcp"))
check("the TLS port, turned on by the reload, answers over TLS", answers(tlsp, "tls"))
check("P2 serves TLS too (one port for all)", answers(p2, "tls"))
check("P1 no longer answers over UDP", not answers(p1))
try:
    socket.create_connection((H, p1), timeout=1).close()
    refused = False
except OSError:
    refused = True
check("P1 no longer accepts TCP", refused)
r = t1.refresh(600)
check("the TCP allocation made on P1 still refreshes", r.cls == tc.SUCCESS, str(r.error_code()))

holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
holder.bind((H, p3))
with open(conf, "w") as f:
    f.write("listening-port=%d\n" % p3)
os.kill(pid, signal.SIGHUP)
text = reloads(2)
check("a port held by another program: reload refused", "reload failed" in text)
check("... and the reason names the address", "cannot listen on 127.0.0.1:%d" % p3 in text)
check("P2 still answers", answers(p2))
holder.close()
with open(conf, "w") as f:
    f.write("listening-port=%d\nmin-port=50000\nmax-port=50100\n" % p2)
os.kill(pid, signal.SIGHUP)
text = reloads(3)
check("a new relay port range is refused on reload, naming the keys",
      "changing 'min-port' or 'max-port' needs a restart" in text)
check("P2 still answers after it", answers(p2))

# Regression: DTLS turned off and back on by reloads stopped answering
# handshakes until one more reload (its handshake listener was freed while
# it was off and not rebuilt).
import subprocess
def dtls_ok(port):
    r = subprocess.run(["timeout", "-k", "1", "4", "openssl", "s_client",
                        "-dtls1_2", "-connect", "%s:%d" % (H, port)],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True)
    return "New, TLSv1.2, Cipher is" in r.stdout
tls_conf = "listening-port=%d\ntls-listening-port=%d\ncert=%s\npkey=%s\n" % (p2, tlsp, cert, key)
with open(conf, "w") as f:
    f.write(tls_conf)
os.kill(pid, signal.SIGHUP)
reloads(4)
time.sleep(0.5)
check("DTLS handshake on the TLS port", dtls_ok(tlsp))
with open(conf, "w") as f:
    f.write(tls_conf + "no-dtls\n")
os.kill(pid, signal.SIGHUP)
reloads(5)
time.sleep(0.5)
check("no-dtls by reload: no DTLS handshake", not dtls_ok(tlsp))
check("... and TLS still answers", answers(tlsp, "tls"))
with open(conf, "w") as f:  # leave the file as the daemon runs
    f.write(tls_conf)
os.kill(pid, signal.SIGHUP)
reloads(6)
time.sleep(0.5)
check("DTLS back on by the next reload: handshake works at once", dtls_ok(tlsp))

# A bad new file keeps the running configuration, and the log names the
# key and the line.
n, failed = 6, open(log).read().count("reload failed")
for bad, want in (("bogus-key=1\n", "unknown option 'bogus-key' (line 5 of"),
                  ("max-port=1x\n", "invalid value for 'max-port': '1x' (line 5 of"),
                  ("min-port=60000\nmax-port=50000\n",
                   "'min-port' must not be greater than 'max-port'")):
    with open(conf, "w") as f:
        f.write(tls_conf + bad)
    os.kill(pid, signal.SIGHUP)
    n, failed = n + 1, failed + 1
    text = reloads(n)
    ok = text.count("reload failed") == failed and ("reload: " + want) in text
    check("bad file (%s): reload refused, naming the key" % bad.split("=")[0],
          ok, "" if ok else text[-300:])
    check("... and P2 still answers", answers(p2))
with open(conf, "w") as f:
    f.write(tls_conf)
t1.close()
EOF

# --- reloads do not pile up memory -------------------------------------
# Each reload used to keep its TURN configuration (and TLS contexts) until
# exit; 200 reloads then cost over 3 MB. Workers report what they use and
# the rest is freed. (ASan's quarantine would count freed memory as kept.)
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0 \
	ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --relay-threads 2 || exit 1
ts_python_checks "reload memory" - "$TS_PID" "$TS_LOG" <<'EOF'
import os, signal, time
pid, log = int(__import__("sys").argv[1]), __import__("sys").argv[2]
def rss():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
def reload(n):
    for _ in range(n):
        os.kill(pid, signal.SIGHUP)
        time.sleep(0.05)
    end = time.monotonic() + 10
    while open(log).read().count("configuration reloaded") < total[0] + n and time.monotonic() < end:
        time.sleep(0.1)
    total[0] += n
total = [0]
reload(20)  # warm up: allocator arenas, first-time paths
before = rss()
reload(200)
grown = rss() - before
print(("ok" if grown < 1536 else "FAIL") + " 200 reloads: RSS grew %d KB (each kept ~16 KB before)" % grown)
EOF

# --- a SIGHUP while the daemon starts ----------------------------------
# Regression: SIGHUP's default action ended a daemon that had not set its
# signal mask yet (exit 129), one still reading its files, say. The file
# is a FIFO so that the start waits in it when the signal comes; the
# signal then waits too, and reloads once the daemon runs.
fifo="$TS_TMP/slow.conf"
mkfifo "$fifo"
log4="$TS_TMP/hup-at-start.log"
ts_bg "$TS_BIN" serve "${TS_AUTH[@]}" --listening-ip 127.0.0.1 \
	--listening-port "$(ts_pick_port)" --relay-threads 1 -c "$fifo" >"$log4" 2>&1
pid4=$TS_LAST_PID
sleep 0.5
kill -HUP "$pid4" 2>/dev/null
sleep 0.3
feed() { timeout 10 bash -c 'printf "realm=%s\n" "$2" >"$1"' _ "$fifo" "$1"; }
feed start && feed reloaded
for i in $(seq 1 50); do
	grep -q "configuration reloaded" "$log4" && break
	sleep 0.1
done
if kill -0 "$pid4" 2>/dev/null && grep -q "configuration reloaded" "$log4"; then
	ts_pass "a SIGHUP during the start waits, then reloads"
else
	ts_fail "a SIGHUP during the start waits, then reloads" "$(cat "$log4")"
fi
ts_stop_pid "$pid4"

# --- the API's options ------------------------------------------------
ts_api_init "$TS_BIN"
conf2="$TS_TMP/api.conf"
printf 'api-health-interval=0\napi-turn-server=turn:192.0.2.10:3478 fleet-secret\n' >"$conf2"
ts_start_api "$TS_BIN" -c "$conf2" || exit 1
# Regression: a token while the store holds no key at all got 401 from a
# bsearch on an empty array, which UBSan stopped the daemon for.
nokey=$("$TS_PY" -c 'import base64, hmac, hashlib, json, time
b = lambda o: base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=")
m = b({"alg": "HS256", "typ": "JWT", "kid": "nokey"}) + b"." + b({"sub": "x", "aud": "turnstone", "exp": int(time.time()) + 60})
print((m + b"." + base64.urlsafe_b64encode(hmac.new(b"k" * 32, m, hashlib.sha256).digest()).rstrip(b"=")).decode())')
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $nokey" \
	"http://127.0.0.1:$TS_API_PORT/v1/ice-servers")
[ "$code" = 401 ] && kill -0 "$TS_PID" 2>/dev/null &&
	ts_pass "a token before any key exists: 401, daemon up" ||
	ts_fail "a token before any key exists: 401, daemon up" "HTTP $code"
"$TS_BIN" account create acme --db "$TS_DB" >/dev/null &&
	"$TS_BIN" account key add acme --db "$TS_DB" --kid acme-1 --alg HS256 >/dev/null || {
	ts_fail "account setup"
	ts_finish
}
token=$("$TS_BIN" token mint --db "$TS_DB" --account acme --sub alice --ttl 600)
ice() {
	local i out
	for i in $(seq 1 30); do # the store watcher sees new accounts within ~1 s
		out=$(curl -s -X POST -H "Authorization: Bearer $token" \
			"http://127.0.0.1:$TS_API_PORT/v1/ice-servers")
		case $out in *iceServers*) echo "$out"; return 0 ;; esac
		sleep 0.2
	done
	echo "$out"
}
out=$(ice)
case $out in
*192.0.2.10*) ts_pass "API hands out the configured platform server" ;;
*) ts_fail "API hands out the configured platform server" "$out" ;;
esac
printf 'api-health-interval=0\napi-turn-server=turn:192.0.2.20:3478 fleet-secret\n' >"$conf2"
kill -HUP "$TS_PID"
for i in $(seq 1 50); do
	log=$(cat "$TS_LOG")
	case $log in *"configuration reloaded"*) break ;; esac
	sleep 0.1
done
out=$(ice)
case $out in
*192.0.2.20*) ts_pass "after SIGHUP the API hands out the new platform server" ;;
*) ts_fail "after SIGHUP the API hands out the new platform server" "$out" ;;
esac
case $out in
*192.0.2.10*) ts_fail "the old platform server is gone" "$out" ;;
*) ts_pass "the old platform server is gone" ;;
esac
ts_finish
