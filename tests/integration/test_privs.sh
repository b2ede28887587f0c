#!/usr/bin/env bash
# coturn's TLS key-exchange options and privilege drop (docs/coturn-migration.md).
#  - dh-file: a DHE-RSA TLS 1.2 handshake uses the file's group; a bad or
#    missing file is fatal naming the key; SIGHUP re-reads it (a broken
#    one keeps the old).
#  - ec-curve-name: the negotiated group is the one named (TLS 1.2 and
#    1.3); an unknown name is fatal naming the key.
#  - pkey-pwd: an encrypted key loads with it, fails without it or with a
#    wrong one, and the password is never printed.
#  - proc-user/proc-group (root only): every thread runs as nobody after
#    start, with ports < 1024 (TLS, API) bound before the drop; TURN
#    allocations and the API work; SIGHUP with a root-only key, a new port
#    < 1024 or another user is refused and the old configuration serves;
#    a reload that restarts the API keeps its port < 1024.
#
#   bash test_privs.sh /path/to/turnstone        (what ctest runs)
TS_NAME=privs
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
if [ "$TS_SERVER" != turnstone ]; then
	ts_log "turnstone only"
	exit 0
fi

# An RSA certificate (DHE-RSA needs one), FFDHE parameters (instant,
# RFC 7919 groups) and an encrypted copy of the key.
KEY="$TS_TMP/rsa-key.pem" CERT="$TS_TMP/rsa-cert.pem"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$KEY" -out "$CERT" -days 2 \
	-subj /CN=privs -addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1 || exit 1
DH2048="$TS_TMP/dh2048.pem" DH3072="$TS_TMP/dh3072.pem" DH="$TS_TMP/dh.pem"
openssl genpkey -genparam -algorithm DH -pkeyopt dh_param:ffdhe2048 -out "$DH2048" || exit 1
openssl genpkey -genparam -algorithm DH -pkeyopt dh_param:ffdhe3072 -out "$DH3072" || exit 1
cp "$DH2048" "$DH"
PWD_SECRET="pw-$RANDOM$RANDOM"
EKEY="$TS_TMP/rsa-key-enc.pem"
openssl pkey -in "$KEY" -aes256 -passout "pass:$PWD_SECRET" -out "$EKEY" || exit 1

# check NAME WANT-RC WANT-TEXT ARGS...: turnstone serve --check-config.
check() {
	local name=$1 want_rc=$2 want=$3 out rc
	shift 3
	out=$(timeout -k 2 10 "$TS_BIN" serve --realm test "${TS_AUTH[@]}" \
		--relay-ip 127.0.0.1 --check-config "$@" </dev/null 2>&1)
	rc=$?
	if [ "$rc" = "$want_rc" ] && [[ $out == *"$want"* ]] && [[ $out != *"$PWD_SECRET"* ]]; then
		ts_pass "$name"
	else
		ts_fail "$name" "rc $rc: $(printf '%s' "$out" | head -3)"
	fi
}
TLSARGS=(--cert "$CERT" --pkey "$KEY")
printf 'garbage\n' >"$TS_TMP/bad-dh.pem"
check "dh-file: valid file accepted" 0 "configuration OK" "${TLSARGS[@]}" --dh-file "$DH"
check "dh-file: garbage is fatal naming the key" 2 "'dh-file': '$TS_TMP/bad-dh.pem'" "${TLSARGS[@]}" --dh-file "$TS_TMP/bad-dh.pem"
check "dh-file: missing file is fatal naming the key" 2 "'dh-file': '$TS_TMP/none.pem'" \
	"${TLSARGS[@]}" --dh-file "$TS_TMP/none.pem"
check "dh-file: a key is not DH parameters" 2 "dh-file" "${TLSARGS[@]}" --dh-file "$KEY"
check "dh-file: needs cert" 2 "'dh-file'" --dh-file "$DH"
check "ec-curve-name: secp384r1 accepted" 0 "configuration OK" "${TLSARGS[@]}" --ec-curve-name secp384r1
check "ec-curve-name: unknown name is fatal naming the key" 2 "'ec-curve-name': 'nosuchcurve'" \
	"${TLSARGS[@]}" --ec-curve-name nosuchcurve
check "pkey-pwd: encrypted key loads with it" 0 "configuration OK" \
	--cert "$CERT" --pkey "$EKEY" --pkey-pwd "$PWD_SECRET"
check "pkey-pwd: encrypted key without it fails (no prompt)" 2 "pkey-pwd" \
	--cert "$CERT" --pkey "$EKEY"
check "pkey-pwd: a wrong one fails" 2 "pkey-pwd" --cert "$CERT" --pkey "$EKEY" --pkey-pwd wrong
printf 'pkey-pwd %s\n' "$PWD_SECRET" >"$TS_TMP/pwd.conf"
check "pkey-pwd: from a config file" 0 "configuration OK" --cert "$CERT" --pkey "$EKEY" -c "$TS_TMP/pwd.conf"

