"""A fake RFC 5780 server that plays a NAT, for `turnstone probe --nat`.

    python3 nat_fake.py MAPPING FILTERING P1 P2 READY_FILE

Listens on 127.0.0.1 and 127.0.0.2, ports P1 and P2 (UDP), and answers
Binding requests as a server behind which the client's NAT behaves as
told (nothing on loopback translates, so the NAT is played here):

  MAPPING   eim | adm | apdm: the XOR-MAPPED-ADDRESS it reports is the
            same for every destination (endpoint-independent), differs
            by destination address (address-dependent), or by address and
            port (address and port-dependent). Never the client's own.
  FILTERING eif | adf | apdf: which CHANGE-REQUEST answers the "NAT"
            lets through: all, those from the same address (change port
            only), or none that change anything. err: the server answers
            every CHANGE-REQUEST with 420 from where it came (a server
            that cannot change), which says nothing of the NAT.
            Servers that answer CHANGE-REQUEST from the wrong address,
            each of which must get no verdict: same: ignores it and
            answers from where the request went (RESPONSE-ORIGIN says
            so), as a NAT would let in; lie: the same, but its
            RESPONSE-ORIGIN names the address asked for; origin: answers
            from the address asked for, but its RESPONSE-ORIGIN names
            where the request went.

Exits after 60 s (bounded, as every test helper).
"""
import os
import select
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import turnclient as tc  # noqa: E402

mapping, filtering, p1, p2, ready = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
A = ("127.0.0.1", "127.0.0.2")
P = (p1, p2)
socks = {}
for a in A:
    for p in P:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((a, p))
        socks[(a, p)] = s
open(ready, "w").write("ready\n")


def mapped_port(client_port, dst):
    bump = {"eim": 0, "adm": A.index(dst[0]) * 100,
            "apdm": A.index(dst[0]) * 100 + P.index(dst[1]) * 10}[mapping]
    return 20000 + (client_port % 1000) + bump


end = time.monotonic() + 60
while time.monotonic() < end:
    r, _, _ = select.select(list(socks.values()), [], [], 1.0)
    for s in r:
        data, client = s.recvfrom(2048)
        dst = s.getsockname()
        try:
            m = tc.Msg(data)
        except Exception:  # noqa: BLE001
            continue
        change = m.get(0x0003)
        flags = struct.unpack("!I", change)[0] if change else 0
        src_a = A[1 - A.index(dst[0])] if flags & 4 else dst[0]
        src_p = P[1 - P.index(dst[1])] if flags & 2 else dst[1]
        if flags and filtering == "err":
            s.sendto(tc.build(tc.BINDING, tc.ERROR, [(tc.ERROR_CODE, struct.pack(
                "!HBB", 0, 4, 20) + b"Unknown Attribute")], tid=m.tid), client)
            continue
        if flags and filtering == "apdf":
            continue
        if flags & 4 and filtering == "adf":
            continue
        origin = (src_a, src_p)
        if filtering in ("same", "lie"):
            src_a, src_p = dst
        if filtering == "same" or (flags and filtering == "origin"):
            origin = dst
        other = (A[1 - A.index(dst[0])], P[1 - P.index(dst[1])])
        attrs = [(tc.XOR_MAPPED_ADDRESS,
                  tc.xor_addr("198.51.100.1", mapped_port(client[1], dst), m.tid)),
                 (0x802C, struct.pack("!BBH", 0, 1, other[1]) + socket.inet_aton(other[0])),
                 (0x802B, struct.pack("!BBH", 0, 1, origin[1]) + socket.inet_aton(origin[0]))]
        socks[(src_a, src_p)].sendto(tc.build(tc.BINDING, tc.SUCCESS, attrs, tid=m.tid),
                                     client)
