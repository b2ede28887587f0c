# shellcheck shell=bash
# Shared helpers for the interop and security tests (tests/integration).
#
# A test sets TS_NAME and sources this file:
#
#     TS_NAME=uclient
#     . "$(dirname "$0")/lib.sh"
#     ts_start_server "$BIN" "${TS_AUTH[@]}" --allow-loopback-peers
#     ts_check "name" some command ...
#     ts_finish
#
# What it gives:
#   - random free loopback ports (listening 20000-32767, relay ranges in
#     40000-48999) so tests can run side by side;
#   - ts_start_server: the daemon in the background, ready once it answers
#     a STUN Binding (bounded wait); TS_SERVER=coturn runs coturn's
#     turnserver with the same meaning instead, to validate the harness;
#   - ts_bg: start any helper in the background and remember its PID;
#   - an EXIT trap that stops only the PIDs recorded here, by PID, with a
#     bounded wait, and removes the temporary directory;
#   - ts_pass/ts_fail/ts_check/ts_finish reporting. ts_finish also fails the
#     test if a daemon died, exited badly on SIGTERM or printed a sanitizer
#     report;
#   - for the HTTP API tests: ts_api_init (account store and admin token)
#     and ts_start_api (a daemon with the API, ready once /healthz answers;
#     ts_start_api_tls, the same over HTTPS);
#   - for the Chromium tests: ts_netns_lo (re-run inside a network
#     namespace with only "lo") and ts_need_chromium.
# Only loopback addresses are used (the netns test adds its own inside a
# private namespace).
set -uo pipefail

TS_NAME=${TS_NAME:-test}
TS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TS_SRC=${TS_SRC:-$(cd "$TS_DIR/../.." && pwd)}
# Debian's python3 has python3-aioice; a pyenv python3 on PATH may not.
TS_PY=/usr/bin/python3
TS_SERVER=${TS_SERVER:-turnstone}
TS_COTURN_BIN=${TS_COTURN_BIN:-/usr/bin/turnserver}
TS_SECRET=${TS_SECRET:-ts-secret-$RANDOM$RANDOM}
TS_TMP=$(mktemp -d "/tmp/ts_${TS_NAME}.XXXXXX")
TS_PIDS=()        # every background PID we started, helpers and servers
TS_SRV_PIDS=()    # servers only, with their logs in TS_SRV_LOGS
TS_SRV_LOGS=()
TS_FAILED=0
TS_PASSED=0
TS_PORT=
TS_MINP=
TS_MAXP=
TS_PID=
TS_LOG=

ts_log() { printf '%s: %s\n' "$TS_NAME" "$*" >&2; }

# Stop one PID we started: SIGTERM, up to $2 tenths of a second, SIGKILL.
# Leaves the exit status in TS_STOP_RC ("killed" if SIGKILL was needed).
# Not for use inside $(...): only the main shell can wait for its children.
ts_stop_pid() {
	local pid=$1 tenths=${2:-50} i
	ts_forget_pid "$pid"
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null
		TS_STOP_RC=$?
		return
	fi
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < tenths; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		TS_STOP_RC=killed
		return
	fi
	wait "$pid" 2>/dev/null
	TS_STOP_RC=$?
}

# Drop a PID from TS_PIDS once it is reaped, so a recycled PID is never hit.
ts_forget_pid() {
	local p keep=()
	for p in "${TS_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	TS_PIDS=("${keep[@]}")
}

ts_cleanup() {
	local rc=$? pid
	trap - EXIT
	for pid in "${TS_PIDS[@]}"; do
		kill -0 "$pid" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${TS_PIDS[@]}"; do
		ts_stop_pid "$pid" 30
	done
	TS_PIDS=()
	if [ -n "${TS_KEEP_TMP:-}" ]; then
		ts_log "kept $TS_TMP"
	else
		rm -rf "$TS_TMP"
	fi
	exit "$rc"
}
trap ts_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Run "$@" in the background; its PID is recorded and left in TS_LAST_PID.
# Must be called in the main shell (not inside $(...)) so the PID is ours.
ts_bg() {
	"$@" &
	TS_LAST_PID=$!
	TS_PIDS+=("$TS_LAST_PID")
}

