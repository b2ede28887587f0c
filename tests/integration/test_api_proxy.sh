#!/usr/bin/env bash
# api-trusted-proxy: behind a reverse proxy the per-IP rate limit counts
# each client by X-Forwarded-For, not the proxy's one address; the header
# is believed only from the proxies named, and only right of the first
# address that is not one; the proxy is not held to one client's share of
# connections.
#
#   bash test_api_proxy.sh /path/to/turnstone        (what ctest runs)
TS_NAME=api_proxy
. "$(dirname "$0")/lib.sh"
ts_api_init "$1"
ts_start_api "$TS_BIN" --api-trusted-proxy 127.0.0.1 --api-trusted-proxy ::1/128 \
	--api-rate 1 --api-burst 2 --api-connections-per-ip 2 --api-health-interval 0 || exit 1
url=http://127.0.0.1:$TS_API_PORT/v1/ice-servers

# No token: 401 after the per-IP limit is passed, 429 once it is not.
codes() { # n, curl args...: the n status codes, space-separated
	local n=$1 i out=""
	shift
	for ((i = 0; i < n; i++)); do
		out+="$(curl -s -o /dev/null -w '%{http_code}' -X POST "$@" "$url") "
	done
	echo "${out% }"
}
expect() { # name, want, got
	[ "$2" = "$3" ] && ts_pass "$1" || ts_fail "$1" "got $3, want $2"
}
expect "from the proxy, client A: burst 2, then 429" "401 401 429" \
	"$(codes 3 -H 'X-Forwarded-For: 198.51.100.1')"
expect "... client B through the same proxy has its own bucket" "401 401" \
	"$(codes 2 -H 'X-Forwarded-For: 198.51.100.2')"
expect "a chain ending in the trusted proxy counts the address before it" "401 401 429" \
	"$(codes 3 -H 'X-Forwarded-For: 198.51.100.3, 127.0.0.1')"
expect "what the client wrote left of that is not believed (A's bucket)" "429" \
	"$(codes 1 -H 'X-Forwarded-For: 203.0.113.77, 198.51.100.1')"
expect "two header lines read as one list (the last entry counts)" "429" \
	"$(codes 1 -H 'X-Forwarded-For: 203.0.113.78' -H 'X-Forwarded-For: 198.51.100.1')"
expect "a garbage entry: the proxy's own address counts" "401 401 429" \
	"$(codes 3 -H 'X-Forwarded-For: not-an-address')"
expect "IPv6 clients through the proxy count by their /64" "401 401 429" \
	"$(codes 3 -H 'X-Forwarded-For: 2001:db8:1:2::1' -H 'X-Forwarded-For: 2001:db8:1:2::99')"
expect "from an address that is not a proxy, X-Forwarded-For is ignored" "401 401 429" \
	"$(codes 3 --interface 127.0.0.2 -H 'X-Forwarded-For: 198.51.100.50')"
expect "... whatever it says each time" "429" \
	"$(codes 1 --interface 127.0.0.2 -H 'X-Forwarded-For: 198.51.100.51')"

m=$(curl -s "http://127.0.0.1:$TS_API_PORT/metrics")
[[ $m =~ turnstone_api_rate_limited_total\{limit=\"ip\"\}\ ([0-9]+) ]] &&
	[ "${BASH_REMATCH[1]}" -ge 7 ] &&
	ts_pass "metrics: the 429s above counted as limit=\"ip\" (${BASH_REMATCH[1]})" ||
	ts_fail "metrics: the 429s above counted as limit=\"ip\"" "$(echo "$m" | grep rate_limited)"

# Connections: a client address holds at most 2; the proxy more.
ts_python_checks "connections per address" - "$TS_API_PORT" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
def held(src, n):
    socks, alive = [], 0
    for _ in range(n):
        s = socket.socket()
        s.bind((src, 0))
        s.connect(("127.0.0.1", port))
        socks.append(s)
    time.sleep(0.5)
    for s in socks:  # a refused one is closed at once: reads EOF
        s.setblocking(False)
        try:
            alive += s.recv(1) != b""
        except BlockingIOError:
            alive += 1
        s.close()
    return alive
p, o = held("127.0.0.1", 5), held("127.0.0.3", 5)
print(("ok " if p == 5 else "FAIL ") + "the trusted proxy holds 5 connections (%d open)" % p)
print(("ok " if o == 2 else "FAIL ") + "another address holds 2 (%d open)" % o)
EOF
ts_finish
