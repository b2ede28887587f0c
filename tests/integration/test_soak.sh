#!/usr/bin/env bash
# Resources come back after churn. A TURN server that keeps a descriptor,
# a relay port or a count per allocation dies after days in production;
# this runs short, bounded churn over every client transport and then
# checks, once the daemon is idle, that:
#  - its descriptor count (/proc/PID/fd) is back within 2 of the start;
#  - the Prometheus gauges are back to zero: allocations and relay ports
#    in use, reserved ports included once their 30 s are up (RFC 8656
#    7.2: a RESERVATION-TOKEN nobody redeems used to hold its port, and
#    the gauge, until the next EVEN-PORT R=1 Allocate happened to come);
#  - one source may again hold max-unauth-tcp-per-ip (64) streams
#    without an allocation: no connection left its count behind.
# ts_finish then checks that SIGTERM stops it with no sanitizer report
# (LeakSanitizer runs at exit under the ASan build).
#
#   bash test_soak.sh /path/to/turnstone
TS_NAME=soak
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || { ts_log "turnstone only"; exit 0; }

ts_make_cert soak || exit 1
TLS_PORT=$(ts_pick_port) || exit 1
PROM_PORT=$(ts_pick_port) || exit 1
ts_start_server "$TS_BIN" --use-auth-secret --static-auth-secret "$TS_SECRET" \
	--allow-loopback-peers --user-quota 0 --relay-threads 2 \
	--tls-listening-port "$TLS_PORT" --cert "$TS_CERT" --pkey "$TS_KEY" \
	--prometheus --prometheus-port "$PROM_PORT" || exit 1

fds() { find "/proc/$TS_PID/fd" -mindepth 1 -maxdepth 1 | wc -l; }
metric() {
	curl -s --max-time 5 "http://127.0.0.1:$PROM_PORT/metrics" >"$TS_TMP/metrics"
	awk -v m="$1" 'index($0, m) == 1 { s += $NF } END { print s + 0 }' "$TS_TMP/metrics"
}
bench() {
	timeout -k 2 30 "$TS_BIN" bench "$@" --secret "$TS_SECRET" --threads 1 \
		>>"$TS_TMP/bench.log" 2>&1
}

fd0=$(fds)
echo "== churn (start: $fd0 descriptors)"
for t in udp tcp tls; do
	port=$TS_PORT
	[ "$t" = tls ] && port=$TLS_PORT
	bench alloc --server "127.0.0.1:$port" --transport "$t" --clients 4 \
		--perm --chan --duration 2 || ts_fail "bench alloc over $t" "see $TS_TMP/bench.log"
	bench hold --server "127.0.0.1:$port" --transport "$t" --allocs 50 \
		--duration 1 || ts_fail "bench hold over $t" "see $TS_TMP/bench.log"
done
# DTLS handshakes, and TLS ones the client drops without a request.
for i in 1 2 3 4 5; do
	timeout -k 1 3 openssl s_client -dtls1_2 -connect "127.0.0.1:$TLS_PORT" \
		</dev/null >/dev/null 2>&1
	timeout -k 1 3 openssl s_client -connect "127.0.0.1:$TLS_PORT" \
		</dev/null >/dev/null 2>&1
done
# An EVEN-PORT R=1 reservation whose token is never redeemed, its
# allocation deleted at once: only the reserved port stays taken.
PYTHONPATH="$TS_DIR" "$TS_PY" - "$TS_PORT" "$TS_SECRET" <<'EOF' ||
import sys
import turnclient as tc
c = tc.Client(("127.0.0.1", int(sys.argv[1])))
c.set_rest_creds(sys.argv[2], "soak-resv")
r = c.allocate(extra=[(0x0018, b"\x80")])  # EVEN-PORT, R=1
assert r.code() == 0 and r.has(0x0022), r.describe()  # RESERVATION-TOKEN
assert c.refresh(0).code() == 0
EOF
	ts_fail "allocate with a reservation"
sleep 1

fd1=$(fds)
if [ "$fd1" -le $((fd0 + 2)) ]; then
	ts_pass "descriptors back after churn" "$fd0 at the start, $fd1 after"
else
	ts_fail "descriptors back after churn" "$fd0 at the start, $fd1 after"
	ls -l "/proc/$TS_PID/fd" | tail -n 20
fi
a=$(metric 'turnstone_allocations{')
[ "$a" = 0 ] && ts_pass "allocations gauge back to 0" ||
	ts_fail "allocations gauge back to 0" "$a"
u=$(metric turnstone_relay_ports_used)
[ "$u" = 1 ] && ts_pass "the reserved port is in use" ||
	ts_fail "the reserved port is in use" "relay_ports_used $u, want 1"

# The reservation lasts 30 s (TURN_RESV_MS); nothing else runs meanwhile.
sleep 31
u=$(metric turnstone_relay_ports_used)
[ "$u" = 0 ] && ts_pass "an unredeemed reservation frees its port" ||
	ts_fail "an unredeemed reservation frees its port" "relay_ports_used $u after 31 s"

alive=$("$TS_PY" - "$TS_PORT" <<'EOF'
import select, socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)
         for _ in range(64)]
time.sleep(0.5)
# One the server refused is closed at once: readable, and EOF.
print(sum(1 for s in socks
          if not select.select([s], [], [], 0)[0]
          or s.recv(1, socket.MSG_PEEK)))
EOF
)
[ "$alive" = 64 ] && ts_pass "64 streams without an allocation are accepted" ||
	ts_fail "64 streams without an allocation are accepted" "${alive:-none} of 64 kept open"
r=$(metric turnstone_tcp_refused_total)
[ "$r" = 0 ] && ts_pass "no stream refused" || ts_fail "no stream refused" "tcp_refused_total $r"

ts_finish
