#!/usr/bin/env bash
# tcp-proxy-port: streams still waiting for their PROXY header are
# bounded per worker (src/net/proxywait.c) to a quarter of the descriptor
# limit; here `ulimit -Sn 400` and one worker make it 100. A trusted
# balancer (127.0.0.1) that floods the port with streams that never send
# their header:
#  - holds at most 100 of them: each new one closes its own oldest;
#  - does not close the waiting streams of another balancer (127.0.0.2,
#    older than all of its own), which then finish their headers;
#  - does not stop a prompt stream from being answered meanwhile;
#  - is logged rarely.
# Streams whose header has arrived no longer count as waiting: 120 of them
# (more than the cap) stay open beside new waiting ones.
#
#   bash test_tcp_proxy_wait.sh /path/to/turnstone
TS_NAME=tcp_proxy_wait
. "$(dirname "$0")/lib.sh"
ts_need_bin "${1:-}"
[ "$TS_SERVER" = turnstone ] || exit 0
ulimit -Sn 400 || exit 1
PP=$(ts_pick_port) || exit 1
ts_start_server "$TS_BIN" "${TS_AUTH[@]}" --tcp-proxy-port "$PP" \
	--relay-threads 1 || exit 1
export TS_DIR
ts_python_checks "a flood of streams without a PROXY header" - "$PP" "$TS_LOG" <<'EOF'
import os, socket, sys, time
sys.path.insert(0, os.environ["TS_DIR"])
import turnclient as tc
pp, log = int(sys.argv[1]), sys.argv[2]
CAP = 100  # 400 descriptors / 4 / 1 worker

def check(name, ok, detail=""):
    print(("ok " if ok else "FAIL ") + name + (" (%s)" % detail if detail else ""), flush=True)

def connect(src, data=b""):
    s = socket.socket()
    s.settimeout(3)
    s.bind((src, 0))
    s.connect(("127.0.0.1", pp))
    if data:
        s.sendall(data)
    return s

alive = tc.stream_open

def binding(s):
    try:
        s.sendall(tc.build(tc.BINDING, tc.REQUEST))
        data = s.recv(2048)
    except OSError:
        return None
    m = tc.Msg(data) if data else None
    return m.xaddr(tc.XOR_MAPPED_ADDRESS) if m and m.cls == tc.SUCCESS else None

def hdr(client):
    return tc.proxy_v2(client, ("127.0.0.1", pp))

# Another balancer's streams, waiting for the rest of their header.
b_clients = [("198.51.100.%d" % (40 + i), 7000) for i in range(5)]
b = [connect("127.0.0.2", hdr(c)[:9]) for c in b_clients]
time.sleep(0.3)
flood = []
for i in range(150):
    flood.append(connect("127.0.0.1"))
    if i % 25 == 24:
        time.sleep(0.05)  # let the worker accept as it goes
time.sleep(0.5)
states = [alive(s) for s in flood]
n = sum(states)
check("the flooding balancer keeps at most the cap less the other's 5",
      n <= CAP - 5, "%d of 150 open" % n)
first_open = states.index(True) if True in states else len(states)
check("the streams closed are its oldest",
      all(states[first_open:]) and not any(states[:first_open]),
      "open from #%d" % first_open)
check("the other balancer's older waiting streams stay open",
      all(alive(s) for s in b))
p = connect("127.0.0.1", hdr(("198.51.100.60", 7100)))
got = binding(p)
check("a prompt stream during the flood is answered",
      got == ("198.51.100.60", 7100), str(got))
p.close()
for s, c in zip(b, b_clients):
    s.sendall(hdr(c)[9:])
got = [binding(s) for s in b]
check("the other balancer's streams finish their headers", got == b_clients, str(got))
for s in flood + b:
    s.close()
time.sleep(0.3)
lines = [l for l in open(log, errors="replace") if "wait for a PROXY header" in l]
check("the replacement is logged once in 10 s", len(lines) == 1, repr(lines))

# Headed streams are the clients' own (max-unauth-tcp-per-ip), not waiting.
done = []
for i in range(120):
    c = ("198.51.100.%d" % (100 + i % 100), 8000 + i)
    s = connect("127.0.0.1", hdr(c))
    if binding(s) != c:
        break
    done.append(s)
check("120 streams past their header are answered", len(done) == 120, str(len(done)))
waiting = [connect("127.0.0.1") for i in range(20)]
time.sleep(0.5)
check("they are not counted as waiting: new waiting streams close none",
      all(alive(s) for s in done + waiting))
EOF
ts_finish
