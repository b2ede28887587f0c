#!/usr/bin/env bash
# NAT behaviour discovery (RFC 5780, alt-listening-port) on 127.0.0.1 and
# 127.0.0.2 with ports P and P+1:
#  - coturn's turnutils_natdiscovery finds the server's other address and
#    reports endpoint-independent mapping and filtering (no NAT here);
#  - a Binding with CHANGE-REQUEST is answered from the changed address
#    and port, as the datagram's real source shows, and RESPONSE-ORIGIN
#    says so;
#  - without alt-listening-port, CHANGE-REQUEST gets 420;
#  - `turnstone probe --nat` reports no NAT against it, and each mapping
#    and filtering verdict against nat_fake.py, which plays each NAT, and
#    no filtering verdict when CHANGE-REQUEST gets an error answer or an
#    answer from elsewhere than it asks for (by the datagram's source or
#    by RESPONSE-ORIGIN);
#  - alt-listening-port with one address, or with no-rfc5780, is a
#    startup error naming it.
#
#   bash test_rfc5780.sh /path/to/turnstone        (what ctest runs)
TS_NAME=rfc5780
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || exit 0
ND=${TS_NATDISCOVERY:-$(command -v turnutils_natdiscovery)}

start_err() { # name, expected text, serve args...
	local name=$1 want=$2 out rc
	shift 2
	out=$(timeout -k 1 10 "$TS_BIN" serve "${TS_AUTH[@]}" --check-config "$@" 2>&1)
	rc=$?
	[ "$rc" = 2 ] && [[ $out == *"$want"* ]] && ts_pass "$name" ||
		ts_fail "$name" "status $rc: $out"
}
start_err "alt-listening-port with one listening address: startup error" \
	"'alt-listening-port' needs two 'listening-ip' addresses" \
	--listening-ip 127.0.0.1 --alt-listening-port 3479
start_err "alt-listening-port with no-rfc5780: startup error" \
	"'alt-listening-port' and 'no-rfc5780' contradict" \
	--listening-ip 127.0.0.1 --listening-ip 127.0.0.2 --alt-listening-port 3479 --no-rfc5780

# ts_start_server listens on 127.0.0.1 only; the second address is added.
ALT=$(ts_pick_port) || exit 1
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --listening-ip 127.0.0.2 \
	--alt-listening-port "$ALT" || exit 1
export TS_DIR
ts_python_checks "CHANGE-REQUEST answered from the other address and port" - \
	"$TS_PORT" "$ALT" <<'EOF'
import os, socket, struct, sys
sys.path.insert(0, os.environ["TS_DIR"])
import turnclient as tc
port, alt = int(sys.argv[1]), int(sys.argv[2])

def check(name, ok, detail=""):
    print(("ok " if ok else "FAIL ") + name + (" (%s)" % detail if detail else ""), flush=True)

def addr(m, at):
    v = m.get(at)
    return None if v is None else (socket.inet_ntoa(v[4:8]), struct.unpack("!H", v[2:4])[0])

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
s.settimeout(2)
want = {0: ("127.0.0.1", port), 2: ("127.0.0.1", alt), 4: ("127.0.0.2", port),
        6: ("127.0.0.2", alt)}
for flags, origin in want.items():
    req = tc.build(tc.BINDING, tc.REQUEST, [(0x0003, struct.pack("!I", flags))])
    s.sendto(req, ("127.0.0.1", port))
    try:
        data, src = s.recvfrom(2048)
    except socket.timeout:
        check("flags %d: an answer" % flags, False, "none")
        continue
    m = tc.Msg(data)
    check("flags %d: success" % flags, m.cls == tc.SUCCESS, m.describe())
    check("flags %d: the datagram comes from %s:%d" % ((flags,) + origin), src == origin, str(src))
    check("flags %d: RESPONSE-ORIGIN says the same" % flags, addr(m, 0x802B) == origin,
          str(addr(m, 0x802B)))
    check("flags %d: OTHER-ADDRESS is 127.0.0.2:ALT" % flags,
          addr(m, 0x802C) == ("127.0.0.2", alt), str(addr(m, 0x802C)))
    check("flags %d: MAPPED-ADDRESS is the client" % flags,
          addr(m, 0x0001) == s.getsockname(), str(addr(m, 0x0001)))
