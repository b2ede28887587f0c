"""RFC 6062 checks against a running server (test_tcprelay.sh runs this):
TCP Allocate rules, Connect/ConnectionBind with a byte-exact transfer in
both directions under back-pressure, ConnectionAttempt for permitted peers
only, 446/447, and closing: either side, and the allocation.

    python3 tcprelay.py PORT SECRET SCENARIO     (SCENARIO: main, no-tcp-relay,
                                                  bandwidth, connect-timeout)
"""
import hashlib
import os
import socket
import sys
import time

import turnclient as tc
from checks import check, status

port, secret, scenario = int(sys.argv[1]), sys.argv[2], sys.argv[3]
SRV = ("127.0.0.1", port)


def control(uid):
    c = tc.Client(SRV, transport="tcp", timeout=5.0)
    c.set_rest_creds(secret, uid)
    r = c.allocate(proto=6)
    return c, r


def data_conn(c, connid):
    """A new client data connection bound to connid (RFC 6062 4.3)."""
    d = tc.Client(SRV, transport="tcp", timeout=5.0)
    d.username, d.password = c.username, c.password
    d.realm_override = None
    r = d.connection_bind(connid)
    return d, r


def listener():
    s = socket.socket()
    # Small windows, so that a slow reader makes the server hold back.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    s.settimeout(5.0)
    return s


def closed_within(sock, secs=3.0):
    """True if the peer side sees EOF (or a reset) within secs."""
    sock.settimeout(secs)
    try:
        while True:
            b = sock.recv(65536)
            if not b:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def pump(src, dst, total, chunk=65536):
    """Send total pseudo-random bytes on src while reading them on dst
    slowly at first (so the server has to hold back rather than drop);
    returns (sent digest, received digest, bytes received)."""
    data = os.urandom(total)
    src.setblocking(False)
    dst.settimeout(5.0)
    got = bytearray()
    off = 0
    stalled_until = time.monotonic() + 1.0  # the reader sleeps 1 s first
    deadline = time.monotonic() + 30
    while len(got) < total and time.monotonic() < deadline:
        if off < total:
            try:
                off += src.send(data[off:off + chunk])
            except BlockingIOError:
                time.sleep(0.005)
        if time.monotonic() >= stalled_until:
            dst.settimeout(0.05)
            try:
                b = dst.recv(262144)
                if not b:
                    break
                got += b
            except socket.timeout:
                pass
    src.setblocking(True)
    return hashlib.sha256(data).hexdigest(), hashlib.sha256(got).hexdigest(), len(got)


