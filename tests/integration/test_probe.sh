#!/usr/bin/env bash
# Starts the daemon on loopback (REST secret and a static user, loopback
# peers allowed) and checks it with 'turnstone probe': STUN Binding, TURN
# over UDP with REST credentials, TURN over TCP with a static user, and a
# wrong password, which must fail; then again with rest-api-separator. Only the daemon started here is killed.
set -uo pipefail

bin=${1:?usage: test_probe.sh /path/to/turnstone}
[ -x "$bin" ] || { echo "test_probe: $bin is not executable" >&2; exit 2; }
secret="probe-secret-$RANDOM$RANDOM"
tmp=$(mktemp -d /tmp/ts_probe.XXXXXX)
log="$tmp/daemon.log"
pid=

cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# A port nobody listens on over UDP or TCP (ss is from iproute2).
port_free() {
	command -v ss >/dev/null || return 0
	[ -z "$(ss -Hlnut "sport = :$1" 2>/dev/null)" ]
}

port=
for _ in $(seq 50); do
	p=$((20000 + RANDOM % 10000))
	if port_free "$p"; then port=$p; break; fi
done
[ -n "$port" ] || { echo "test_probe: no free port" >&2; exit 1; }
min=$((30000 + (RANDOM % 250) * 100))
max=$((min + 99))
srv="127.0.0.1:$port"

# start_daemon [EXTRA ARGS...]: the daemon on $srv, ready when a Binding
# is answered (about 10 s at most).
start_daemon() {
	"$bin" serve --listening-ip 127.0.0.1 --listening-port "$port" \
		--relay-ip 127.0.0.1 --min-port "$min" --max-port "$max" \
		--use-auth-secret --static-auth-secret "$secret" \
		--user alice:secret1 --realm test --allow-loopback-peers "$@" \
		>"$log" 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "test_probe: daemon exited early:" >&2
			cat "$log" >&2
			pid=
			exit 1
		fi
		if timeout 10 "$bin" probe "stun:$srv" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	echo "test_probe: daemon on $srv never answered" >&2
	cat "$log" >&2
	exit 1
}
start_daemon

failed=0
# check NAME WANT CMD...: WANT is 0 (must succeed) or "fail" (any nonzero
# exit except 2, which would mean a usage error rather than a refusal).
check() {
	local name=$1 want=$2 rc
	shift 2
	echo "== $name"
	timeout 60 "$@" 2>&1 | sed 's/^/   /'
	rc=${PIPESTATUS[0]}
	if { [ "$want" = 0 ] && [ "$rc" = 0 ]; } ||
	   { [ "$want" = fail ] && [ "$rc" != 0 ] && [ "$rc" != 2 ] &&
	     [ "$rc" != 124 ]; }; then
		echo "ok   $name (exit $rc)"
	else
		echo "FAIL $name (exit $rc, want $want)"
		failed=1
	fi
}

check "stun binding" 0 "$bin" probe "stun:$srv"
check "turn udp, REST secret" 0 "$bin" probe "turn:$srv?transport=udp" \
	--secret "$secret" --user-id probe-test --count 5
check "turn tcp, static user" 0 "$bin" probe "turn:$srv?transport=tcp" \
	--user alice --password secret1 --count 5
check "turn udp, static user, realm given" 0 "$bin" probe \
	"turn:$srv?transport=udp" --user alice --password secret1 \
	--realm test --count 3
check "turn udp, wrong password" fail "$bin" probe "turn:$srv" \
	--user alice --password wrong
check "turn tcp, wrong secret" fail "$bin" probe "turn:$srv?transport=tcp" \
	--secret "not-$secret"

if ! kill -0 "$pid" 2>/dev/null; then
	echo "FAIL daemon died during the tests"
	failed=1
fi

# coturn's rest-api-separator: REST usernames "<expiry>#<user-id>".
kill "$pid"
wait "$pid" 2>/dev/null
pid=
start_daemon --rest-api-separator '#'
check "separator '#': probe with the same separator" 0 "$bin" probe \
	"turn:$srv?transport=udp" --secret "$secret" --rest-api-separator '#' \
	--count 3
check "separator '#': a ':' username is refused" fail "$bin" probe \
	"turn:$srv?transport=udp" --secret "$secret"
if ! kill -0 "$pid" 2>/dev/null; then
	echo "FAIL daemon died during the separator tests"
	failed=1
fi
if [ "$failed" != 0 ]; then
	echo "--- daemon log"
	tail -n 50 "$log"
	exit 1
fi
echo "all probe checks passed"