EOF

if [ -n "$ND" ]; then
	out=$(timeout -k 1 30 "$ND" -m -f -p "$TS_PORT" 127.0.0.1 2>&1)
	[[ $out == *"Other addr: : 127.0.0.2:$ALT"* ]] &&
		ts_pass "turnutils_natdiscovery finds the other address" ||
		ts_fail "turnutils_natdiscovery finds the other address" "$out"
	[[ $out == *"NAT with Endpoint Independent Mapping!"* ]] &&
		ts_pass "turnutils_natdiscovery: endpoint-independent mapping" ||
		ts_fail "turnutils_natdiscovery: endpoint-independent mapping" "$out"
	[[ $out == *"NAT with Endpoint Independent Filtering!"* ]] &&
		ts_pass "turnutils_natdiscovery: endpoint-independent filtering (the changed answers arrived)" ||
		ts_fail "turnutils_natdiscovery: endpoint-independent filtering" "$out"
else
	ts_log "turnutils_natdiscovery (Debian's coturn) missing: skipping its checks"
fi

out=$("$TS_BIN" probe --nat "stun:127.0.0.1:$TS_PORT" 2>&1)
rc=$?
[ "$rc" = 0 ] && [[ $out == *"other address: 127.0.0.2:$ALT"* &&
	$out == *"mapping: endpoint-independent (no NAT"* &&
	$out == *"filtering: endpoint-independent"* ]] &&
	ts_pass "turnstone probe --nat against it: no NAT, endpoint-independent" ||
	ts_fail "turnstone probe --nat against it" "status $rc: $out"

# ... and against coturn doing RFC 5780 (two listening addresses).
if [ -x "$TS_COTURN_BIN" ]; then
	CP=$(ts_pick_port) && CA=$(ts_pick_port) && ts_pick_relay_range || exit 1
	ts_bg "$TS_COTURN_BIN" -n --listening-ip 127.0.0.1 --listening-ip 127.0.0.2 \
		--listening-port "$CP" --alt-listening-port "$CA" --min-port "$TS_MINP" \
		--max-port "$TS_MAXP" --no-tls --no-dtls --no-cli --use-auth-secret \
		--static-auth-secret "$TS_SECRET" --realm test --log-file stdout \
		--simple-log --pidfile "$TS_TMP/coturn.pid" >"$TS_TMP/coturn.log" 2>&1
	cot=$TS_LAST_PID
	for i in $(seq 1 50); do
		"$TS_PY" "$TS_DIR/turnclient.py" binding 127.0.0.1 "$CP" 0.2 >/dev/null 2>&1 && break
		sleep 0.2
	done
	out=$("$TS_BIN" probe --nat "stun:127.0.0.1:$CP" 2>&1)
	ts_stop_pid "$cot"
	[[ $out == *"other address: 127.0.0.2:$CA"* && $out == *"filtering: endpoint-independent"* ]] &&
		ts_pass "turnstone probe --nat against coturn's RFC 5780" ||
		ts_fail "turnstone probe --nat against coturn's RFC 5780" "$out"
fi

# turnstone probe --nat's verdicts, against a fake server playing each NAT.
for m in eim adm apdm; do
	for f in eif adf apdf; do
		P1=$(ts_pick_port) && P2=$(ts_pick_port) || exit 1
		rm -f "$TS_TMP/fake.ready"
		ts_bg "$TS_PY" "$TS_DIR/nat_fake.py" "$m" "$f" "$P1" "$P2" "$TS_TMP/fake.ready" \
			>"$TS_TMP/fake.log" 2>&1
		fake=$TS_LAST_PID
		for i in $(seq 1 50); do [ -e "$TS_TMP/fake.ready" ] && break; sleep 0.1; done
		out=$("$TS_BIN" probe --nat "stun:127.0.0.1:$P1" 2>&1)
		ts_stop_pid "$fake"
		want_m=$(case $m in eim) echo "mapping: endpoint-independent" ;;
			adm) echo "mapping: address-dependent" ;;
			apdm) echo "mapping: address and port-dependent" ;; esac)
		want_f=$(case $f in eif) echo "filtering: endpoint-independent" ;;
			adf) echo "filtering: address-dependent" ;;
			apdf) echo "filtering: address and port-dependent" ;; esac)
		[[ $out == *"$want_m"$'\n'* && $out == *"$want_f"* ]] &&
			ts_pass "probe --nat: $want_m, $want_f" ||
			ts_fail "probe --nat: $want_m, $want_f" "$out $(cat "$TS_TMP/fake.log")"
	done