def active():
    c, r = control("tcp-active")
    check("TCP Allocate over TCP", r.cls == tc.SUCCESS, r.describe())
    lst = listener()
    lport = lst.getsockname()[1]
    relay = r.xaddr(tc.XOR_RELAYED_ADDRESS)
    r = c.connect("127.0.0.1", lport)
    check("Connect: success with CONNECTION-ID",
          r.cls == tc.SUCCESS and len(r.get(tc.CONNECTION_ID) or b"") == 4, r.describe())
    connid = r.get(tc.CONNECTION_ID)
    peer, addr = lst.accept()
    check("the peer connection comes from the relayed address",
          addr == relay, "%s vs %s" % (addr, relay))
    # Data from the peer before the bind waits in the server (5.2).
    peer.sendall(b"early-from-peer")
    r = c.connect("127.0.0.1", lport)
    check("Connect to the same peer again: 446", r.code() == 446, r.describe())
    d, r = data_conn(c, connid)
    check("ConnectionBind on a new connection", r.cls == tc.SUCCESS, r.describe())
    d.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    d.sock.settimeout(5.0)
    early = d.buf
    while len(early) < len(b"early-from-peer"):
        early += d.sock.recv(100)
    check("data sent before the bind is delivered after it",
          early == b"early-from-peer", repr(early))
    d2, r = data_conn(c, connid)
    check("binding the same id twice: 400", r.code() == 400, r.describe())
    d2.close()
    size = 3 * 1024 * 1024
    a, b, n = pump(d.sock, peer, size)
    check("client -> peer: %d bytes, byte-exact, under back-pressure" % size,
          a == b, "%d bytes arrived" % n)
    a, b, n = pump(peer, d.sock, size)
    check("peer -> client: %d bytes, byte-exact, under back-pressure" % size,
          a == b, "%d bytes arrived" % n)
    # The client closes its data connection: the peer connection closes.
    d.close()
    check("closing the data connection closes the peer connection",
          closed_within(peer))
    peer.close()
    # And the other way round.
    r = c.connect("127.0.0.1", lport)
    peer, _ = lst.accept()
    d, r2 = data_conn(c, r.get(tc.CONNECTION_ID) or b"\0\0\0\0")
    check("Connect and bind again after the close", r.cls == tc.SUCCESS and
          r2.cls == tc.SUCCESS, r.describe() + " / " + r2.describe())
    peer.sendall(b"last words")
    peer.close()
    got = d.buf
    d.sock.settimeout(3.0)
    try:
        while True:
            x = d.sock.recv(100)
            if not x:
                break
            got += x
    except (socket.timeout, ConnectionResetError):
        got += b"<no close>"
    check("the peer's last bytes arrive, then the data connection closes",
          got == b"last words", repr(got))
    d.close()
    # A closed port: 447.
    dead = listener()
    dport = dead.getsockname()[1]
    dead.close()
    r = c.connect("127.0.0.1", dport)
    check("Connect to a closed port: 447", r.code() == 447, r.describe())
    # Deleting the allocation closes its peer connections.
    r = c.connect("127.0.0.1", lport)
    peer, _ = lst.accept()
    d, _ = data_conn(c, r.get(tc.CONNECTION_ID) or b"\0\0\0\0")
    c.refresh(0)
    check("deleting the allocation closes the peer connection", closed_within(peer))
    check("... and the data connection", closed_within(d.sock))
    c.close()


def passive():
    c, r = control("tcp-passive")
    relay = r.xaddr(tc.XOR_RELAYED_ADDRESS)
    # No permission: the connection is closed and the client told nothing.
    p = socket.create_connection(relay, timeout=5.0)
    check("a peer without permission is closed", closed_within(p))
    p.close()
    try:
        raw = c.recv_raw(0.5)
        check("... and no ConnectionAttempt is sent", False, tc.Msg(raw).describe())
    except tc.Timeout:
        check("... and no ConnectionAttempt is sent", True)
    r = c.create_permission("127.0.0.1")
    check("CreatePermission 127.0.0.1", r.cls == tc.SUCCESS, r.describe())
    p = socket.create_connection(relay, timeout=5.0)
    m = tc.Msg(c.recv_raw(3.0))
    check("a permitted peer: ConnectionAttempt",
          m.method == tc.CONNECTION_ATTEMPT and m.cls == tc.INDICATION and
          m.xaddr(tc.XOR_PEER_ADDRESS) == p.getsockname(), m.describe())
    d, r = data_conn(c, m.get(tc.CONNECTION_ID))
    check("ConnectionBind for it", r.cls == tc.SUCCESS, r.describe())
    p.sendall(b"ping")
    d.sock.settimeout(3.0)
    got = d.buf + d.sock.recv(100)
    d.sock.sendall(b"pong")
    check("bytes both ways", got == b"ping" and p.recv(100) == b"pong", repr(got))
    # Many binds, so that both the local path and the hand-over to the
    # worker owning the id are exercised (the kernel spreads connections).
    ok = 0
    for i in range(12):
        q = socket.create_connection(relay, timeout=5.0)
        m = tc.Msg(c.recv_raw(3.0))
        dd, r = data_conn(c, m.get(tc.CONNECTION_ID))
        q.sendall(b"n%d" % i)
        dd.sock.settimeout(3.0)
        if r.cls == tc.SUCCESS and dd.buf + dd.sock.recv(100) == b"n%d" % i:
            ok += 1
        dd.close()
        q.close()
    check("12 more passive connections bound and relayed", ok == 12, "%d/12" % ok)
    c.close()


