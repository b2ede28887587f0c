#!/usr/bin/env bash
# Smoke test for `turnstone bench`: start the daemon on random loopback
# ports, run every mode for 2 s with small parameters and check that each
# printed a RESULT line with nonzero throughput. Loopback only; the daemon
# is stopped by its PID.
set -euo pipefail
ts=${1:?usage: test_bench_smoke.sh /path/to/turnstone}
TS_NAME=bench_smoke
# For ts_make_cert; this script starts and stops its daemon itself.
. "$(dirname "$0")/lib.sh"
# In a namespace of its own (when one can be made) the kernel's UDP
# counters see only this test's datagrams: the relay check below.
ts_netns_lo "$@"
set -e
tmp=$TS_TMP
daemon=

cleanup() {
	if [[ -n $daemon ]]; then
		kill "$daemon" 2>/dev/null || true
		wait "$daemon" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	[[ -f $tmp/daemon.log ]] && tail -n 20 "$tmp/daemon.log" >&2
	exit 1
}

# scripts/bench's table (scripts/bench-stats): medians over the measured
# runs only (rep 0 is the warm-up), the mean of the middle two for an
# even count, large numbers in full (not 1.23457e+06), ratio A / B.
results=$tmp/results
printf '%s\n' "relay turnstone 0 RESULT pps=9999999" \
	"relay turnstone 1 RESULT pps=1234567 p99_us=10" \
	"relay turnstone 2 RESULT pps=1000001 p99_us=20.5" \
	"relay turnstone 3 RESULT pps=2000000 p99_us=30" \
	"relay coturn 1 RESULT pps=500000" "alloc turnstone 1 RESULT pps=7" >"$results"
. "$(dirname "$0")/../../scripts/bench-stats"
[[ $(med relay turnstone pps) == 1234567 ]] ||
	fail "med: pps median is $(med relay turnstone pps), not 1234567"
[[ $(med relay turnstone p99_us) == 20.5 && $(med relay coturn pps) == 500000 &&
	$(med relay coturn p99_us) == - && $(med hold turnstone pps) == - ]] ||
	fail "med: $(med relay turnstone p99_us) $(med relay coturn pps)"
sed -i '/turnstone 3 /d' "$results"
[[ $(med relay turnstone pps) == 1117284 ]] ||
	fail "med of two: $(med relay turnstone pps), not 1117284"
[[ $(ratio 1117284 500000) == 2.23 && $(ratio 5 0) == - && $(ratio - 3) == - ]] ||
	fail "ratio: $(ratio 1117284 500000)"
echo "ok: scripts/bench-stats medians and ratios"

secret=smoke-$RANDOM$RANDOM
ts_make_cert bench || fail "cannot make a TLS certificate"

# Start the daemon on a random port; retry if the port is taken.
start_daemon() {
	local try lo
	for try in 1 2 3 4 5; do
		port=$((20000 + RANDOM % 20000))
		tport=$((20000 + RANDOM % 20000))
		lo=$((40000 + RANDOM % 20000))
		"$ts" serve --listening-ip 127.0.0.1 --listening-port "$port" \
			--tls-listening-port "$tport" --cert "$TS_CERT" --pkey "$TS_KEY" \
			--relay-ip 127.0.0.1 --min-port "$lo" --max-port $((lo + 999)) \
			--use-auth-secret --static-auth-secret "$secret" --realm bench \
			--allow-loopback-peers --user-quota 0 --total-quota 0 \
			--usage-log "$tmp/usage.log" >"$tmp/daemon.log" 2>&1 &
		daemon=$!
		sleep 0.5
		if kill -0 "$daemon" 2>/dev/null; then
			return 0
		fi
		wait "$daemon" 2>/dev/null || true
		daemon=
	done
	fail "the daemon did not start"
}

# run NAME KEY ARGS...: run one mode and check KEY in its RESULT is > 0.
run() {
	local name=$1 key=$2
	shift 2
	local out=$tmp/$name.out
	if ! timeout 90 "$ts" bench "$@" --duration 2 >"$out" 2>"$tmp/$name.err"; then
		cat "$tmp/$name.err" >&2
		fail "$name: bench exited with an error"
	fi
	local line
	line=$(grep '^RESULT ' "$out" | tail -n 1) || fail "$name: no RESULT line"
	local val
	val=$(sed -n "s/.* $key=\([0-9.]*\).*/\1/p" <<<"$line")
	if [[ -z $val ]] || ! awk -v v="$val" 'BEGIN { exit !(v > 0) }'; then
		fail "$name: $key is '${val}' in: $line"
	fi
	echo "ok: $line"
}