# A port with no UDP or TCP socket on it (bounded number of tries).
ts_port_free() {
	[ -z "$(ss -Hanut "( sport = :$1 )" 2>/dev/null)" ]
}
# Ports handed out are remembered in a file (callers run this in a
# subshell): two picks before either is bound must not collide, as the
# TURN and API ports of one daemon once did.
ts_pick_port() {
	local p i picked="$TS_TMP/picked-ports"
	for ((i = 0; i < 200; i++)); do
		# Below the kernel's ephemeral range (32768-60999 by default),
		# so no client socket takes it between the pick and the bind.
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 12768))
		grep -qx "$p" "$picked" 2>/dev/null && continue
		if ts_port_free "$p"; then
			echo "$p" >>"$picked"
			echo "$p"
			return 0
		fi
	done
	ts_log "no free port found"
	return 1
}
# Sets TS_MINP/TS_MAXP to a block of TS_RELAY_SPAN (100) ports in
# 40000-48999 of which at most 10 are in use (other programs, e.g. a load
# generator, may hold ports there; a server skips busy relay ports).
# TIME-WAIT is not use: test_bench_smoke's alloc over TCP leaves
# thousands of client ends in it for a minute, all over the ephemeral
# range, and none of them stops a relay's bind.
ts_pick_relay_range() {
	local i lo span=${TS_RELAY_SPAN:-100}
	if [ "$span" -le 10 ]; then
		ts_pick_small_range "$span"
		return
	fi
	for ((i = 0; i < 100; i++)); do
		lo=$((40000 + (RANDOM % ((9000 - span) / 100)) * 100))
		if [ "$(ss -Hanut exclude time-wait "( sport >= :$lo and sport <= :$((lo + span - 1)) )" 2>/dev/null | wc -l)" -le 10 ]; then
			TS_MINP=$lo
			TS_MAXP=$((lo + span - 1))
			return 0
		fi
	done
	ts_log "no free relay range found"
	return 1
}

# A range of a few ports must be all free, or a test that fills it sees
# 508 early: pick it below the ephemeral range, where no client socket of
# the test itself can take one of its ports, and remember its ports as
# ts_pick_port does.
ts_pick_small_range() {
	local span=$1 i lo p ok picked="$TS_TMP/picked-ports"
	for ((i = 0; i < 200; i++)); do
		lo=$((20000 + (RANDOM * 32768 + RANDOM) % (12768 - span)))
		ok=1
		for ((p = lo; p < lo + span; p++)); do
			if grep -qx "$p" "$picked" 2>/dev/null || ! ts_port_free "$p"; then
				ok=0
				break
			fi
		done
		[ "$ok" = 1 ] || continue
		for ((p = lo; p < lo + span; p++)); do
			echo "$p" >>"$picked"
		done
		TS_MINP=$lo
		TS_MAXP=$((lo + span - 1))
		return 0
	done
	ts_log "no free range of $span ports found"
	return 1
}

# REST credentials (draft-uberti-behave-turn-rest): "<expiry>:<user-id>"
# and base64(HMAC-SHA1(secret, username)).
ts_rest_user() { echo "$(($(date +%s) + ${2:-600})):$1"; }
ts_rest_pass() {
	printf '%s' "$2" | openssl dgst -sha1 -hmac "$1" -binary | base64
}

# The usual credential options: REST secret plus one static user.
# shellcheck disable=SC2034 # used by the tests that source this file
TS_AUTH=(--use-auth-secret --static-auth-secret "$TS_SECRET" --user alice:alicepw)

# coturn's own defaults that turnstone does not have, switched off so the
# two answer alike (docs/interop.md says why --fingerprint is not here).
ts_coturn_args() {
	TS_COTURN_ARGS=(--no-tls --no-dtls --no-cli --no-software-attribute
		--no-rfc5780 --no-stun-backward-compatibility
		--response-origin-only-with-rfc5780 --pidfile "$1"
		--log-file stdout --simple-log)
}

