#!/usr/bin/env bash
# HTTPS for the ICE-servers API (api-cert, api-pkey):
#  - /healthz and POST /v1/ice-servers answer over TLS, verified against
#    the certificate; plain HTTP on that port gets no HTTP answer;
#  - TLS 1.1 is refused;
#  - a renewed certificate is served after SIGHUP;
#  - a missing file, a key that does not match, an encrypted key, or one
#    of the two alone is a startup error naming the key.
#
#   bash test_api_tls.sh /path/to/turnstone        (what ctest runs)
TS_NAME=api_tls
. "$(dirname "$0")/lib.sh"
ts_api_init "$1"
ts_make_cert apitls || exit 1
cert=$TS_TMP/api-cert.pem
key=$TS_TMP/api-key.pem
cp "$TS_CERT" "$cert" && cp "$TS_KEY" "$key" || exit 1
first_spki=$TS_SPKI
ts_make_cert apitls2 || exit 1 # the renewal, used below
"$TS_BIN" account create acme --db "$TS_DB" >/dev/null &&
	"$TS_BIN" account key add acme --db "$TS_DB" --kid acme-1 --alg HS256 >/dev/null ||
	exit 1

ts_start_api_tls "$TS_BIN" "$cert" "$key" || exit 1
url=https://127.0.0.1:$TS_API_PORT

[[ $(cat "$TS_LOG") == *"api: listening on https://127.0.0.1:$TS_API_PORT "* ]] &&
	ts_pass "the log says https://" ||
	ts_fail "the log says https://" "$(grep 'api: listening' "$TS_LOG")"
out=$(curl -s --cacert "$cert" "$url/healthz")
[[ $out == *'"status":"ok"'* ]] && ts_pass "GET /healthz over HTTPS, certificate verified" ||
	ts_fail "GET /healthz over HTTPS, certificate verified" "$out"
token=$("$TS_BIN" token mint --db "$TS_DB" --account acme --sub alice --ttl 600)
out=$(curl -s --cacert "$cert" -X POST -H "Authorization: Bearer $token" \
	-H 'Content-Type: application/json' -d '{"ttl":600}' "$url/v1/ice-servers")
[[ $out == *'"iceServers"'* && $out == *':acme:alice'* ]] &&
	ts_pass "POST /v1/ice-servers over HTTPS" ||
	ts_fail "POST /v1/ice-servers over HTTPS" "$out"
code=$(curl -s -o /dev/null -m 3 -w '%{http_code}' "http://127.0.0.1:$TS_API_PORT/healthz")
[ "$code" = 000 ] && ts_pass "plain HTTP on the HTTPS port: no HTTP answer" ||
	ts_fail "plain HTTP on the HTTPS port: no HTTP answer" "HTTP $code"

tls_out() { # extra s_client args
	timeout -k 1 5 openssl s_client -connect "127.0.0.1:$TS_API_PORT" "$@" </dev/null 2>&1
}
# SECLEVEL=0: OpenSSL 3's client would not offer TLS 1.1 otherwise, and
# the check would pass whatever the server does.
out=$(tls_out -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0')
[[ $out == *"Cipher is (NONE)"* && $out == *"no peer certificate available"* ]] &&
	ts_pass "TLS 1.1 refused" || ts_fail "TLS 1.1 refused" "$(echo "$out" | grep -E 'Protocol|Cipher' | head -3)"
out=$(tls_out -tls1_2)
[[ $out == *"TLSv1.2"* && $out != *"Cipher is (NONE)"* ]] && ts_pass "TLS 1.2 accepted" ||
	ts_fail "TLS 1.2 accepted" "$(echo "$out" | tail -5)"

spki() {
	tls_out -showcerts | openssl x509 -pubkey -noout 2>/dev/null |
		openssl pkey -pubin -outform der 2>/dev/null | openssl dgst -sha256 -binary | base64
}
[ "$(spki)" = "$first_spki" ] && ts_pass "the configured certificate is served" ||
	ts_fail "the configured certificate is served"
cp "$TS_CERT" "$cert" && cp "$TS_KEY" "$key"
kill -HUP "$TS_PID"
for i in $(seq 1 50); do
	[ "$(spki)" = "$TS_SPKI" ] && break
	sleep 0.2
done
[ "$(spki)" = "$TS_SPKI" ] && ts_pass "after SIGHUP the renewed certificate is served" ||
	ts_fail "after SIGHUP the renewed certificate is served" "$(tail -5 "$TS_LOG")"
out=$(curl -s --cacert "$TS_CERT" "$url/healthz")
[[ $out == *'"status":"ok"'* ]] && ts_pass "... and verifies against the new one" ||
	ts_fail "... and verifies against the new one" "$out"

start_err() { # name, expected text, args
	local name=$1 want=$2 out rc
	shift 2
	out=$(timeout -k 1 10 "$TS_BIN" serve --use-auth-secret --static-auth-secret x \
		--listening-port "$(ts_pick_port)" --api-listening-port "$(ts_pick_port)" \
		--db "$TS_DB" --check-config "$@" 2>&1)
	rc=$?
	[ "$rc" = 2 ] && [[ $out == *"$want"* ]] && ts_pass "$name" ||
		ts_fail "$name" "status $rc: $out"
}
start_err "api-cert alone: startup error" "'api-cert' and 'api-pkey' go together" \
	--api-cert "$cert"
start_err "a missing certificate file: startup error naming api-cert" \
	"cannot read 'api-cert' $TS_TMP/none" --api-cert "$TS_TMP/none" --api-pkey "$key"
start_err "a key of another certificate: startup error naming api-pkey" \
	"'api-pkey' $TS_TMP/apitls-key.pem does not match" \
	--api-cert "$cert" --api-pkey "$TS_TMP/apitls-key.pem"
openssl pkey -in "$key" -aes256 -passout pass:secret -out "$TS_TMP/enc.pem" 2>/dev/null
start_err "an encrypted key: startup error naming api-pkey" \
	"an encrypted key is not supported here" --api-cert "$cert" --api-pkey "$TS_TMP/enc.pem"
start_err "a key file given as the certificate: startup error" \
	"'api-cert' $key: no PEM certificate" --api-cert "$key" --api-pkey "$key"
ts_finish
