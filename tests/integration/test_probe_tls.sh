#!/usr/bin/env bash
# turnstone probe over TLS (turns:, stuns:): the allocation and relay
# through TURN over TLS, the certificate verified against --ca-file for
# the IP literal or --servername, and each way verification fails said
# plainly with exit status 1.
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
ts_finish