done

# A server that answers CHANGE-REQUEST with an error, or from elsewhere
# than it asks for: no filtering verdict (the answer came from where the
# request went, which any NAT lets in, or the server says it did).
fake_probe() { # nat_fake.py's filtering mode; sets out
	P1=$(ts_pick_port) && P2=$(ts_pick_port) || exit 1
	rm -f "$TS_TMP/fake.ready"
	ts_bg "$TS_PY" "$TS_DIR/nat_fake.py" eim "$1" "$P1" "$P2" "$TS_TMP/fake.ready" \
		>"$TS_TMP/fake.log" 2>&1
	fake=$TS_LAST_PID
	for i in $(seq 1 50); do [ -e "$TS_TMP/fake.ready" ] && break; sleep 0.1; done
	out=$("$TS_BIN" probe --nat "stun:127.0.0.1:$P1" 2>&1)
	ts_stop_pid "$fake"
}
fake_probe err
[[ $out == *"filtering: unknown (the server answered CHANGE-REQUEST with an error)"* ]] &&
	ts_pass "probe --nat: CHANGE-REQUEST answered with an error: filtering unknown" ||
	ts_fail "probe --nat: CHANGE-REQUEST answered with an error: filtering unknown" \
		"$out $(cat "$TS_TMP/fake.log")"
for f in same lie origin; do
	fake_probe "$f"
	want="the answer $(case $f in same | lie) echo "came from 127.0.0.1:$P1" ;;
		origin) echo "has RESPONSE-ORIGIN 127.0.0.1:$P1" ;; esac), not 127.0.0.2:$P2"
	[[ $out == *"mapping: endpoint-independent"$'\n'* &&
		$out == *"filtering: unknown (the server does not answer from the address and port RFC 5780 asks for)"* &&
		$out == *"$want"* ]] &&
		ts_pass "probe --nat: CHANGE-REQUEST answered from elsewhere ($f): filtering unknown" ||
		ts_fail "probe --nat: CHANGE-REQUEST answered from elsewhere ($f): filtering unknown" \
			"$out $(cat "$TS_TMP/fake.log")"
done

ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --listening-ip 127.0.0.2 || exit 1
out=$("$TS_BIN" probe --nat "stun:127.0.0.1:$TS_PORT" 2>&1)
rc=$?
[ "$rc" = 1 ] && [[ $out == *"does not do RFC 5780"* ]] &&
	ts_pass "probe --nat against a server without it: says so, status 1" ||
	ts_fail "probe --nat against a server without it" "status $rc: $out"
ts_python_checks "without alt-listening-port" - "$TS_PORT" <<'EOF'
import os, socket, struct, sys
sys.path.insert(0, os.environ["TS_DIR"])
import turnclient as tc
port = int(sys.argv[1])
c = tc.Client(("127.0.0.1", port), timeout=2.0)
r = c.binding(attrs=[(0x0003, struct.pack("!I", 6))])
ok = r.code() == 420 and r.get(tc.UNKNOWN_ATTRIBUTES) == b"\x00\x03"
print(("ok " if ok else "FAIL ") + "CHANGE-REQUEST: 420 naming it (%s)" % r.describe())
r = c.binding()
print(("ok " if r.cls == tc.SUCCESS and r.get(0x802C) is None else "FAIL ") +
      "a plain Binding: no OTHER-ADDRESS")
EOF
ts_finish
