#!/usr/bin/env bash
# turnstone probe over TLS (turns:, stuns:): the allocation and relay
# through TURN over TLS, the certificate verified against --ca-file for
# the IP literal or --servername, and each way verification fails (an
# unknown CA, another name, another IP) said plainly with exit status 1,
# as is a server that resets the stream.
#
#   bash test_probe_tls.sh /path/to/turnstone        (what ctest runs)
TS_NAME=probe_tls
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || exit 0
ts_make_cert probetls || exit 1
TLSP=$(ts_pick_port) || exit 1
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --allow-loopback-peers \
	--tls-listening-port "$TLSP" --cert "$TS_CERT" --pkey "$TS_KEY" || exit 1

probe() { # name, want status, want text, args...
	local name=$1 want=$2 text=$3 out rc
	shift 3
	out=$(timeout -k 1 30 "$TS_BIN" probe "$@" 2>&1)
	rc=$?
	[ "$rc" = "$want" ] && [[ $out == *"$text"* ]] && ts_pass "$name" ||
		ts_fail "$name" "status $rc: $out"
}
probe "turns: allocation and relay, certificate verified for the IP" 0 \
	"relay: 5/5 echoed" "turns:127.0.0.1:$TLSP?transport=tcp" \
	--secret "$TS_SECRET" --ca-file "$TS_CERT"
probe "... and the TLS line says how" 0 \
	"alpn stun.turn, certificate verified for 127.0.0.1" \
	"turns:127.0.0.1:$TLSP" --secret "$TS_SECRET" --ca-file "$TS_CERT"
probe "stuns: Binding over TLS" 0 "binding 127.0.0.1:$TLSP: mapped 127.0.0.1:" \
	"stuns:127.0.0.1:$TLSP" --ca-file "$TS_CERT"
probe "a certificate no CA vouches for: exit 1, said" 1 \
	"tls: handshake failed: self-signed certificate" "stuns:127.0.0.1:$TLSP"
probe "a name the certificate does not carry: exit 1, said" 1 \
	"tls: handshake failed: hostname mismatch" "stuns:127.0.0.1:$TLSP" \
	--ca-file "$TS_CERT" --servername turn.example.com
probe "--insecure: works, and says it verified nothing" 0 \
	"certificate NOT verified (--insecure)" "stuns:127.0.0.1:$TLSP" --insecure

# A TLS server that resets the connection after the first request (a
# server going away mid-probe): exit 1 with a reason, not death by
# SIGPIPE (OpenSSL writes with write(2); its close_notify hit the reset).
RSTP=$(ts_pick_port) || exit 1
cat >"$TS_TMP/rst_tls.py" <<'EOF'
import socket, ssl, struct, sys
cert, key, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", port))
ls.listen(4)
ls.settimeout(20)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
for _ in range(2):
    try:
        c, _ = ls.accept()
        t = ctx.wrap_socket(c, server_side=True)
        t.settimeout(5)
        t.recv(100)
        t.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        t.close()
    except (OSError, socket.timeout):
        pass
EOF
ts_bg "$TS_PY" "$TS_TMP/rst_tls.py" "$TS_CERT" "$TS_KEY" "$RSTP"
for i in $(seq 1 50); do ! ts_port_free "$RSTP" && break; sleep 0.1; done
probe "stuns: the server resets after the request: exit 1, said" 1 \
	"binding 127.0.0.1:$RSTP:" "stuns:127.0.0.1:$RSTP" --ca-file "$TS_CERT"
probe "turns: the same" 1 "allocate" "turns:127.0.0.1:$RSTP" \
	--secret "$TS_SECRET" --ca-file "$TS_CERT"

# The IP literal is checked, not only the chain: a certificate the CA
# file vouches for, but for another address, fails the handshake.
OTHP=$(ts_pick_port) || exit 1
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$TS_TMP/other-key.pem" -out "$TS_TMP/other-cert.pem" -days 2 \
	-subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.9" >/dev/null 2>&1 || exit 1
ts_bg "$TS_PY" "$TS_TMP/rst_tls.py" "$TS_TMP/other-cert.pem" "$TS_TMP/other-key.pem" "$OTHP"
for i in $(seq 1 50); do ! ts_port_free "$OTHP" && break; sleep 0.1; done
probe "a certificate for another IP (CN the address, not the SAN): exit 1, said" 1 \
	"tls: handshake failed: IP address mismatch" "stuns:127.0.0.1:$OTHP" \
	--ca-file "$TS_TMP/other-cert.pem"
ts_finish