def udp_control():
    u = tc.Client(SRV, timeout=3.0)
    u.set_rest_creds(secret, "tcp-over-udp")
    r = u.allocate(proto=6)
    check("TCP Allocate over UDP: 400 (RFC 6062 5.1)", r.code() == 400, r.describe())
    u.close()


def no_tcp_relay():
    c, r = control("tcp-refused")
    check("--no-tcp-relay: TCP Allocate gets 442", r.code() == 442, r.describe())
    c.close()
    u = tc.Client(SRV, transport="tcp", timeout=3.0)
    u.set_rest_creds(secret, "udp-still")
    r = u.allocate(proto=17)
    check("--no-tcp-relay: UDP Allocate still works", r.cls == tc.SUCCESS, r.describe())


def bandwidth():
    """--max-bps 262144 (bytes/s; burst 128 KiB): 1 MiB each way takes at
    least (1 MiB - burst) / rate = 3.5 s, arrives whole, and the rate over
    the transfer stays within 10 % of the limit plus the burst."""
    rate, burst, total = 262144, 131072, 1 << 20
    c, r = control("bw-tcp")
    check("bandwidth: TCP allocation", r.cls == tc.SUCCESS, r.describe())
    lst = listener()
    r = c.connect("127.0.0.1", lst.getsockname()[1])
    check("bandwidth: Connect", r.cls == tc.SUCCESS, r.describe())
    peer, _ = lst.accept()
    d, r = data_conn(c, r.get(tc.CONNECTION_ID))
    check("bandwidth: ConnectionBind", r.cls == tc.SUCCESS, r.describe())
    for name, src, dst in (("client to peer", d.sock, peer), ("peer to client", peer, d.sock)):
        t0 = time.monotonic()
        want, got, n = pump(src, dst, total)
        el = time.monotonic() - t0
        check("bandwidth %s: 1 MiB arrives whole" % name, want == got, "%d bytes" % n)
        floor = (total - burst) / rate
        check("bandwidth %s: no faster than --max-bps" % name,
              el >= floor * 0.95 and n == total,
              "%.2f s, at least %.2f s expected" % (el, floor))
        check("bandwidth %s: and not much slower" % name, el <= floor * 1.6 + 1.5,
              "%.2f s" % el)
    for x in (d, c):
        x.close()
    peer.close()
    lst.close()


def connect_timeout():
    """A Connect whose peer never answers the SYN: 447 when the 30 s
    timer runs out (RFC 6062 5.2). The worker's clock tick writes that
    answer; it must leave then, not wait for the worker's next wake (up
    to 200 ms later, with nothing else to do). The peer's listener has a
    backlog of one, taken: Linux drops the SYNs that follow."""
    c, r = control("tcp-timeout")
    check("timeout: TCP allocation", r.cls == tc.SUCCESS, r.describe())
    full = socket.socket()
    full.bind(("127.0.0.1", 0))
    full.listen(0)
    taken = socket.create_connection(full.getsockname(), timeout=5.0)
    # An answer just before the Connect: the worker's clock is fresh when
    # it starts the 30 s timer.
    c.refresh(600)
    t0 = time.monotonic()
    r = c.connect("127.0.0.1", full.getsockname()[1], timeout=40.0)
    el = time.monotonic() - t0
    check("timeout: a Connect the peer never answers gets 447",
          r.code() == 447, r.describe())
    check("timeout: ... as the 30 s timer ends", 29.8 <= el < 30.15,
          "%.3f s" % el)
    for x in (taken, full, c):
        x.close()


if scenario == "main":
    udp_control()
    active()
    passive()
elif scenario == "bandwidth":
    bandwidth()
elif scenario == "connect-timeout":
    connect_timeout()
else:
    no_tcp_relay()
sys.exit(status())
