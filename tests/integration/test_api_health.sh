#!/usr/bin/env bash
# Health checks drive the answers: a customer's TURN server that fails its
# STUN Binding probes is left out of a fallback account's answer, an
# override account still gets it (never platform servers instead) and
# metrics flag it; once the server answers again it is back, and once it
# stops again it is left out again.
# Many other servers are configured beside it: 24 loopback UDP ports and
# a TCP port that never answer and, inside a private network and mount
# namespace (lo only, a stub DNS server on 127.0.0.1:53 as the only
# resolver, so no lookup leaves the machine), a name whose lookup fails
# and one whose lookup hangs. A round probes every server at once and
# never waits for DNS, so each server's state still follows it within
# about one round; the old one-at-a-time checker spent 2 s per silent
# server and the whole hung lookup in every round (about a minute here).
# See api_health.py for the checks.
#
#   bash test_api_health.sh /path/to/turnstone
TS_NAME=api_health
. "$(dirname "$0")/lib.sh"
# As ts_netns_lo, plus a mount namespace for our own resolv.conf.
if [ -z "${TS_IN_NETNS:-}" ] && [ "${TS_NETNS:-1}" != 0 ] &&
	unshare -n -m true 2>/dev/null; then
	trap - EXIT
	rm -rf "$TS_TMP"
	# shellcheck disable=SC2016 # $0 and $@ belong to the inner bash
	TS_IN_NETNS=1 exec unshare -n -m bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" "$@"
fi
ts_api_init "${1:-}"
db=$TS_DB
customer_secret="customer-$RANDOM$RANDOM"
cport=$(ts_pick_port) || exit 1
custom="turn:127.0.0.1:$cport?transport=udp"
acct() { timeout 30 "$TS_BIN" account "$@" --db "$db" >>"$TS_TMP/cli.log" 2>&1; }
setup_failed() { ts_log "CLI setup failed:"; cat "$TS_TMP/cli.log" >&2; exit 1; }
for a in ovr fb; do
	mode=override
	[ "$a" = fb ] && mode=fallback
	acct create "$a" --configurable-turn &&
		acct key add "$a" --kid "$a-k1" --alg HS256 \
			--secret "$a-secret-0123456789abcdefghijklmnop" &&
		acct turn set "$a" --mode "$mode" --server "$custom" \
			--secret "$customer_secret" || setup_failed
done

# The silent servers: ports held open by a helper that never answers.
ports="$TS_TMP/silent-ports"
ts_bg "$TS_PY" "$TS_DIR/api_health.py" silent "$ports" 24 1
for ((i = 0; i < 100; i++)); do
	[ -s "$ports" ] && break
	sleep 0.1
done
mapfile -t others < <(awk '{ print "turn:127.0.0.1:" $2 "?transport=" $1 }' "$ports")
[ "${#others[@]}" = 25 ] || { ts_log "silent ports missing"; exit 1; }
silent=${others[0]}
names=()
if [ -n "${TS_IN_NETNS:-}" ]; then
	printf 'nameserver 127.0.0.1\noptions timeout:5 attempts:2\n' >"$TS_TMP/resolv.conf"
	mount --bind "$TS_TMP/resolv.conf" /etc/resolv.conf ||
		{ ts_log "cannot mount our resolv.conf"; exit 1; }
	ts_bg "$TS_PY" "$TS_DIR/api_health.py" dns-stub "$TS_TMP/dns.log"
	for ((i = 0; i < 100; i++)); do
		[ -s "$TS_TMP/dns.log" ] && break
		sleep 0.1
	done
	names=("turn:gone-$RANDOM.invalid:3478?transport=udp"
		"turn:slow-$RANDOM.invalid:3478?transport=udp")
	others+=("${names[@]}")
else
	ts_log "no network namespace: no names (their lookups would leave the machine)"
fi
# Accounts of 4 servers with 4 URLs each hold them.
for ((i = 0; i < ${#others[@]}; i += 16)); do
	set_args=()
	for ((j = i; j < i + 16 && j < ${#others[@]}; j += 4)); do
		set_args+=(--server "$(IFS=,; echo "${others[*]:j:4}")" --secret many-secret)
	done
	acct create "many$i" --configurable-turn &&
		acct turn set "many$i" --mode override "${set_args[@]}" || setup_failed
done

since=$(date +%s.%N)
# One API thread (as api-threads 0 gives on a one-CPU container): the
# health checks do not depend on the pool, and libmicrohttpd used to warn
# at every start that a pool size of 1 is ignored.
ts_start_api "$TS_BIN" --api-health-interval 1 --api-health-failures 2 \
	--api-threads 1 || exit 1
if grep -qi 'thread pool' "$TS_LOG"; then
	ts_fail "api-threads 1 starts without libmicrohttpd's pool warning" \
		"$(grep -i 'thread pool' "$TS_LOG")"
else
	ts_pass "api-threads 1 starts without libmicrohttpd's pool warning"
fi
args=(--api "http://127.0.0.1:$TS_API_PORT" --admin "$TS_ADMIN_TOKEN" --bin "$TS_BIN"
	--db "$db" --custom "$custom" --silent "$silent"
	--platform "turn:127.0.0.1:$TS_PORT?transport=udp")
TS_CHECK_TIMEOUT=60 ts_python_checks "customer server down" \
	"$TS_DIR/api_health.py" down "${args[@]}" --since "$since"
name_args=()
for n in "${names[@]}"; do
	name_args+=(--name-down "$n")
done
TS_CHECK_TIMEOUT=60 ts_python_checks "the others, followed every round" \
	"$TS_DIR/api_health.py" many "${args[@]}" --nservers $((${#others[@]} + 3)) \
	"${name_args[@]}"

# The customer's server comes up (a second turnstone with its own secret).
clog="$TS_TMP/customer.log"
since=$(date +%s.%N)
ts_bg "$TS_BIN" serve --listening-ip 127.0.0.1 --listening-port "$cport" \
	--use-auth-secret --static-auth-secret "$customer_secret" >"$clog" 2>&1
cpid=$TS_LAST_PID
TS_SRV_PIDS+=("$cpid")
TS_SRV_LOGS+=("$clog")
TS_CHECK_TIMEOUT=60 ts_python_checks "customer server up" \
	"$TS_DIR/api_health.py" up "${args[@]}" --since "$since"

# ... and stops again.
ts_forget_server "$cpid"
ts_stop_pid "$cpid" 100
since=$(date +%s.%N)
if [ "$TS_STOP_RC" != 0 ] && [ "$TS_STOP_RC" != 143 ]; then
	ts_fail "customer server stops on SIGTERM" "status $TS_STOP_RC"
elif ts_log_has_sanitizer "$clog"; then
	ts_fail "no sanitizer report from the customer server" "$(tail -n 20 "$clog")"
fi
TS_CHECK_TIMEOUT=60 ts_python_checks "customer server dead again" \
	"$TS_DIR/api_health.py" dead "${args[@]}" --since "$since"
if [ -n "${TS_IN_NETNS:-}" ]; then
	ts_log "stub DNS queries: $(grep -c '^query' "$TS_TMP/dns.log")"
fi
ts_finish
