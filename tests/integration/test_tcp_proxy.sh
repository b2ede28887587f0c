#!/usr/bin/env bash
# tcp-proxy-port (coturn's): behind a TCP load balancer that sends the
# PROXY protocol header, the server sees the client the header names:
#  - a Binding after a version 2 or version 1 header answers with that
#    client's address in XOR-MAPPED-ADDRESS; a TURN allocation works on
#    such a stream, and TLS after the header too;
#  - max-unauth-tcp-per-ip counts the clients the headers name, not the
#    balancer (whose own address would hit the cap at once);
#  - a stream without a header is closed; the port has no UDP listener;
#    the usual port needs no header;
#  - a stream whose header is not whole 10 s after accept is closed, one
#    that trickles it included (test_tcp_proxy_wait.sh bounds how many
#    may wait).
# The streams come from 127.0.0.1, a balancer tcp-proxy-trusted trusts by
# default (test_tcp_proxy_trust.sh covers that option).
#
#   bash test_tcp_proxy.sh /path/to/turnstone        (what ctest runs)
TS_NAME=tcp_proxy
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || exit 0
ts_make_cert proxy || exit 1
PP=$(ts_pick_port) && TLSP=$(ts_pick_port) || exit 1
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --tcp-proxy-port "$PP" \
	--max-unauth-tcp-per-ip 2 --tls-listening-port "$TLSP" \
	--cert "$TS_CERT" --pkey "$TS_KEY" || exit 1
# The banner says what each port serves: the PROXY port is TCP only.
if grep -q "listening on 127.0.0.1:$PP (tcp, PROXY header first)$" "$TS_LOG" &&
	grep -q "listening on 127.0.0.1:$TS_PORT (udp,tcp,tls,dtls)$" "$TS_LOG"; then
	ts_pass "the log names the PROXY port as TCP only"
else
	ts_fail "the listening lines" "$(grep listening "$TS_LOG")"
fi
export TS_DIR
ts_python_checks "PROXY-headed streams" - "$PP" "$TS_PORT" "$TS_SECRET" <<'EOF'
import os, socket, ssl, struct, sys, time
sys.path.insert(0, os.environ["TS_DIR"])
import turnclient as tc
pp, port, secret = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

def check(name, ok, detail=""):
    print(("ok " if ok else "FAIL ") + name + (" (%s)" % detail if detail else ""), flush=True)

def v2(ip, p):
    return tc.proxy_v2((ip, p), ("127.0.0.1", pp))
def v1(ip, p):
    return ("PROXY TCP4 %s 127.0.0.1 %d %d\r\n" % (ip, p, pp)).encode()

def frame(s):
    head = b""
    while len(head) < 4:
        b = s.recv(4 - len(head))
        if not b:
            return None
        head += b
    n = struct.unpack("!H", head[2:4])[0]
    body = b""
    while len(body) < n + 16:
        b = s.recv(n + 16 - len(body))
        if not b:
            return None
        body += b
    return tc.Msg(head + body)

def binding(s):
    s.sendall(tc.build(tc.BINDING, tc.REQUEST))
    m = frame(s)
    return m.xaddr(tc.XOR_MAPPED_ADDRESS) if m and m.cls == tc.SUCCESS else None

def connect(hdr):
    s = socket.create_connection(("127.0.0.1", pp), timeout=3)
    s.sendall(hdr)
    return s

s = connect(v2("198.51.100.7", 50000))
check("v2 header: XOR-MAPPED-ADDRESS is the client it names",
      binding(s) == ("198.51.100.7", 50000))
s.close()
s = connect(v1("198.51.100.8", 40000))
check("v1 header: the same", binding(s) == ("198.51.100.8", 40000))
s.close()

# TURN on a proxied stream (turnclient over TCP, its socket replaced).
c = tc.Client(("127.0.0.1", pp), transport="tcp", timeout=3.0)
c.sock.close()
c.sock = connect(v2("198.51.100.9", 41000))
c.set_rest_creds(secret, "proxied")
r = c.allocate()
check("an allocation on a proxied stream", r.cls == tc.SUCCESS, str(r.error_code()))
c.close()

# TLS after the header (a balancer that passes TLS through).
raw = connect(v2("198.51.100.10", 42000))
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
t = ctx.wrap_socket(raw)
check("TLS after the header: the client it names", binding(t) == ("198.51.100.10", 42000))
t.close()

# max-unauth-tcp-per-ip 2: by the clients the headers name.
alive = tc.stream_open
same = []
for i in range(3):
    s = connect(v2("203.0.113.5", 30000 + i))
    same.append(s)