sclient() { # sclient PORT ARGS...
	local port=$1
	shift
	timeout -k 2 10 openssl s_client -connect "127.0.0.1:$port" "$@" </dev/null 2>&1
}
expect() { # expect NAME TEXT OUTPUT
	if [[ $3 == *"$2"* ]]; then
		ts_pass "$1"
	else
		ts_fail "$1" "$(printf '%s' "$3" | grep -E 'Temp Key|New,|error|alert' | head -3)"
	fi
}

# --- dh-file and ec-curve-name on a running daemon -------------------
TLS_PORT=$(ts_pick_port) || exit 1
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --tls-listening-port "$TLS_PORT" \
	--cert "$CERT" --pkey "$EKEY" --pkey-pwd "$PWD_SECRET" --dh-file "$DH" \
	--ec-curve-name secp384r1 || exit 1
DHE=(-tls1_2 -cipher DHE-RSA-AES128-GCM-SHA256)
expect "dh-file: DHE-RSA TLS 1.2 handshake with the file's 2048-bit group" \
	"Server Temp Key: DH, 2048 bits" "$(sclient "$TLS_PORT" "${DHE[@]}")"
expect "ec-curve-name: TLS 1.2 ECDHE uses secp384r1" "Server Temp Key: ECDH, secp384r1" \
	"$(sclient "$TLS_PORT" -tls1_2 -cipher ECDHE-RSA-AES128-GCM-SHA256)"
expect "ec-curve-name: TLS 1.3 uses secp384r1" "Server Temp Key: ECDH, secp384r1" \
	"$(sclient "$TLS_PORT" -tls1_3)"
expect "ec-curve-name: a client offering only X25519 is refused" "New, (NONE)" \
	"$(sclient "$TLS_PORT" -tls1_3 -groups X25519)"
# (the log's first line is the command line lib.sh wrote, not the daemon)
if tail -n +2 "$TS_LOG" | grep -q "$PWD_SECRET"; then
	ts_fail "pkey-pwd: never in the log"
else
	ts_pass "pkey-pwd: never in the log"
fi
cp "$TS_TMP/bad-dh.pem" "$DH"
kill -HUP "$TS_PID"
sleep 1
expect "dh-file: a broken file on reload keeps the old parameters" \
	"Server Temp Key: DH, 2048 bits" "$(sclient "$TLS_PORT" "${DHE[@]}")"
expect "dh-file: the broken reload is logged naming the key" "dh-file" "$(cat "$TS_LOG")"
cp "$DH3072" "$DH"
kill -HUP "$TS_PID"
sleep 1
expect "dh-file: reload re-reads the file (3072 bits now)" \
	"Server Temp Key: DH, 3072 bits" "$(sclient "$TLS_PORT" "${DHE[@]}")"
ts_stop_server "$TS_PID" "$TS_LOG"
ts_forget_server "$TS_PID"

# --- proc-user and proc-group ----------------------------------------
if [ "$(id -u)" != 0 ]; then
	ts_log "not root: skipping the proc-user/proc-group checks"
	ts_finish
fi
NOBODY_UID=$(id -u nobody) NOGROUP_GID=$(getent group nogroup | cut -d: -f3)
check "proc-user: an unknown user is fatal naming the key" 2 \
	"'proc-user': no such user 'no-such-user-x'" --proc-user no-such-user-x
check "proc-group: an unknown group is fatal naming the key" 2 \
	"'proc-group': no such group 'no-such-group-x'" --proc-user nobody --proc-group no-such-group-x
check "proc-user: relay ports below 1024 are refused" 2 "'min-port'" \
	--proc-user nobody --min-port 1000 --max-port 2000

# nobody must reach the store (the API opens it after the drop; SQLite
# makes -wal and -shm beside it); the key stays root's, mode 600.
chmod 755 "$TS_TMP"
mkdir "$TS_TMP/db" && chown nobody:nogroup "$TS_TMP/db"
ts_api_init "$TS_BIN"
TS_DB="$TS_TMP/db/accounts.db"
chown nobody "$TS_ADMIN_TOKEN_FILE"
chmod 600 "$KEY" "$EKEY"
chmod 644 "$CERT"
low_port() { # a free port below 1024
	local p i
	for ((i = 0; i < 100; i++)); do
		p=$((600 + RANDOM % 400))
		ts_port_free "$p" && { echo "$p"; return 0; }
	done
	return 1
}
LOW_TLS=$(low_port) || exit 1
LOW_API=$(low_port) || exit 1
[ "$LOW_API" != "$LOW_TLS" ] || LOW_API=$(low_port) || exit 1
CONF="$TS_TMP/privs.conf"
printf 'proc-user=nobody\nproc-group=nogroup\napi-rate=1000\n' >"$CONF"
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --relay-threads 2 --allow-loopback-peers \
	--tls-listening-port "$LOW_TLS" --cert "$CERT" --pkey "$KEY" \
	--api-listening-port "$LOW_API" --db "$TS_DB" \
	--api-admin-token-file "$TS_ADMIN_TOKEN_FILE" -c "$CONF" || exit 1
