#!/usr/bin/env bash
# revoked-from's name lookup is under the poll's 5 s deadline, and
# stopping the daemon does not wait for it. A resolver that never answers
# would otherwise hold the poll (and a SIGTERM) for the resolver's own
# timeout: here 30 s, set in the resolv.conf below.
#
# Runs under `unshare -m -n`: a private network namespace with only lo,
# and a private mount namespace where /etc/resolv.conf is a bind mount
# naming 127.0.0.1 as the only nameserver. A UDP socket bound there reads
# nothing, so every query goes unanswered and nothing leaves the machine.
# Needs root (CI runs as root); refuses to run outside the namespaces.
#
#   bash test_revoked_dns.sh /path/to/turnstone
TS_NAME=revoked_dns
. "$(dirname "$0")/lib.sh"
if [ -z "${TS_IN_NS:-}" ]; then
	unshare -m -n true 2>/dev/null || {
		ts_log "FAIL: cannot create mount and network namespaces (needs root)"
		exit 1
	}
	trap - EXIT
	rm -rf "$TS_TMP"
	# shellcheck disable=SC2016 # $0 and $@ belong to the inner bash
	TS_IN_NS=1 exec unshare -m -n bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" "$@"
fi
ts_need_bin "${1:-}"

printf 'nameserver 127.0.0.1\noptions timeout:30 attempts:1\n' >"$TS_TMP/resolv.conf"
mount --bind "$TS_TMP/resolv.conf" /etc/resolv.conf || {
	ts_log "FAIL: cannot bind-mount resolv.conf in the namespace"
	exit 1
}
# A nameserver that never answers (UDP and TCP; neither is read).
ts_bg "$TS_PY" -c '
import socket, time
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 53))
t = socket.socket(); t.bind(("127.0.0.1", 53)); t.listen(8)
time.sleep(120)'
sleep 0.3

name=fleet-api.turnstone.test
ts_start_server "$TS_BIN" --use-auth-secret --static-auth-secret "$TS_SECRET" \
	--revoked-interval 1 --revoked-from "http://$name:8080/v1/revoked" || exit 1
pid=$TS_PID log=$TS_LOG
ts_forget_server "$pid"
t0=$(date +%s%N)
said=
for _ in $(seq 1 150); do
	if grep -q "revoked-from http://$name:8080/v1/revoked: " "$log"; then
		said=$(grep "revoked-from http://$name:8080/v1/revoked: " "$log" | head -1)
		break
	fi
	sleep 0.1
done
waited=$((($(date +%s%N) - t0) / 1000000))
if [ -n "$said" ] && [ "$waited" -le 9000 ] &&
	grep -q "resolving '$name': no answer in time; the last list stays" <<<"$said"; then
	ts_pass "a lookup with no answer ends at the poll's deadline" "said after $waited ms"
else
	ts_fail "a lookup with no answer ends at the poll's deadline" \
		"after $waited ms: '${said:-nothing}'"
fi

# The next poll is in its lookup now (interval 1 s); SIGTERM must not
# wait for it.
sleep 1.5
t0=$(date +%s%N)
ts_stop_pid "$pid" 100
took=$((($(date +%s%N) - t0) / 1000000))
if [ "$TS_STOP_RC" != killed ] && [ "$took" -le 3000 ] &&
	{ [ "$TS_STOP_RC" = 0 ] || [ "$TS_STOP_RC" = 143 ]; }; then
	ts_pass "SIGTERM during a lookup stops the daemon at once" "$took ms"
else
	ts_fail "SIGTERM during a lookup stops the daemon at once" \
		"$took ms, status $TS_STOP_RC"
fi
if ts_log_has_sanitizer "$log"; then
	ts_fail "no sanitizer report" "$(tail -n 40 "$log")"
fi
ts_finish