# ts_start_server BIN [extra args...]: start a server on 127.0.0.1 at a
# random port with a random relay range (on TS_RELAY_IP, 127.0.0.1 by
# default) and realm "test"; wait (bounded by
# TS_START_TIMEOUT, 20 s) until it answers a Binding. Sets TS_PORT, TS_PID,
# TS_LOG, TS_MINP, TS_MAXP. Returns nonzero (after printing the log) if
# the server exits or never answers.
ts_start_server() {
	local bin=$1 n=${#TS_SRV_PIDS[@]} i tries
	shift
	TS_PORT=$(ts_pick_port) || return 1
	ts_pick_relay_range || return 1
	TS_LOG="$TS_TMP/server$n.log"
	local common=(--listening-ip 127.0.0.1 --listening-port "$TS_PORT"
		--relay-ip "${TS_RELAY_IP:-127.0.0.1}" --min-port "$TS_MINP" --max-port "$TS_MAXP"
		--realm test)
	case $TS_SERVER in
	turnstone)
		echo "+ $bin serve ${common[*]} $*" >"$TS_LOG"
		ts_bg "$bin" serve "${common[@]}" "$@" >>"$TS_LOG" 2>&1
		;;
	coturn)
		ts_coturn_args "$TS_TMP/coturn$n.pid"
		echo "+ turnserver -n ${common[*]} ${TS_COTURN_ARGS[*]} $*" >"$TS_LOG"
		ts_bg "$TS_COTURN_BIN" -n "${common[@]}" "${TS_COTURN_ARGS[@]}" "$@" \
			>>"$TS_LOG" 2>&1
		;;
	*)
		ts_log "TS_SERVER must be turnstone or coturn, not '$TS_SERVER'"
		return 1
		;;
	esac
	TS_PID=$TS_LAST_PID
	TS_SRV_PIDS+=("$TS_PID")
	TS_SRV_LOGS+=("$TS_LOG")
	tries=$((${TS_START_TIMEOUT:-20} * 5))
	for ((i = 0; i < tries; i++)); do
		if ! kill -0 "$TS_PID" 2>/dev/null; then
			wait "$TS_PID" 2>/dev/null
			ts_log "server exited early (status $?); log:"
			cat "$TS_LOG" >&2
			return 1
		fi
		if "$TS_PY" "$TS_DIR/turnclient.py" binding 127.0.0.1 "$TS_PORT" 0.2 \
			>/dev/null 2>&1; then
			ts_log "$TS_SERVER up on 127.0.0.1:$TS_PORT (pid $TS_PID, relay $TS_MINP-$TS_MAXP)"
			return 0
		fi
		sleep 0.2
	done
	ts_log "server on 127.0.0.1:$TS_PORT never answered a Binding; log:"
	cat "$TS_LOG" >&2
	return 1
}

# coturn ignores --user accounts while --use-auth-secret is on, whereas
# turnstone takes both. Tests that use the static user call this after
# ts_start_server: under turnstone it only sets TS_SPORT=TS_PORT (same
# server); under coturn it starts a second server with just the static
# user and the given extra args. TS_PORT/TS_PID etc. keep the first server.
ts_start_static_sibling() {
	local bin=$1 port=$TS_PORT pid=$TS_PID log=$TS_LOG lo=$TS_MINP hi=$TS_MAXP
	shift
	if [ "$TS_SERVER" != coturn ]; then
		export TS_SPORT=$TS_PORT
		return 0
	fi
	ts_start_server "$bin" --lt-cred-mech --user alice:alicepw "$@" || return 1
	TS_SPORT=$TS_PORT
	export TS_SPORT
	TS_PORT=$port TS_PID=$pid TS_LOG=$log TS_MINP=$lo TS_MAXP=$hi
}