start_daemon
srv=(--server "127.0.0.1:$port" --server-pid "$daemon")
cred=(--secret "$secret")

run binding rps binding "${srv[@]}" --clients 4 --threads 1
run alloc allocs_per_s alloc "${srv[@]}" "${cred[@]}" --clients 4 --perm --chan
udp_in() { awk '/^Udp:/ && n++ { print $2 }' /proc/net/snmp; }
in0=$(udp_in)
run relay pps relay "${srv[@]}" "${cred[@]}" --allocs 4 --size 200 --window 2
in1=$(udp_in)
# pps counts delivered round trips twice, over the window only. Each
# round trip is 4 datagrams received (server, peer, server, client), so
# the kernel's InDatagrams over the whole run is 4 x the round trips in
# the window, plus the last window in flight (4 x 2 at the end), the
# setup (about 10 per allocation) and the 2 decimals of duration_s.
if [[ -n ${TS_IN_NETNS:-} ]]; then
	line=$(grep '^RESULT ' "$tmp/relay.out")
	awk -v k=$((in1 - in0)) -v pps="$(sed -n 's/.* pps=\([0-9]*\).*/\1/p' <<<"$line")" \
		-v d="$(sed -n 's/.* duration_s=\([0-9.]*\).*/\1/p' <<<"$line")" 'BEGIN {
		rt = pps * d / 2; kt = k / 4
		exit !(rt > 1000 && kt >= rt * 0.99 && kt <= rt * 1.01 + 8 + 40) }' ||
		fail "relay: pps does not match the kernel's $((in1 - in0)) datagrams: $line"
	echo "ok: relay pps matches the kernel's Udp InDatagrams ($((in1 - in0)))"
fi
run relay_rate pps relay "${srv[@]}" "${cred[@]}" --allocs 4 --rate 2000 \
	--hist-out "$tmp/relay_rate.hist"
# Every echo carries its flow id and timestamp; one merged, cut or
# reordered by the server's batched (GSO) sends would not count, so a
# few flows far below saturation on loopback must lose nothing.
# --transport tcp and tls (RFC 8656 12.5): one stream per allocation,
# ChannelData padded to four bytes (size 201 needs 3 bytes of padding);
# a stream loses nothing and breaks never, so loss and errors are 0.
run relay_tcp pps relay "${srv[@]}" "${cred[@]}" --transport tcp \
	--allocs 4 --size 201 --window 2
run relay_tls pps relay --server "127.0.0.1:$tport" --server-pid "$daemon" \
	"${cred[@]}" --transport tls --allocs 4 --window 2
run relay_tls_rate pps relay --server "127.0.0.1:$tport" "${cred[@]}" \
	--transport tls --allocs 4 --rate 2000 --size 203
for r in relay relay_rate relay_tcp relay_tls relay_tls_rate; do
	grep -q ' loss=0.00000 ' "$tmp/$r.out" ||
		fail "$r: datagrams lost: $(grep '^RESULT' "$tmp/$r.out")"
done
for r in relay_tcp relay_tls relay_tls_rate; do
	grep -q ' errors=0 .*stalls=0 ' "$tmp/$r.out" ||
		fail "$r: stream errors: $(grep '^RESULT' "$tmp/$r.out")"
done
grep -q ' transport=tls ' "$tmp/relay_tls.out" ||
	fail "relay_tls: no transport=tls in: $(grep '^RESULT' "$tmp/relay_tls.out")"
echo "ok: relay over udp, tcp and tls lost nothing"
run hold_tls setup_ok hold --server "127.0.0.1:$tport" "${cred[@]}" \
	--transport tls --allocs 50
grep -q ' setup_ok=50 setup_fail=0 ' "$tmp/hold_tls.out" ||
	fail "hold over tls: $(grep '^RESULT' "$tmp/hold_tls.out")"
run relay_audio pps relay "${srv[@]}" "${cred[@]}" --allocs 4 --profile audio
# --fresh-users: every cycle signs with a new REST username; the usage
# log (one line per ended allocation) must show more users than clients.
run alloc_fresh allocs_per_s alloc "${srv[@]}" "${cred[@]}" --clients 4 \
	--fresh-users
