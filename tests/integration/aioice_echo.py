#!/usr/bin/python3
"""aioice (Debian python3-aioice) as a TURN client against the server.

1. aioice.turn.create_turn_endpoint allocates over UDP and over TCP with
   REST credentials and echoes datagrams (1 to 1200 bytes) through the
   relay to a UDP echo peer on 127.0.0.1; every one must come back intact.
   aioice binds a channel per peer, so this exercises ChannelBind and
   ChannelData in both directions.
2. Two aioice.Connection agents with TransportPolicy.RELAY do full ICE
   through the server (connectivity checks between two relayed addresses,
   so CreatePermission/ChannelBind between allocations) and exchange data.

Host candidates are switched off (get_host_addresses is replaced by an
empty list) so nothing is bound or sent outside loopback.

Prints "ok NAME" / "FAIL NAME: detail" lines (lib.sh counts them) and
exits 1 on any failure. Every wait is bounded.

    aioice_echo.py HOST PORT SECRET RELAY_MIN RELAY_MAX [COUNT]
"""
import asyncio
import base64
import hashlib
import hmac
import os
import sys
import time

import aioice
import aioice.ice
from aioice import turn

failed = 0


def check(name, cond, detail=""):
    global failed
    if cond:
        print("ok %s%s" % (name, " (%s)" % detail if detail else ""), flush=True)
    else:
        failed += 1
        print("FAIL %s: %s" % (name, detail or "failed"), flush=True)


def rest_creds(secret, user_id, ttl=600):
    user = "%d:%s" % (int(time.time()) + ttl, user_id)
    mac = hmac.new(secret.encode(), user.encode(), hashlib.sha1).digest()
    return user, base64.b64encode(mac).decode()


class Echo(asyncio.DatagramProtocol):
    """The peer: sends every datagram back where it came from."""

    def connection_made(self, transport):
        self.transport = transport
        self.count = 0

    def datagram_received(self, data, addr):
        self.count += 1
        self.transport.sendto(data, addr)


class Collect(asyncio.DatagramProtocol):
    """The TURN client side: keeps what comes back through the relay."""

    def __init__(self):
        self.got = []
        self.event = asyncio.Event()
        self.want = 0

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.got.append((data, addr))
        if len(self.got) >= self.want:
            self.event.set()


async def echo_run(server, secret, transport, relay_range, count):
    loop = asyncio.get_running_loop()
    name = "aioice turn/%s" % transport
    peer_tr, peer = await loop.create_datagram_endpoint(
        Echo, local_addr=("127.0.0.1", 0))
    peer_addr = peer_tr.get_extra_info("sockname")
    user, pw = rest_creds(secret, "aioice-%s" % transport)
    try:
        tr, proto = await asyncio.wait_for(turn.create_turn_endpoint(
            Collect, server_addr=server, username=user, password=pw,
            transport=transport), 10)
    except Exception as e:  # noqa: BLE001
        check("%s: allocate" % name, False, "%s: %s" % (type(e).__name__, e))
        peer_tr.close()
        return
    relayed = tr.get_extra_info("sockname")
    check("%s: allocate" % name,
          relayed[0] == "127.0.0.1" and
          relay_range[0] <= relayed[1] <= relay_range[1],
          "relayed %s:%d" % relayed)

    payloads = [os.urandom(1 + (i * 37) % 1200) for i in range(count)]
    proto.want = count
    for p in payloads:
        tr.sendto(p, peer_addr)
        await asyncio.sleep(0.005)
    try:
        await asyncio.wait_for(proto.event.wait(), 10)
    except asyncio.TimeoutError:
        pass
    back = [d for d, _ in proto.got]
    froms = {a for _, a in proto.got}
    check("%s: %d datagrams echoed through the relay" % (name, count),
          sorted(back) == sorted(payloads),
          "%d of %d back, peer saw %d" % (len(back), count, peer.count))
    check("%s: replies attributed to the peer" % name,
          froms <= {tuple(peer_addr)}, "from %s" % froms)

    # The allocation is deleted with Refresh(0); bounded wait for it.
    tr.close()
    await asyncio.sleep(0.3)
    peer_tr.close()


async def ice_run(server, secret, transports):
    """Two relay-only ICE agents connect through the server."""
    name = "aioice ICE relay-only (%s/%s)" % transports
    agents = []
    for i, t in enumerate(transports):
        user, pw = rest_creds(secret, "aioice-ice-%d" % i)
        agents.append(aioice.Connection(
            ice_controlling=(i == 0), components=1, turn_server=server,
            turn_username=user, turn_password=pw, turn_transport=t,
            use_ipv6=False, transport_policy=aioice.ice.TransportPolicy.RELAY))
    a, b = agents
    try:
        await asyncio.wait_for(asyncio.gather(a.gather_candidates(),
                                              b.gather_candidates()), 10)
        kinds = [c.type for c in a.local_candidates + b.local_candidates]
        check("%s: only relay candidates" % name,
              kinds and set(kinds) == {"relay"}, "candidates %s" % kinds)
        for x, y in ((a, b), (b, a)):
            for c in y.local_candidates:
                await x.add_remote_candidate(c)
            await x.add_remote_candidate(None)
            x.remote_username = y.local_username
            x.remote_password = y.local_password
        await asyncio.wait_for(asyncio.gather(a.connect(), b.connect()), 20)
        check("%s: connected" % name, True)
        await a.sendto(b"ping-from-a", 1)
        data, comp = await asyncio.wait_for(b.recvfrom(), 5)
        await b.sendto(b"pong-from-b", 1)
        data2, _ = await asyncio.wait_for(a.recvfrom(), 5)
        check("%s: data both ways" % name,
              data == b"ping-from-a" and data2 == b"pong-from-b",
              "%r / %r" % (data, data2))
    except Exception as e:  # noqa: BLE001
        check("%s" % name, False, "%s: %s" % (type(e).__name__, e))
    finally:
        for x in agents:
            try:
                await asyncio.wait_for(x.close(), 5)
            except Exception:  # noqa: BLE001
                pass


async def main():
    host, port, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    relay_range = (int(sys.argv[4]), int(sys.argv[5]))
    count = int(sys.argv[6]) if len(sys.argv) > 6 else 50
    server = (host, port)
    # No host candidates: only loopback traffic, only to the server.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: []
    print("aioice %s" % aioice.__version__ if hasattr(aioice, "__version__")
          else "aioice", flush=True)
    for t in ("udp", "tcp"):
        await echo_run(server, secret, t, relay_range, count)
    await ice_run(server, secret, ("udp", "udp"))
    await ice_run(server, secret, ("udp", "tcp"))


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(), 120))
    sys.exit(1 if failed else 0)
