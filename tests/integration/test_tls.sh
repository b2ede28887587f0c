#!/usr/bin/env bash
# TURN over TLS and DTLS, and the single port that serves everything.
#  - openssl s_client: TLS 1.1 is refused, 1.2 and 1.3 succeed; ALPN picks
#    stun.turn or stun.nat-discovery (RFC 7443) and nothing else.
#  - coturn's turnutils_uclient relays over TLS (-t -S) and DTLS (-S) on the
#    TLS port, TLS and DTLS on the plain port, plain TCP and UDP on the TLS
#    port: every message echoed.
#  - abuse (tls_cases.py): tricklers, idlers, garbage, cut handshakes, a
#    ClientHello flood, DTLS hellos from 500 addresses (stateless cookie,
#    no amplification) and DTLS garbage; a legitimate client is served
#    throughout.
#  - reload (tls_cases.py): 200 allocations, some over TLS, survive a
#    certificate swap by SIGHUP; new handshakes get the new certificate; a
#    broken certificate is refused.
#  - out of descriptors: a daemon with a small RLIMIT_NOFILE flooded with
#    connections backs off instead of spinning, and serves again after.
#
#   bash test_tls.sh /path/to/turnstone        (what ctest runs)
TS_NAME=tls
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
UCLIENT=/usr/bin/turnutils_uclient
PEER=/usr/bin/turnutils_peer

ts_make_cert first || exit 1
FIRST_CERT=$TS_CERT FIRST_KEY=$TS_KEY
ts_make_cert second || exit 1
SECOND_CERT=$TS_CERT SECOND_KEY=$TS_KEY
# The daemon reads these; the reload check replaces them.
CUR_CERT="$TS_TMP/cur-cert.pem" CUR_KEY="$TS_TMP/cur-key.pem"
cp "$FIRST_CERT" "$CUR_CERT"
cp "$FIRST_KEY" "$CUR_KEY"

TLS_PORT=$(ts_pick_port) || exit 1
PROM_PORT=$(ts_pick_port) || exit 1
export PROM_PORT
# 200 allocations at once for the reload check, plus the uclient runs.
# ASan's quarantine would count freed memory as kept in the DTLS check.
ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0 \
TS_RELAY_SPAN=400 ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --allow-loopback-peers \
	--legacy-channel-range --relay-threads 2 --user-quota 0 \
	--tls-listening-port "$TLS_PORT" --cert "$CUR_CERT" --pkey "$CUR_KEY" \
	--prometheus --prometheus-port "$PROM_PORT" || exit 1
P=$TS_PORT

# --- protocol versions and ALPN ---------------------------------------
sclient() { # sclient ARGS...: the handshake summary of one s_client run
	timeout -k 2 10 openssl s_client -connect "127.0.0.1:$TLS_PORT" "$@" \
		</dev/null 2>&1
}
out=$(sclient -tls1_1 -cipher 'DEFAULT@SECLEVEL=0')
case $out in
*"New, (NONE)"*) ts_pass "tls: TLS 1.1 refused" ;;
*) ts_fail "tls: TLS 1.1 refused" "$(printf '%s' "$out" | grep -E 'New,|alert' | head -3)" ;;
esac
for v in 1_2 1_3; do
	out=$(sclient "-tls$v")
	want="New, TLSv${v/_/.}"
	case $out in
	*"$want"*) ts_pass "tls: TLS ${v/_/.} accepted" ;;
	*) ts_fail "tls: TLS ${v/_/.} accepted" "$(printf '%s' "$out" | grep -E 'New,|alert' | head -3)" ;;
	esac
done
for a in stun.turn stun.nat-discovery; do
	out=$(sclient -alpn "h2,$a")
	case $out in
	*"ALPN protocol: $a"*) ts_pass "tls: ALPN selects $a" ;;
	*) ts_fail "tls: ALPN selects $a" "$(printf '%s' "$out" | grep -i alpn | head -2)" ;;
	esac
done
out=$(sclient -alpn h2)
case $out in
*"No ALPN negotiated"*) ts_pass "tls: ALPN h2 alone is not acknowledged" ;;
*) ts_fail "tls: ALPN h2 alone is not acknowledged" "$(printf '%s' "$out" | grep -i alpn | head -2)" ;;
esac

# --- coturn's client over every transport on both ports ----------------
peer_port=$(ts_pick_port) || exit 1
ts_bg "$PEER" -L 127.0.0.1 -p "$peer_port" >"$TS_TMP/peer.log" 2>&1
sleep 0.3
n_run=0
uclient_ok() { # uclient_ok NAME PORT ARGS...
	local name=$1 port=$2 out sent recv lost
	shift 2
	n_run=$((n_run + 1))
	out="$TS_TMP/uclient$n_run.log"
	timeout -k 5 60 "$UCLIENT" "$@" -n 20 -m 2 -l 120 -z 5 -e 127.0.0.1 \
		-r "$peer_port" -W "$TS_SECRET" -u "uc$n_run" -p "$port" 127.0.0.1 >"$out" 2>&1
	local rc=$?
	sent=$(grep -v 'msz=' "$out" | sed -n 's/.*tot_send_msgs=\([0-9]*\).*/\1/p' | tail -n 1)
	recv=$(grep -v 'msz=' "$out" | sed -n 's/.*tot_recv_msgs=\([0-9]*\).*/\1/p' | tail -n 1)
	lost=$(sed -n 's/.*Total lost packets \([0-9]*\).*/\1/p' "$out" | tail -n 1)
	if [ "$rc" = 0 ] && [ -n "$sent" ] && [ "$sent" -gt 0 ] && [ "$recv" = "$sent" ] &&
	   [ "$lost" = 0 ]; then
		ts_pass "$name" "$recv/$sent echoed"
	else
		ts_fail "$name" "exit $rc, sent ${sent:-none}, received ${recv:-none}, lost ${lost:-none}"
		grep -vE 'msz=' "$out" | tail -n 12 | sed 's/^/   | /'
	fi
}
uclient_ok "uclient over TLS on the TLS port" "$TLS_PORT" -t -S
uclient_ok "uclient over DTLS on the TLS port" "$TLS_PORT" -S
uclient_ok "uclient over TLS on the plain port" "$P" -t -S
uclient_ok "uclient over DTLS on the plain port" "$P" -S
uclient_ok "uclient over plain TCP on the TLS port" "$TLS_PORT" -t
uclient_ok "uclient over plain UDP on the TLS port" "$TLS_PORT"

