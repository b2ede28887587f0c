#!/usr/bin/env bash
# Client streams have Nagle off (TCP_NODELAY). With it on, the first
# answer after a TLS handshake waited ~40 ms for the client's delayed ACK
# of the server's session tickets (probe stuns: measured 43 ms, now
# 0.05 ms), and so could any small write (a ChannelData frame) behind an
# unacknowledged one. Timing would make a flaky test, so this looks at
# the server's own sockets: each accepted stream is duplicated into this
# process with pidfd_getfd(2) and TCP_NODELAY is read off it. Needs root
# (ptrace access to the server), as CI has.
#
#   bash test_tcp_nodelay.sh /path/to/turnstone        (what ctest runs)
TS_NAME=tcp_nodelay
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || exit 0
if [ "$(id -u)" != 0 ]; then
	ts_log "not root: pidfd_getfd needs ptrace access; skipping"
	exit 0
fi
ts_make_cert nodelay || exit 1
TLSP=$(ts_pick_port) || exit 1
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --tls-listening-port "$TLSP" \
	--cert "$TS_CERT" --pkey "$TS_KEY" || exit 1
export TS_DIR
ts_python_checks "TCP_NODELAY on the server's client streams" - "$TS_PID" "$TS_PORT" "$TLSP" <<'PY'
import ctypes, os, socket, ssl, struct, sys
sys.path.insert(0, os.environ["TS_DIR"])
import turnclient as tc
pid, port, tlsp = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])

def check(name, ok, detail=""):
    print(("ok " if ok else "FAIL ") + name + (" (%s)" % detail if detail else ""), flush=True)

libc = ctypes.CDLL(None, use_errno=True)
SYS_pidfd_getfd = 438  # x86_64 and aarch64 alike

def server_socket(client_port):
    """The server's fd whose remote port is client_port, duplicated here."""
    inode = None
    for line in open("/proc/%d/net/tcp" % pid).read().splitlines()[1:]:
        f = line.split()
        if int(f[2].split(":")[1], 16) == client_port:
            inode = f[9]
    for fd in os.listdir("/proc/%d/fd" % pid):
        try:
            if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == "socket:[%s]" % inode:
                pfd = os.pidfd_open(pid)
                dup = libc.syscall(SYS_pidfd_getfd, pfd, int(fd), 0)
                os.close(pfd)
                return dup
        except OSError:
            pass
    return -1

def nodelay(sock, name):
    sock.sendall(tc.build(tc.BINDING, tc.REQUEST))
    sock.recv(200)  # accepted and answered
    dup = server_socket(sock.getsockname()[1])
    if dup < 0:
        check(name, False, "server socket not found (errno %d)" % ctypes.get_errno())
        return
    s = socket.socket(fileno=dup)
    v = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    s.detach()
    os.close(dup)
    check(name, v != 0, "TCP_NODELAY=%d" % v)

p = socket.create_connection(("127.0.0.1", port), timeout=3)
nodelay(p, "a plain TCP client stream has Nagle off")
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", tlsp), timeout=3))
nodelay(t, "a TLS client stream has Nagle off")
p.close()
t.close()
PY
ts_finish