P=$TS_PID

ids_ok() { # every thread: real, effective, saved and fs ids; groups
	local f bad=0 n=0
	for f in /proc/"$P"/task/*/status; do
		n=$((n + 1))
		grep -qx "Uid:[[:space:]]*$NOBODY_UID[[:space:]]*$NOBODY_UID[[:space:]]*$NOBODY_UID[[:space:]]*$NOBODY_UID" "$f" || bad=1
		grep -qx "Gid:[[:space:]]*$NOGROUP_GID[[:space:]]*$NOGROUP_GID[[:space:]]*$NOGROUP_GID[[:space:]]*$NOGROUP_GID" "$f" || bad=1
		grep -qx "Groups:[[:space:]]*\($NOGROUP_GID[[:space:]]*\)\?" "$f" || bad=1
		grep -qx "CapEff:[[:space:]]*0*" "$f" || bad=1
	done
	echo "$n threads"
	[ "$bad" = 0 ] && [ "$n" -gt 3 ]
}
ts_check "proc-user: a TLS port below 1024 was bound before the drop" \
	bash -c "sclient() { timeout -k 2 10 openssl s_client -connect 127.0.0.1:$LOW_TLS -tls1_3 </dev/null 2>&1; }; out=\$(sclient); [[ \$out == *'New, TLSv1.3'* ]]"
alloc() {
	"$TS_PY" - "$TS_PORT" <<'EOF'
import os, sys
sys.path.insert(0, os.environ["TS_DIR"])
from turnclient import Client
c = Client(("127.0.0.1", int(sys.argv[1])), timeout=2)
c.set_user("alice", "alicepw")
r = c.allocate()
print("allocate:", r.error_code() or "success")
sys.exit(0 if r.error_code() is None else 1)
EOF
}
export TS_DIR
# fcheck NAME FUNCTION: like ts_check, for a shell function.
fcheck() {
	local out
	if out=$("$2" 2>&1); then
		ts_pass "$1" "$(printf '%s' "$out" | tail -1)"
	else
		ts_fail "$1" "$(printf '%s' "$out" | tail -3)"
	fi
}
fcheck "proc-user: every thread runs as nobody:nogroup, no capabilities" ids_ok
fcheck "proc-user: a TURN allocation works after the drop" alloc
api_ok() {
	"$TS_PY" "$TS_DIR/api_cases.py" wait-http "http://127.0.0.1:$LOW_API/healthz" 5
}
fcheck "proc-user: the API answers on its port below 1024" api_ok

# Reloads after the drop.
hup_expect() { # hup_expect NAME LOG-TEXT: SIGHUP, then the log must say it
	local before
	before=$(wc -l <"$TS_LOG")
	kill -HUP "$P"
	for ((i = 0; i < 50; i++)); do
		tail -n +"$((before + 1))" "$TS_LOG" | grep -qF "$2" && break
		sleep 0.1
	done
	expect "$1" "$2" "$(tail -n +"$((before + 1))" "$TS_LOG")"
}
hup_expect "reload as nobody: a root-only key is refused" "reload failed; keeping the running configuration"
ts_check "reload as nobody: TLS still served after the refused reload" \
	bash -c "out=\$(timeout -k 2 10 openssl s_client -connect 127.0.0.1:$LOW_TLS -tls1_3 </dev/null 2>&1); [[ \$out == *'New, TLSv1.3'* ]]"
chmod 644 "$KEY"
printf 'listening-port=%s\n' "$(low_port)" >>"$CONF"
hup_expect "reload as nobody: a new listening port below 1024 is refused" \
	"reload failed; keeping the running configuration"
ts_check "reload as nobody: the old port still answers" \
	"$TS_PY" "$TS_DIR/turnclient.py" binding 127.0.0.1 "$TS_PORT" 2
printf 'proc-user=nobody\nproc-group=nogroup\napi-rate=999\n' >"$CONF"
hup_expect "reload as nobody: readable key, new API options: accepted" "configuration reloaded"
fcheck "reload as nobody: the API restarted on its port below 1024" api_ok
printf 'proc-user=root\n' >"$CONF"
hup_expect "reload: another proc-user needs a restart" "changing 'proc-user' or 'proc-group' needs a restart"
fcheck "proc-user: still nobody after the reloads" ids_ok
fcheck "proc-user: allocations still work after the reloads" alloc
ts_finish
