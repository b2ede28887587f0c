#!/usr/bin/env bash
# TLS 1.3 KeyUpdate (RFC 8446 4.6.3) flood on TURN over TLS. Each KeyUpdate
# with update_requested makes OpenSSL rekey and answer with a KeyUpdate of
# its own, so a client sending them without end would have the server do
# crypto and write a record per message. openssl s_client's interactive
# command K sends one with update_requested.
#  - a client sending 40, one every 25 ms, is closed after the limit (more
#    than 10 in 10 s), well before its input ends, and the closing is
#    logged once and counted once in turnstone_tls_keyupdate_closed_total;
#  - a client sending 3 stays connected and then gets a STUN Binding
#    answered over the same TLS connection;
#  - the HTTPS API (libmicrohttpd over GnuTLS, whose TLS we do not drive)
#    closes the same flood: GnuTLS refuses a second KeyUpdate within a
#    second. This checks that claim of docs/architecture.md.
#
#   bash test_tls_keyupdate.sh /path/to/turnstone        (what ctest runs)
TS_NAME=tls_keyupdate
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || exit 0
ts_make_cert keyupd || exit 1
TLSP=$(ts_pick_port) || exit 1
PROM=$(ts_pick_port) || exit 1
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" \
	--tls-listening-port "$TLSP" --cert "$TS_CERT" --pkey "$TS_KEY" \
	--prometheus --prometheus-port "$PROM" || exit 1

cat >"$TS_TMP/keyupd.py" <<'EOF'
import os, select, struct, subprocess, sys, time
what, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def sclient():
    return subprocess.Popen(
        ["openssl", "s_client", "-tls1_3", "-connect", "127.0.0.1:%d" % port],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

def send(p, data):
    try:
        p.stdin.write(data)
        p.stdin.flush()
        return True
    except (BrokenPipeError, OSError):
        return False

def read_for(p, secs):
    """What s_client printed within secs (it exits when the server closes)."""
    out, end = b"", time.monotonic() + secs
    fd = p.stdout.fileno()
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
        if not r:
            continue
        b = os.read(fd, 65536)
        if not b:
            break
        out += b
    return out

def stop(p):
    if p.poll() is None:
        p.kill()
    p.wait(5)

def handshake(p):
    out = read_for(p, 0.0)
    end = time.monotonic() + 5
    while b"Verify return code" not in out and time.monotonic() < end:
        out += read_for(p, 0.2)
    # The session tickets follow the handshake; s_client reads stdin
    # only after printing them.
    return out + read_for(p, 0.3)

# A flood: 40 KeyUpdates asking for ours, 25 ms apart (s_client takes one
# command per read of its input, hence the pacing).
p = sclient()
handshake(p)
t0 = time.monotonic()
sent = 0
for _ in range(40):
    if p.poll() is not None or not send(p, b"K\n"):
        break
    sent += 1
    time.sleep(0.025)
read_for(p, 1.5)
closed = p.poll() is not None
stop(p)
print(("ok" if closed and sent < 40 else "FAIL") +
      " %s: a KeyUpdate flood is closed (%d sent before the close, %.1f s)"
      % (what, sent, time.monotonic() - t0))
if what == "api":
    sys.exit(0)
time.sleep(0.2)
n = open(log, errors="replace").read().count("KeyUpdate")
print(("ok" if n == 1 else "FAIL") + " the closing is logged once (%d lines)" % n)

# A few: the connection stays and still carries STUN.
p = sclient()
handshake(p)
for _ in range(3):
    send(p, b"K\n")
    time.sleep(0.05)
read_for(p, 0.3)
alive = p.poll() is None
tid = os.urandom(12)
send(p, struct.pack("!HHI", 0x0001, 0, 0x2112A442) + tid)
got = b""
key = struct.pack("!I", 0x2112A442) + tid
end = time.monotonic() + 3
while time.monotonic() < end and key not in got:
    got += read_for(p, 0.2)
k = got.find(key)
ok = alive and k >= 4 and got[k - 4:k - 2] == b"\x01\x01" # Binding success
stop(p)
print(("ok" if ok else "FAIL") +
      " 3 KeyUpdates: still connected, a Binding over the same TLS is answered")
EOF
ts_python_checks "keyupdate" "$TS_TMP/keyupd.py" turn "$TLSP" "$TS_LOG"
# One flood closed, one client within the limit: the counter says 1.
closed=$(curl -s --max-time 5 "http://127.0.0.1:$PROM/metrics" |
	awk '$1 == "turnstone_tls_keyupdate_closed_total" { print $2 }')
ts_check "the close counts once in turnstone_tls_keyupdate_closed_total" \
	test "$closed" = 1

ts_api_init "$TS_BIN"
ts_start_api_tls "$TS_BIN" "$TS_CERT" "$TS_KEY" || exit 1
ts_python_checks "keyupdate api" "$TS_TMP/keyupd.py" api "$TS_API_PORT" "$TS_LOG"
ts_finish