users=$(grep -o '"username":"[^"]*bench-[0-9]*-[0-9]*"' "$tmp/usage.log" |
	sort -u | wc -l)
((users > 8)) || fail "alloc --fresh-users: only $users distinct users"
echo "ok: --fresh-users: $users distinct REST usernames"
# alloc over tcp and tls: a new connection (and handshake) every cycle,
# so the usage log (one record per ended allocation, with its client
# transport) must gain more stream allocations than there are clients.
ended() { grep -c "\"transport\":\"$1\"" "$tmp/usage.log" || true; }
declare -A before
for t in tcp tls; do before[$t]=$(ended "$t"); done
run alloc_tcp allocs_per_s alloc "${srv[@]}" "${cred[@]}" --transport tcp \
	--clients 4 --perm --chan
run alloc_tls allocs_per_s alloc --server "127.0.0.1:$tport" \
	--server-pid "$daemon" "${cred[@]}" --transport tls --clients 4
sleep 0.3 # the last records reach the usage log
for t in tcp tls; do
	grep -q ' errors=0 ' "$tmp/alloc_$t.out" ||
		fail "alloc over $t: $(grep '^RESULT' "$tmp/alloc_$t.out")"
	n=$(($(ended "$t") - before[$t]))
	((n > 8)) || fail "alloc over $t: only $n allocations over $t ended"
	echo "ok: alloc over $t: $n allocations, each on its own connection"
done
run hold setup_ok hold "${srv[@]}" "${cred[@]}" --allocs 200
run forward pps forward --allocs 4 --window 2
# --forward-cpu (scripts/bench-pinned): the forwarder pinned to CPU 0,
# which every machine has, still forwards everything.
run forward_pinned pps forward --allocs 4 --rate 2000 --forward-cpu 0 \
	--hist-out "$tmp/forward_pinned.hist"
grep -q ' loss=0.00000 ' "$tmp/forward_pinned.out" ||
	fail "forward --forward-cpu 0: datagrams lost: $(grep '^RESULT' "$tmp/forward_pinned.out")"

# --hist-out and `bench pool` (the half-load row of make bench): one
# run's file pooled alone gives that run's percentiles; two files give
# a histogram holding both runs' round trips.
key() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p"; }
pool1=$("$ts" bench pool "$tmp/relay_rate.hist" | grep '^RESULT ') ||
	fail "bench pool: no RESULT line"
for k in p50_us p99_us p999_us; do
	a=$(grep '^RESULT ' "$tmp/relay_rate.out" | key "$k")
	b=$(key "$k" <<<"$pool1")
	[[ -n $a && $a == "$b" ]] || fail "bench pool: $k is '$b', the run said '$a'"
done
n1=$(head -n 1 "$tmp/relay_rate.hist" | cut -d' ' -f3)
n2=$(head -n 1 "$tmp/forward_pinned.hist" | cut -d' ' -f3)
pool2=$("$ts" bench pool "$tmp/relay_rate.hist" "$tmp/forward_pinned.hist" |
	grep '^RESULT ') || fail "bench pool of two: no RESULT line"
[[ $(key count <<<"$pool2") == $((n1 + n2)) && $n1 -gt 0 && $n2 -gt 0 ]] ||
	fail "bench pool of two: count $(key count <<<"$pool2"), files $n1 + $n2"
"$ts" bench pool "$tmp/relay_rate.out" >/dev/null 2>&1 &&
	fail "bench pool took a file that is not a histogram"
echo "ok: --hist-out and bench pool ($pool2)"

# --json: one object, no RESULT line.
timeout 60 "$ts" bench alloc "${srv[@]}" "${cred[@]}" --clients 2 \
	--duration 2 --json >"$tmp/json.out" 2>"$tmp/json.err" ||
	fail "json: bench exited with an error"
grep -q '^RESULT' "$tmp/json.out" && fail "json: a RESULT line in --json mode"
grep -q '"allocs_per_s":[1-9]' "$tmp/json.out" || fail "json: no allocs_per_s"
echo "ok: --json"

kill -0 "$daemon" 2>/dev/null || fail "the daemon died during the runs"
echo "PASS"