time.sleep(0.5)
states = [alive(s) for s in same]
# Two workers read the headers in either order: whichever comes third.
check("a third stream from one named client is closed",
      sorted(states) == [False, True, True], str(states))
others = [connect(v2("203.0.113.%d" % (10 + i), 30000)) for i in range(4)]
time.sleep(0.5)
check("streams of other named clients are not (the balancer is not the count)",
      all(alive(s) for s in others))
for s in same + others:
    s.close()

s = socket.create_connection(("127.0.0.1", pp), timeout=3)
s.sendall(tc.build(tc.BINDING, tc.REQUEST))
s.settimeout(3)
try:  # closed at once: EOF or a reset; silence until the timeout is not
    closed = s.recv(100) == b""
except ConnectionResetError:
    closed = True
except socket.timeout:
    closed = False
check("a stream without a header is closed unanswered", closed)
s.close()

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(1)
u.sendto(tc.build(tc.BINDING, tc.REQUEST), ("127.0.0.1", pp))
try:
    u.recv(100)
    udp = True
except (socket.timeout, ConnectionRefusedError):
    udp = False
check("no UDP listener on the proxy port", not udp)
s = socket.create_connection(("127.0.0.1", port), timeout=3)
check("the usual port needs no header", binding(s) is not None)
s.close()
EOF

# A header that comes in pieces (a slow or split first segment): the
# worker waits for the rest without spinning on the readable socket.
ts_python_checks "a PROXY header in pieces" - "$PP" "$TS_PID" <<'EOF'
import os, socket, sys, time
sys.path.insert(0, os.environ["TS_DIR"])
import turnclient as tc
pp, pid = int(sys.argv[1]), int(sys.argv[2])

def check(name, ok, detail=""):
    print(("ok " if ok else "FAIL ") + name + (" (%s)" % detail if detail else ""), flush=True)

def cpu_s():  # the server's user + system time
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

def binding(s):
    s.sendall(tc.build(tc.BINDING, tc.REQUEST))
    s.settimeout(3)
    data = s.recv(2048)
    m = tc.Msg(data) if data else None
    return m.xaddr(tc.XOR_MAPPED_ADDRESS) if m and m.cls == tc.SUCCESS else None

v2 = tc.proxy_v2(("198.51.100.21", 43000), ("127.0.0.1", pp))
v1 = b"PROXY TCP4 198.51.100.22 127.0.0.1 43001 %d\r\n" % pp
for name, hdr, cut, want in (("v1", v1, 17, ("198.51.100.22", 43001)),
                             ("v2", v2, 9, ("198.51.100.21", 43000))):
    s = socket.create_connection(("127.0.0.1", pp), timeout=3)
    s.sendall(hdr[:cut])
    time.sleep(0.2)
    t0 = cpu_s()
    time.sleep(1.0)
    used = cpu_s() - t0
    check("%s: waiting 1 s for the rest of a header costs no CPU" % name,
          used < 0.3, "%.2f s of CPU" % used)
    s.sendall(hdr[cut:])
    check("%s: the rest arrives: the client it names" % name, binding(s) == want)
    s.close()
EOF

# The header deadline: a stream that sends nothing, and one that trickles
# its header a byte at a time, are closed 10 s (NET_TCP_FRAME_MS) after
# accept; trickling does not extend it.
ts_python_checks "the PROXY header deadline" - "$PP" <<'EOF'
import select, socket, sys, time
pp = int(sys.argv[1])

def check(name, ok, detail=""):
    print(("ok " if ok else "FAIL ") + name + (" (%s)" % detail if detail else ""), flush=True)

hdr = b"PROXY TCP4 198.51.100.30 127.0.0.1 43002 %d\r\n" % pp
t0 = time.monotonic()
silent = socket.create_connection(("127.0.0.1", pp), timeout=3)
trickle = socket.create_connection(("127.0.0.1", pp), timeout=3)
closed, sent = {}, 0
while len(closed) < 2 and time.monotonic() - t0 < 14:
    if trickle not in closed and sent < len(hdr) - 1:
        try:
            trickle.sendall(hdr[sent:sent + 1])
            sent += 1
        except OSError:
            closed[trickle] = time.monotonic() - t0
    r, _, _ = select.select([s for s in (silent, trickle) if s not in closed], [], [], 0.25)
    for s in r:
        try:
            gone = s.recv(1) == b""
        except OSError:
            gone = True
        if gone:
            closed[s] = time.monotonic() - t0
for name, s in (("sends nothing", silent), ("trickles a byte every 0.25 s", trickle)):
    t = closed.get(s)
    check("a stream that %s is closed 10 s after accept" % name,
          t is not None and 9.5 <= t <= 12, "after %s s" % (t and round(t, 1)))
    s.close()
EOF
ts_finish
