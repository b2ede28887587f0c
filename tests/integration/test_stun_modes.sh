#!/usr/bin/env bash
# coturn's STUN/TURN modes on the wire (loopback, 127.0.0.1 and ::1), each
# switched by SIGHUP on one daemon whose config file changes:
#  - allocation-default-address-family=keep: an Allocate without
#    REQUESTED-ADDRESS-FAMILY gets a relay of the client's own family;
#    without the option, IPv4 (RFC 8656 7.2) even for an IPv6 client;
#  - no-stun: Binding gets no answer, Allocate works;
#  - secure-stun: Binding gets 401, then a signed answer;
#  - stun-only: Binding answered, Allocate gets no answer; a reload with
#    stun-only and no-stun together is refused, naming both keys, and the
#    running configuration stays;
#  - the same pair on the command line stops startup (exit status 2).
# About 15 s, most of it waiting out requests that get no answer.
#
#   bash test_stun_modes.sh /path/to/turnstone        (what ctest runs)
TS_NAME=stun_modes
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
if [ "$TS_SERVER" != turnstone ]; then
	ts_log "turnstone only"
	exit 0
fi
if ! "$TS_PY" -c 'import socket; socket.socket(socket.AF_INET6, socket.SOCK_DGRAM).bind(("::1", 0))'; then
	ts_log "no ::1 on this machine"
	exit 1
fi

out=$("$TS_BIN" serve "${TS_AUTH[@]}" --stun-only --no-stun 2>&1)
rc=$?
if [ "$rc" = 2 ] && [[ $out == *"'stun-only' and 'no-stun' together"* ]]; then
	ts_pass "stun-only with no-stun: startup error naming both"
else
	ts_fail "stun-only with no-stun: startup error naming both" "status $rc: $out"
fi

conf="$TS_TMP/turnstone.conf"
echo "allocation-default-address-family=keep" >"$conf"
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --listening-ip ::1 --relay-ip ::1 \
	-c "$conf" || exit 1
export TS_DIR

ts_python_checks "modes follow the configuration" - "$TS_PORT" "$TS_SECRET" \
	"$TS_PID" "$TS_LOG" "$conf" <<'EOF'
import os, signal, sys, time
sys.path.insert(0, os.environ["TS_DIR"])
import turnclient as tc
port, secret, pid, log, conf = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
n_reloads = 0

def check(name, ok, detail=""):
    print(("ok " if ok else "FAIL ") + name + (" (%s)" % detail if detail else ""), flush=True)

def reload(text):
    global n_reloads
    n_reloads += 1
    with open(conf, "w") as f:
        f.write(text)
    os.kill(pid, signal.SIGHUP)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        s = open(log).read()
        if s.count("configuration reloaded") + s.count("reload failed") >= n_reloads:
            break
        time.sleep(0.1)
    time.sleep(0.5)  # workers take the new turn_cfg at their next loop turn
    return open(log).read()

def client(host, uid):
    c = tc.Client((host, port), timeout=1.0)
    c.set_rest_creds(secret, uid)
    return c

def relay_of(host, uid):
    """The relayed address of a plain Allocate (no family attribute)."""
    c = client(host, uid)
    try:
        r = c.allocate()
        return r.xaddr(tc.XOR_RELAYED_ADDRESS) if r.cls == tc.SUCCESS else r.code()
    except tc.Timeout:
        return "no answer"
    finally:
        c.close()

def binding(host="127.0.0.1"):
    c = tc.Client((host, port), timeout=1.0)
    try:
        return c.binding().code()
    except tc.Timeout:
        return "no answer"
    finally:
        c.close()

r4, r6 = relay_of("127.0.0.1", "k4"), relay_of("::1", "k6")
check("keep: an IPv4 client gets an IPv4 relay", isinstance(r4, tuple) and r4[0] == "127.0.0.1", str(r4))
check("keep: an IPv6 client gets an IPv6 relay", isinstance(r6, tuple) and r6[0] == "::1", str(r6))

text = reload("no-stun\n")
check("reload to no-stun accepted", "reload failed" not in text)
check("no-stun: Binding gets no answer", binding() == "no answer")
check("no-stun: Binding over IPv6 neither", binding("::1") == "no answer")
r6 = relay_of("::1", "d6")
check("default family is IPv4 again, for an IPv6 client too (RFC 8656 7.2)",
      isinstance(r6, tuple) and r6[0] == "127.0.0.1", str(r6))

reload("secure-stun\n")
check("secure-stun: a plain Binding gets 401", binding() == 401)
c = client("127.0.0.1", "sb")
r = c.request(tc.BINDING)
check("secure-stun: the signed Binding is answered", r.cls == tc.SUCCESS, str(r.code()))
check("... with XOR-MAPPED-ADDRESS and MESSAGE-INTEGRITY",
      r.has(tc.XOR_MAPPED_ADDRESS) and r.has(tc.MESSAGE_INTEGRITY))
c.close()

reload("stun-only\n")
check("stun-only: Binding answered", binding() == 0)
check("stun-only: Allocate gets no answer", relay_of("127.0.0.1", "so") == "no answer")

text = reload("stun-only\nno-stun\n")
check("a reload with stun-only and no-stun is refused",
      "'stun-only' and 'no-stun' together leave nothing to serve" in text
      and "reload failed" in text)
check("... and stun-only keeps running: Binding answered", binding() == 0)
check("... Allocate still no answer", relay_of("127.0.0.1", "so2") == "no answer")

reload("# back to the defaults\n")
r4 = relay_of("127.0.0.1", "back")
check("defaults back: Allocate works", isinstance(r4, tuple), str(r4))
check("defaults back: Binding answered", binding() == 0)
EOF
ts_finish
