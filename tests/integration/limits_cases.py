#!/usr/bin/python3
"""Issue 5 end to end: permission/channel caps (508), the default user
quota (486), usage records (JSON line and GET /v1/admin/usage, exact
counts), Prometheus counters moving by exact amounts, and --max-bps.

    limits_cases.py checks PORT SECRET PROM_PORT USAGE_LOG API_PORT TOKEN
    limits_cases.py bandwidth PORT SECRET SECONDS OFFER_BPS LIMIT_BPS

Prints "ok ..." / "FAIL ..." lines (tests/integration/lib.sh reads them).
Traffic goes to loopback only and is bounded in count and time."""
import http.client
import json
import re
import socket
import sys
import threading
import time

from checks import check, fail, status
from turnclient import (ALLOCATE, REQUEST, XOR_RELAYED_ADDRESS, Client,
                        Timeout, build, transport_attr)

HOST = "127.0.0.1"


def http_get(port, path, headers=None):
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8", "replace")
    finally:
        conn.close()


def scrape(port):
    """{'name{labels}': value} from the exporter."""
    status, text = http_get(port, "/metrics")
    if status != 200:
        raise RuntimeError("scrape: HTTP %d" % status)
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out, text


def delta(before, after, key):
    return after.get(key, 0) - before.get(key, 0)


def rest_client(port, secret, user_id, ttl=600):
    c = Client((HOST, port))
    c.set_rest_creds(secret, user_id, ttl)
    return c


def allocate(c):
    r = c.allocate()
    if r.code() != 0:
        raise RuntimeError("allocate: %s" % (r.error_code(),))
    return r.xaddr(XOR_RELAYED_ADDRESS)


def check_caps(port, secret):
    a = rest_client(port, secret, "caps:a")
    allocate(a)
    check("2 permissions within --max-permissions 2",
          a.create_permission("127.0.0.2").code() == 0 and
          a.create_permission("127.0.0.3").code() == 0)
    r = a.create_permission("127.0.0.4")
    check("a 3rd permission gets 508", r.code() == 508, "got %s" % r.code())
    check("refreshing an existing permission at the cap works",
          a.create_permission("127.0.0.2").code() == 0)
    b = rest_client(port, secret, "caps:b")
    allocate(b)
    check("1 channel within --max-channels 1",
          b.channel_bind(0x4000, "127.0.0.2", 5000).code() == 0)
    r = b.channel_bind(0x4001, "127.0.0.3", 5000)
    check("a 2nd channel gets 508", r.code() == 508, "got %s" % r.code())
    for c in (a, b):
        c.refresh(0)
        c.close()


def check_user_quota(port, secret, prom):
    """The default --user-quota (10) is on: the 11th allocation of one
    user-id gets 486, counted as quota="user"."""
    before, _ = scrape(prom)
    clients = []
    for i in range(10):
        c = rest_client(port, secret, "quota:bob", ttl=600 + i)
        clients.append(c)
        allocate(c)
    extra = rest_client(port, secret, "quota:bob", ttl=700)
    r = extra.allocate()
    check("11th allocation of one user-id gets 486 (default --user-quota 10)",
          r.code() == 486, "got %s" % r.code())
    after, _ = scrape(prom)
    key = 'turnstone_allocation_quota_rejections_total{quota="user"}'
    check("quota rejection counted once", delta(before, after, key) == 1,
          "delta %s" % delta(before, after, key))
    for c in clients:
        c.refresh(0)
        c.close()
    extra.close()


def check_bad_password(port, secret, prom):
    before, _ = scrape(prom)
    c = rest_client(port, secret, "acme:mallory")
    c.password = "wrong"
    r = c.transact(build(ALLOCATE, REQUEST, [transport_attr()]))
    c._learn(r)
    r = c.transact(c.signed(ALLOCATE, [transport_attr()]))
    check("a wrong password gets 401", r.code() == 401, "got %s" % r.code())
    after, _ = scrape(prom)
    key = 'turnstone_auth_failures_total{reason="bad_integrity"}'
    check("auth failure counted as bad_integrity",
          delta(before, after, key) == 1, "delta %s" % delta(before, after, key))
    c.close()


def relay_some(c, peer, relayed):
    """3 datagrams client->peer (600 bytes), 2 peer->client (120)."""
    for n in (100, 200, 300):
        c.channel_data(0x4000, b"c" * n)
    got = []
    peer.settimeout(3)
    for _ in range(3):
        got.append(len(peer.recvfrom(4096)[0]))
    check("peer received 100+200+300 bytes", sorted(got) == [100, 200, 300],
          str(got))
    for n in (50, 70):
        peer.sendto(b"p" * n, relayed)
    back = [len(c.recv_data(3)[2]) for _ in range(2)]
    check("client received 50+70 bytes", sorted(back) == [50, 70], str(back))


def wait_line(path, username, secs=5):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        with open(path, encoding="utf-8") as f:
            for line in f:
                rec = json.loads(line)
                if rec.get("username") == username:
                    return rec
        time.sleep(0.1)
    return None


def check_record(name, rec, username):
    want = {"account": "acme", "user_id": "acme:alice", "username": username,
            "transport": "udp", "family": "ipv4", "c2p_bytes": 600,
            "c2p_packets": 3, "p2c_bytes": 120, "p2c_packets": 2,
            "reason": "refresh", "realm": "test"}
    bad = {k: (rec or {}).get(k) for k, v in want.items()
           if (rec or {}).get(k) != v}
    check(name, rec is not None and not bad, "differs: %s" % bad)
    if rec:
        check(name + ": start <= end <= now",
              rec["start"] <= rec["end"] <= time.time() + 1, str(rec))


