#!/usr/bin/env bash
# Issue 5 end to end on loopback: --max-permissions/--max-channels answer
# 508, the default --user-quota answers 486, an allocation's usage record
# (JSON line in --usage-log and GET /v1/admin/usage) has exact counts, and
# the Prometheus counters move by exactly what was relayed.
TS_NAME=limits
. "$(dirname "$0")/lib.sh"
ts_api_init "${1:-}"

PROM_PORT=$(ts_pick_port) || exit 1
USAGE_LOG="$TS_TMP/usage.jsonl"
ts_start_api "$TS_BIN" --max-permissions 2 --max-channels 1 \
	--usage-log "$USAGE_LOG" --prometheus --prometheus-port "$PROM_PORT" ||
	exit 1
ts_python_checks "caps, quota, usage records, metrics" \
	"$TS_DIR/limits_cases.py" checks "$TS_PORT" "$TS_SECRET" "$PROM_PORT" \
	"$USAGE_LOG" "$TS_API_PORT" "$TS_ADMIN_TOKEN"
ts_finish
