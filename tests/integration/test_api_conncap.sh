#!/usr/bin/env bash
# --api-connections-per-ip counts a client source as the rate limits and
# the TURN side do (docs/api.md, "Slow clients"): an IPv6 client by its
# /64, which it owns whole, so rotating addresses inside it buys no more
# connections; one over the cap is closed at accept and logged.
#
# Re-runs itself in a private network namespace with only "lo" when one
# can be made (root), and adds 2001:db8:1:2::/64, 2001:db8:1:3::/64 and
# 2001:db8:1:4::1 to that lo: the /64 checks need several addresses of
# one /64, and the host's own lo is not touched. Outside a namespace only
# the ::1 check runs. The daemon listens on :: with a cap of 4. The IPv4
# cap is checked by test_api_slowloris.sh. About 5 s.
#
#   bash test_api_conncap.sh /path/to/turnstone
TS_NAME=api_conncap
. "$(dirname "$0")/lib.sh"
ts_netns_lo "$@"
ts_api_init "${1:-}"

netns=()
if [ -n "${TS_IN_NETNS:-}" ]; then
	addrs=(2001:db8:1:2::1 2001:db8:1:4::1)
	for i in 10 11 12 13 14 15 16 17 20 21 22 23 24 25; do
		addrs+=("2001:db8:1:2::$i")
	done
	for i in 10 11 12 13; do
		addrs+=("2001:db8:1:3::$i")
	done
	for a in "${addrs[@]}"; do
		ip -6 addr add "$a/64" dev lo nodad ||
			{ ts_log "ip addr add $a failed"; exit 1; }
	done
	netns=(netns)
else
	ts_log "no private network namespace: the /64 checks are skipped"
fi

TS_API_PORT=$(ts_pick_port) || exit 1
ts_start_server "$TS_BIN" --use-auth-secret --static-auth-secret "$TS_SECRET" \
	--api-listening-ip :: --api-listening-port "$TS_API_PORT" --db "$TS_DB" \
	--api-admin-token-file "$TS_ADMIN_TOKEN_FILE" --api-health-interval 0 \
	--api-connections-per-ip 4 || exit 1
TS_CHECK_TIMEOUT=30 ts_python_checks "per-source connection cap" \
	"$TS_DIR/api_slow_cases.py" persource "$TS_API_PORT" "$TS_LOG" "${netns[@]}"
ts_finish