def check_usage(port, secret, prom, usage_log, api_port, token):
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind((HOST, 0))
    c = rest_client(port, secret, "acme:alice")
    before, _ = scrape(prom)
    relayed = allocate(c)
    mid, _ = scrape(prom)
    gauge = 'turnstone_allocations{transport="udp",family="ipv4"}'
    check("allocations gauge +1", delta(before, mid, gauge) == 1,
          "delta %s" % delta(before, mid, gauge))
    check("channel bind", c.channel_bind(0x4000, HOST, peer.getsockname()[1]).code() == 0)
    relay_some(c, peer, relayed)
    r = c.refresh(0)
    check("Refresh 0 deletes the allocation", r.code() == 0)
    after, text = scrape(prom)
    for key, want in (
            ('turnstone_relayed_packets_total{direction="client_to_peer"}', 3),
            ('turnstone_relayed_bytes_total{direction="client_to_peer"}', 600),
            ('turnstone_relayed_packets_total{direction="peer_to_client"}', 2),
            ('turnstone_relayed_bytes_total{direction="peer_to_client"}', 120),
            (gauge, 0)):
        check("metric %s moved by %d" % (key, want),
              delta(before, after, key) == want,
              "delta %s" % delta(before, after, key))
    check("every metric has HELP and TYPE and the turnstone_ prefix",
          all(re.match(r"^(# (HELP|TYPE) turnstone_|turnstone_)", ln)
              for ln in text.splitlines() if ln))
    check("no username in any label", "alice" not in text and "acme" not in text)
    rec = wait_line(usage_log, c.username)
    check_record("usage JSON line with exact counts", rec, c.username)
    got = None
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and got is None:
        status, body = http_get(api_port, "/v1/admin/usage?account=acme&since=0",
                                {"Authorization": "Bearer " + token})
        if status == 200:
            got = next((u for u in json.loads(body)["usage"]
                        if u["username"] == c.username), None)
        if got is None:
            time.sleep(0.2)
    check_record("GET /v1/admin/usage returns the record", got, c.username)
    status, _ = http_get(api_port, "/v1/admin/usage?account=acme",
                         {"Authorization": "Bearer wrong"})
    check("usage endpoint needs the admin token", status == 401, str(status))
    # docs/api.md: a 400 for a query parameter names it.
    for query, name in (("since=0", "account"), ("account=acme&limit=0", "limit"),
                        ("account=acme&limit=10001", "limit"),
                        ("account=acme&since=x", "since")):
        status, body = http_get(api_port, "/v1/admin/usage?" + query,
                                {"Authorization": "Bearer " + token})
        check("usage endpoint: 400 naming %s (%s)" % (name, query),
              status == 400 and ("query parameter " + name) in body,
              "%d %s" % (status, body))
    c.close()
    peer.close()


def bandwidth(port, secret, secs, offer_bps, limit_bps):
    """Offer offer_bps (bits/s) of 1000-byte ChannelData for secs seconds
    through an allocation limited to limit_bps; count what the peer gets."""
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind((HOST, 0))
    peer.settimeout(0.5)
    c = rest_client(port, secret, "bw:carol")
    allocate(c)
    check("channel bind", c.channel_bind(0x4000, HOST, peer.getsockname()[1]).code() == 0)
    received = [0]
    stop = threading.Event()

    def count():
        while not stop.is_set():
            try:
                received[0] += len(peer.recvfrom(4096)[0])
            except socket.timeout:
                pass

    t = threading.Thread(target=count)
    t.start()
    size = 1000
    pps = offer_bps / 8 / size
    payload = b"b" * size
    t0 = time.monotonic()
    sent = 0
    while True:
        now = time.monotonic()
        if now - t0 >= secs:
            break
        due = int((now - t0) * pps) + 1
        while sent < due:
            c.channel_data(0x4000, payload)
            sent += 1
        time.sleep(0.002)
    time.sleep(0.6)
    stop.set()
    t.join()
    got_bps = received[0] * 8 / secs
    offered = sent * size * 8 / secs
    print("   offered %.3f Mbit/s, peer received %.3f Mbit/s (limit %.3f)" %
          (offered / 1e6, got_bps / 1e6, limit_bps / 1e6), flush=True)
    check("offered at least 1.8x the limit", offered >= 1.8 * limit_bps)
    check("peer receives at most 1.1x the limit on average",
          got_bps <= 1.1 * limit_bps, "%.0f bit/s" % got_bps)
    check("peer receives at least 0.9x the limit (the relay works)",
          got_bps >= 0.9 * limit_bps, "%.0f bit/s" % got_bps)
    c.refresh(0)
    c.close()
    peer.close()


def main(argv):
    try:
        if argv[0] == "checks":
            port, secret, prom = int(argv[1]), argv[2], int(argv[3])
            check_caps(port, secret)
            check_user_quota(port, secret, prom)
            check_bad_password(port, secret, prom)
            check_usage(port, secret, prom, argv[4], int(argv[5]), argv[6])
        elif argv[0] == "bandwidth":
            bandwidth(int(argv[1]), argv[2], float(argv[3]), float(argv[4]),
                      float(argv[5]))
        else:
            print(__doc__)
            return 2
    except (Timeout, RuntimeError, OSError, ValueError) as e:
        fail("checker", "%s: %s" % (type(e).__name__, e))
    return status()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