# ts_make_cert TAG: a self-signed P-256 certificate for 127.0.0.1 and ::1
# in TS_TMP. Sets TS_CERT, TS_KEY and TS_SPKI (base64 SHA-256 of the key's
# SubjectPublicKeyInfo: what Chromium's --ignore-certificate-errors-spki-list
# takes).
ts_make_cert() {
	local tag=${1:-tls}
	TS_CERT="$TS_TMP/$tag-cert.pem"
	TS_KEY="$TS_TMP/$tag-key.pem"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$TS_KEY" -out "$TS_CERT" -days 2 -subj "/CN=$tag" \
		-addext "subjectAltName=IP:127.0.0.1,IP:::1" >/dev/null 2>&1 || {
		ts_log "openssl req failed"
		return 1
	}
	TS_SPKI=$(openssl x509 -in "$TS_CERT" -pubkey -noout |
		openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
}

# A daemon log holding a sanitizer report.
ts_log_has_sanitizer() {
	grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|ThreadSanitizer' "$1"
}

# ts_stop_server PID LOG: SIGTERM, bounded wait; fail the test if it had
# died already, did not exit cleanly or logged a sanitizer report.
ts_stop_server() {
	local pid=$1 log=$2 alive=1 rc show=0
	kill -0 "$pid" 2>/dev/null || alive=0
	ts_stop_pid "$pid" 100
	rc=$TS_STOP_RC
	if [ "$alive" = 0 ]; then
		ts_fail "server pid $pid stayed up" "it had exited (status $rc) before the end of the test"
		show=1
	elif [ "$rc" = killed ]; then
		ts_fail "server pid $pid stops on SIGTERM" "needed SIGKILL after 10 s"
		show=1
	elif [ "$rc" != 0 ] && [ "$rc" != 143 ]; then
		ts_fail "server pid $pid stops on SIGTERM" "exit status $rc"
		show=1
	fi
	if ts_log_has_sanitizer "$log"; then
		ts_fail "no sanitizer report from pid $pid" "see log below"
		show=1
	fi
	if [ "$show" = 1 ]; then
		echo "--- $log (last 60 lines)"
		tail -n 60 "$log"
	fi
}

# Reporting. A check's detail goes on the same line so a failure reads
# alone: "FAIL name: what came back".
ts_pass() { TS_PASSED=$((TS_PASSED + 1)); echo "ok   $1${2:+ ($2)}"; }
ts_fail() { TS_FAILED=$((TS_FAILED + 1)); echo "FAIL $1${2:+: $2}"; }

# ts_check NAME CMD...: pass if CMD exits 0 within TS_CHECK_TIMEOUT (120 s).
# Its output is shown indented.
ts_check() {
	local name=$1 rc
	shift
	echo "== $name"
	timeout -k 5 "${TS_CHECK_TIMEOUT:-120}" "$@" 2>&1 | sed 's/^/   /'
	rc=${PIPESTATUS[0]}
	if [ "$rc" = 0 ]; then
		ts_pass "$name"
	elif [ "$rc" = 124 ]; then
		ts_fail "$name" "timed out after ${TS_CHECK_TIMEOUT:-120} s"
	else
		ts_fail "$name" "exit status $rc"
	fi
}

# ts_run_checks NAME CMD...: run a checker that prints "ok ..." and
# "FAIL ..." lines; each line counts as one check, other lines are shown
# indented. A nonzero exit with no FAIL line is a failure too.
ts_run_checks() {
	local name=$1 line before=$TS_FAILED
	shift
	echo "== $name"
	while IFS= read -r line; do
		case $line in
		"ok "*) ts_pass "${line#ok }" ;;
		"FAIL "*) ts_fail "${line#FAIL }" ;;
		"exit-status 0") ;;
		"exit-status "*)
			[ "$TS_FAILED" != "$before" ] ||
				ts_fail "$name" "checker ${line/exit-status/exited with status}"
			;;
		*) echo "   $line" ;;
		esac
	done < <(PYTHONPATH="$TS_DIR" timeout -k 5 "${TS_CHECK_TIMEOUT:-120}" \
		"$@" 2>&1; echo "exit-status $?")
}
# ts_python_checks NAME SCRIPT [args]: the same with Debian's python3.
ts_python_checks() {
	local name=$1
	shift
	ts_run_checks "$name" "$TS_PY" "$@"
}

