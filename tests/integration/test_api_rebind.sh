#!/usr/bin/env bash
# A reload that moves the ICE-servers API to an address overlapping the
# old one on the same port (127.0.0.1:P to 0.0.0.0:P and back): the kernel
# will not have both bound at once, so the old socket must go first. It
# used to fail with "address in use" and keep the old address.
#
# 0.0.0.0 listens on every interface, so the test runs in a private
# network namespace that has only lo (when one can be made; otherwise it
# says so and stops: it never listens on a real interface).
#
#   bash test_api_rebind.sh /path/to/turnstone        (what ctest runs)
TS_NAME=api_rebind
. "$(dirname "$0")/lib.sh"
ts_netns_lo "$@"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || exit 0
if [ -z "${TS_IN_NETNS:-}" ]; then
	ts_log "no private network namespace (needs root): skipping"
	exit 0
fi
ts_api_init "$TS_BIN"
conf="$TS_TMP/api.conf"
printf 'api-health-interval=0\napi-listening-ip=127.0.0.1\n' >"$conf"
ts_start_api "$TS_BIN" -c "$conf" || exit 1
P=$TS_API_PORT

code() { curl -s -o /dev/null -m 3 -w '%{http_code}' "http://$1:$P/healthz"; }
reload() { # $1: how many reload lines the log must have
	kill -HUP "$TS_PID"
	local i
	for i in $(seq 1 100); do
		[ "$(grep -c 'configuration reloaded\|reload failed' "$TS_LOG")" -ge "$1" ] && return
		sleep 0.1
	done
}
wait_code() { # address, expected code
	local i c
	for i in $(seq 1 50); do
		c=$(code "$1")
		[ "$c" = "$2" ] && break
		sleep 0.1
	done
	echo "$c"
}

ts_check "API on 127.0.0.1" test "$(code 127.0.0.1)" = 200
ts_check "nothing on 127.0.0.2 yet" test "$(code 127.0.0.2)" = 000

printf 'api-health-interval=0\napi-listening-ip=0.0.0.0\n' >"$conf"
reload 1
ts_check "reload to 0.0.0.0 on the same port accepted" grep -q "configuration reloaded" "$TS_LOG"
ts_check "no 'cannot listen' in the log" test "$(grep -c 'cannot listen' "$TS_LOG")" = 0
ts_check "the API now answers on 127.0.0.2 (the wildcard)" test "$(wait_code 127.0.0.2 200)" = 200
ts_check "... and on 127.0.0.1" test "$(code 127.0.0.1)" = 200

printf 'api-health-interval=0\napi-listening-ip=127.0.0.1\n' >"$conf"
reload 2
ts_check "and back to 127.0.0.1: 127.0.0.2 no longer answers" test "$(wait_code 127.0.0.2 000)" = 000
ts_check "... 127.0.0.1 does" test "$(code 127.0.0.1)" = 200

# Another program holds the wildcard's port on an address the API's
# socket would cover: the move fails and the API listens on 127.0.0.1
# again, not nowhere.
cat >"$TS_TMP/holder.py" <<'EOF'
import socket, sys, time
s = socket.socket()
s.bind(("127.0.0.3", int(sys.argv[1])))
s.listen(1)
print("bound", flush=True)
time.sleep(30)
EOF
ts_bg "$TS_PY" "$TS_TMP/holder.py" "$P" >"$TS_TMP/holder.out" 2>&1
holder=$TS_LAST_PID
for i in $(seq 1 50); do grep -q bound "$TS_TMP/holder.out" && break; sleep 0.1; done
printf 'api-health-interval=0\napi-listening-ip=0.0.0.0\n' >"$conf"
reload 3
ts_check "a wildcard another program's socket overlaps: the reload says why" \
	grep -q "the API cannot listen on 0.0.0.0" "$TS_LOG"
ts_check "... and the API is back on 127.0.0.1" test "$(wait_code 127.0.0.1 200)" = 200
ts_stop_pid "$holder"
ts_check "the daemon still runs" kill -0 "$TS_PID"
ts_finish
