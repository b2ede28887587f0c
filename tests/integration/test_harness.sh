#!/usr/bin/env bash
# The test harness itself (lib.sh). Regression: ts_pick_port runs in a
# subshell, and two picks made before either port was bound once returned
# the same port. A daemon then refused to start because its API port
# equalled its TURN port (CI, test_api_durability). 1,000 picks out of
# 12,768 ports would collide with near certainty (birthday bound: all
# distinct with probability about e^-39) if picks did not remember each
# other. Picks stay below the ephemeral range, so no client socket takes
# a picked port before the daemon binds it. No daemon is started;
# nothing is sent.
TS_NAME=harness
. "$(dirname "$0")/lib.sh"

ports=()
for ((i = 0; i < 1000; i++)); do
	p=$(ts_pick_port) || break
	ports+=("$p")
done
ts_check "1,000 ports picked" [ "${#ports[@]}" = 1000 ]
dups=$(printf '%s\n' "${ports[@]}" | sort | uniq -d | wc -l)
ts_check "no port handed out twice" [ "$dups" = 0 ]
out=$(printf '%s\n' "${ports[@]}" | awk '$1 < 20000 || $1 >= 32768' | wc -l)
ts_check "every port in 20000-32767, below the ephemeral range" [ "$out" = 0 ]
ts_finish