# Stop every server (checking each) and exit 0 only if nothing failed.
ts_finish() {
	local i
	for i in "${!TS_SRV_PIDS[@]}"; do
		ts_stop_server "${TS_SRV_PIDS[$i]}" "${TS_SRV_LOGS[$i]}"
	done
	TS_SRV_PIDS=()
	echo "$TS_NAME ($TS_SERVER): $TS_PASSED passed, $TS_FAILED failed"
	[ "$TS_FAILED" = 0 ] || exit 1
	exit 0
}

# The binary argument, checked (coturn mode does not need it).
ts_need_bin() {
	TS_BIN=${1:-}
	if [ "$TS_SERVER" = turnstone ] && [ ! -x "$TS_BIN" ]; then
		ts_log "usage: bash test_$TS_NAME.sh /path/to/turnstone (got '$TS_BIN')"
		exit 2
	fi
}

# ts_forget_server PID: the server at PID leaves the list ts_finish checks
# (it is stopped or killed on purpose by the test, which checks its log
# itself if it wants to). Its PID stays in TS_PIDS until it is reaped.
ts_forget_server() {
	local i pids=() logs=()
	for i in "${!TS_SRV_PIDS[@]}"; do
		if [ "${TS_SRV_PIDS[$i]}" != "$1" ]; then
			pids+=("${TS_SRV_PIDS[$i]}")
			logs+=("${TS_SRV_LOGS[$i]}")
		fi
	done
	TS_SRV_PIDS=("${pids[@]}")
	TS_SRV_LOGS=("${logs[@]}")
}

# ---- the HTTP API tests (turnstone only)

# ts_api_init BIN: ts_need_bin, then exit 0 unless TS_SERVER=turnstone (the
# API is ours). Sets TS_DB (the account store for --db, not created here)
# and TS_ADMIN_TOKEN, a random admin token also written, mode 600, to
# TS_ADMIN_TOKEN_FILE (for --api-admin-token-file). Python leaves no
# __pycache__ in the source tree.
ts_api_init() {
	export PYTHONDONTWRITEBYTECODE=1
	ts_need_bin "$1"
	if [ "$TS_SERVER" != turnstone ]; then
		ts_log "turnstone only (the API is ours)"
		exit 0
	fi
	TS_DB="$TS_TMP/accounts.db"
	TS_ADMIN_TOKEN="admin-$RANDOM$RANDOM-$RANDOM$RANDOM-token"
	TS_ADMIN_TOKEN_FILE="$TS_TMP/admin-token"
	printf '%s\n' "$TS_ADMIN_TOKEN" >"$TS_ADMIN_TOKEN_FILE"
	chmod 600 "$TS_ADMIN_TOKEN_FILE"
}

# ts_start_api BIN [extra args...]: ts_start_server with REST credentials
# (TS_SECRET), loopback peers allowed and the HTTP API on a fresh port
# (TS_API_PORT) with ts_api_init's --db and admin token file; then wait
# (20 s) until GET /healthz answers 200. Sets what ts_start_server sets
# and TS_API_PORT. Returns nonzero (after printing the log) if the daemon
# does not start or the API never answers.
ts_start_api() {
	local bin=$1
	shift
	TS_API_PORT=$(ts_pick_port) || return 1
	ts_start_server "$bin" --use-auth-secret --static-auth-secret "$TS_SECRET" \
		--allow-loopback-peers --api-listening-port "$TS_API_PORT" \
		--db "$TS_DB" --api-admin-token-file "$TS_ADMIN_TOKEN_FILE" "$@" ||
		return 1
	if ! "$TS_PY" "$TS_DIR/api_cases.py" wait-http \
		"http://127.0.0.1:$TS_API_PORT/healthz" 20; then
		ts_log "API never answered on port $TS_API_PORT; log:"
		cat "$TS_LOG" >&2
		return 1
	fi
	ts_log "API on http://127.0.0.1:$TS_API_PORT (TURN $TS_PORT, relay $TS_MINP-$TS_MAXP)"
}