# --- abuse -------------------------------------------------------------
# A real DTLS 1.2 ClientHello, captured from openssl s_client.
cap_port=$(ts_pick_port) || exit 1
"$TS_PY" - "$cap_port" "$TS_TMP/dtls-hello.bin" <<'EOF' &
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.settimeout(8)
open(sys.argv[2], "wb").write(s.recvfrom(65536)[0])
EOF
cap_pid=$!
sleep 0.3
timeout -k 1 3 openssl s_client -dtls1_2 -connect "127.0.0.1:$cap_port" </dev/null >/dev/null 2>&1
wait "$cap_pid"
if [ -s "$TS_TMP/dtls-hello.bin" ]; then
	TS_CHECK_TIMEOUT=90 ts_python_checks "tls abuse" "$TS_DIR/tls_cases.py" abuse \
		"$P" "$TLS_PORT" "$TS_SECRET" "$TS_PID" "$TS_TMP/dtls-hello.bin"
else
	ts_fail "capture a DTLS ClientHello from openssl s_client"
fi

# --- RFC 6062 over TLS ------------------------------------------------
TS_CHECK_TIMEOUT=60 ts_python_checks "tls tcp relay" "$TS_DIR/tls_cases.py" tcprelay \
	"$P" "$TLS_PORT" "$TS_SECRET" "$TS_PID"

# --- reload ------------------------------------------------------------
TS_CHECK_TIMEOUT=90 ts_python_checks "tls reload" "$TS_DIR/tls_cases.py" reload \
	"$P" "$TLS_PORT" "$TS_SECRET" "$TS_PID" "$TS_LOG" \
	"$CUR_CERT" "$CUR_KEY" "$SECOND_CERT" "$SECOND_KEY"
cp "$SECOND_CERT" "$CUR_CERT" # leave a good file for the shutdown

# --- redirects over TLS carry ALTERNATE-DOMAIN (RFC 8489 14.16) -----------
alt_port=$(ts_pick_port) || exit 1
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --tls-listening-port "$alt_port" \
	--cert "$SECOND_CERT" --pkey "$SECOND_KEY" \
	--alternate-server 127.0.0.1:3479 --alternate-domain turn.example.net || exit 1
export TS_DIR
ts_python_checks "redirect" - "$TS_PORT" "$alt_port" "$TS_SECRET" <<'EOF'
import os, sys
sys.path.insert(0, os.environ["TS_DIR"])
import turnclient as tc
port, tls_port, secret = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
for kind, p in (("tls", tls_port), ("udp", port)):
    c = tc.Client(("127.0.0.1", p), transport=kind, timeout=3)
    c.set_rest_creds(secret, "redir-" + kind)
    r = c.allocate()
    dom = r.get(0x8003) if r.has(0x8003) else None
    ok = r.code() == 300 and r.has(0x8023)
    print(("ok" if ok else "FAIL") + " redirect over %s: 300 with ALTERNATE-SERVER (%s)" % (kind, r.error_code()))
    want = b"turn.example.net" if kind == "tls" else None
    print(("ok" if dom == want else "FAIL") + " redirect over %s: ALTERNATE-DOMAIN %s" % (kind, dom))
EOF

# --- out of descriptors ------------------------------------------------
# A wrapper that lowers RLIMIT_NOFILE and execs the daemon (same PID).
cat >"$TS_TMP/lowfd.sh" <<EOF
#!/bin/sh
ulimit -n 40
exec "$TS_BIN" "\$@"
EOF
chmod +x "$TS_TMP/lowfd.sh"
ts_start_server "$TS_TMP/lowfd.sh" "${TS_AUTH[@]}" --relay-threads 1 \
	--allow-loopback-peers || exit 1
ts_python_checks "emfile" - "$TS_PORT" "$TS_PID" "$TS_LOG" "$TS_SECRET" <<'EOF'
import os, socket, sys, time
sys.path.insert(0, os.environ.get("TS_DIR", "."))
port, pid, log, secret = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
def cpu():
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
socks = [socket.create_connection(("127.0.0.1", port), timeout=2) for _ in range(80)]
time.sleep(0.5)
c0 = cpu(); time.sleep(2.0); used = cpu() - c0
print(("ok" if used < 0.5 else "FAIL") + " emfile: no spinning with the descriptors used up (%.2f s CPU in 2 s)" % used)
print(("ok" if "pausing new TCP/TLS connections" in open(log).read() else "FAIL") + " emfile: the pause is logged")
for s in socks:
    s.close()
time.sleep(1.0)
import turnclient as tc
c = tc.Client(("127.0.0.1", port), transport="tcp", timeout=3)
c.set_rest_creds(secret, "after-emfile")
r = c.allocate()
print(("ok" if r.cls == tc.SUCCESS else "FAIL") + " emfile: a TCP client allocates once descriptors are free")
EOF
ts_finish
