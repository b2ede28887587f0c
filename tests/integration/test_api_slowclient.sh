#!/usr/bin/env bash
# Slow clients cannot hold the API: a connection that sends half a request
# head and then stalls is closed after the 10 s connection timeout, and
# while a few dozen of them stall, a normal request is still answered at
# once. Loopback only; every socket is closed by the end.
#
#   bash test_api_slowclient.sh /path/to/turnstone
TS_NAME=api_slowclient
. "$(dirname "$0")/lib.sh"
ts_api_init "${1:-}"
ts_start_api "$TS_BIN" --api-health-interval 0 || exit 1
api_port=$TS_API_PORT

TS_CHECK_TIMEOUT=60 ts_run_checks "slow clients" "$TS_PY" - "$api_port" <<'PY'
import socket, sys, time, urllib.request
port = int(sys.argv[1])
stalled = []
for _ in range(40):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"POST /v1/ice-servers HTTP/1.1\r\nHost: x\r\nAuthor")
    stalled.append(s)
t0 = time.time()
with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
    ok = r.status == 200
dt = time.time() - t0
print(("ok" if ok and dt < 1 else "FAIL") +
      f" a normal request is answered while 40 clients stall ({dt*1000:.0f} ms)")
closed = 0
deadline = time.time() + 20
for s in stalled:
    s.settimeout(max(0.1, deadline - time.time()))
    try:
        if s.recv(1) == b"":
            closed += 1
    except (socket.timeout, ConnectionResetError):
        pass
elapsed = time.time() - t0
print(("ok" if closed == len(stalled) and 8 < elapsed < 20 else "FAIL") +
      f" stalled connections closed by the server after {elapsed:.1f} s"
      f" ({closed}/{len(stalled)})")
for s in stalled:
    s.close()
sys.exit(0)
PY
ts_finish