# ts_start_api_tls BIN CERT KEY [extra args...]: ts_start_server with
# REST credentials (TS_SECRET) and the HTTP API over HTTPS (api-cert CERT,
# api-pkey KEY) on a fresh port (TS_API_PORT) with ts_api_init's --db;
# then wait (10 s) until GET /healthz answers over HTTPS, verified
# against CERT. Sets what ts_start_server sets and TS_API_PORT. Returns
# nonzero if the daemon does not start or the API never answers.
ts_start_api_tls() {
	local bin=$1 cert=$2 key=$3 i
	shift 3
	TS_API_PORT=$(ts_pick_port) || return 1
	ts_start_server "$bin" --use-auth-secret --static-auth-secret "$TS_SECRET" \
		--api-listening-port "$TS_API_PORT" --db "$TS_DB" \
		--api-health-interval 0 --api-cert "$cert" --api-pkey "$key" "$@" ||
		return 1
	for i in $(seq 1 50); do
		curl -s -o /dev/null --cacert "$cert" \
			"https://127.0.0.1:$TS_API_PORT/healthz" && return 0
		sleep 0.2
	done
	ts_log "API never answered over HTTPS on port $TS_API_PORT"
	return 1
}

# ---- the Chromium tests

# ts_netns_lo "$@" (right after sourcing this file): when a private network
# namespace can be made (root) and TS_NETNS is not 0, run the test again
# inside one that has only "lo" up, so the browser cannot reach anything
# but loopback whatever it tries. Does not return then; this process's
# temporary directory is removed first (nothing has run yet).
# ts_netns_lo --required "$@": the same, but a test that must never run
# outside a namespace (it asks for forbidden peers) fails when none can
# be made, and TS_NETNS=0 does not apply.
ts_netns_lo() {
	local required=0
	if [ "${1:-}" = --required ]; then
		required=1
		shift
	fi
	if [ -n "${TS_IN_NETNS:-}" ]; then
		ts_log "running in a private network namespace (lo only)"
		return 0
	fi
	if [ "$required" = 1 ]; then
		unshare -n true 2>/dev/null || {
			ts_log "FAIL: cannot create a network namespace (unshare -n needs" \
				"root or CAP_SYS_ADMIN); refusing to run outside one"
			exit 1
		}
	else
		[ "${TS_NETNS:-1}" != 0 ] && unshare -n true 2>/dev/null || return 0
	fi
	trap - EXIT
	rm -rf "$TS_TMP"
	# shellcheck disable=SC2016 # $0 and $@ belong to the inner bash
	TS_IN_NETNS=1 exec unshare -n bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" "$@"
}

# ts_need_chromium: exit 1 unless Debian's chromium (TS_CHROMIUM, default
# /usr/bin/chromium), node and playwright-core (scripts/install-deps) are
# there. Exports what the .mjs drivers need (TS_CHROMIUM, no browser
# download) and keeps Chromium's profile and crash dumps in TS_TMP/home.
ts_need_chromium() {
	local chromium=${TS_CHROMIUM:-/usr/bin/chromium}
	[ -x "$chromium" ] || { ts_log "$chromium missing (apt-get install chromium)"; exit 1; }
	command -v node >/dev/null || { ts_log "node missing"; exit 1; }
	[ -d "$TS_DIR/node_modules/playwright-core" ] ||
		{ ts_log "playwright-core missing: run scripts/install-deps"; exit 1; }
	export HOME="$TS_TMP/home" XDG_CONFIG_HOME="$TS_TMP/home/.config" \
		XDG_CACHE_HOME="$TS_TMP/home/.cache"
	mkdir -p "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
	export TS_CHROMIUM="$chromium" PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
}
