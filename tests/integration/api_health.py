"""Health checks as the API user sees them (driven by test_api_health.sh).

Phase "down": the customer's TURN server is not running. The admin API and
/metrics must show it down; an override account still gets exactly its own
(dead) server, flagged in metrics; a fallback account gets the platform's
servers without the dead one. Phase "up": the customer's server runs; the
checks must see it recover and the fallback account gets it back.
Both phases run with many other servers configured (silent loopback UDP
and TCP ports and, inside a network namespace, a name whose lookup fails
and one whose lookup hangs): the checks must still follow each server
within about one round, since a round probes every server at once and
never waits for DNS (the old one-at-a-time checker took minutes per
round here). Phase "dead": the customer's server stops again; it must be
marked down and left out within a few rounds.
Helpers for test_api_health.sh: "silent" holds ports that never answer,
"dns-stub" a DNS server on 127.0.0.1:53 (namespace only).
Prints "ok ..." / "FAIL ..." lines for lib.sh's ts_run_checks."""
import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

failed = 0


def check(name, cond, detail=""):
    global failed
    if cond:
        print(f"ok {name}")
    else:
        failed += 1
        print(f"FAIL {name}: {detail}")


def http(method, url, token=None, body=None):
    req = urllib.request.Request(url, method=method, data=body)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def health(a, url):
    _, body = http("GET", f"{a.api}/v1/admin/health", a.admin)
    for s in json.loads(body)["servers"]:
        if s["url"] == url:
            return s
    return None


def wait_health(a, url, healthy, seconds=15):
    """Wait until url is down, or up with its last check a success (not
    merely not yet failed often enough to be down)."""
    end = time.time() + seconds
    while time.time() < end:
        s = health(a, url)
        if s and s["checked"] and s["healthy"] == healthy and \
                (not healthy or s["consecutiveFailures"] == 0):
            return s
        time.sleep(0.2)
    return health(a, url)


def metric(text, name, labels):
    pat = re.escape(name) + r"\{" + re.escape(labels) + r"\} (\S+)"
    m = re.search(pat, text)
    return float(m.group(1)) if m else None


def ice_urls(a, account):
    tok = subprocess.run([a.bin, "token", "mint", "--db", a.db, "--account",
                          account, "--sub", "u1", "--ttl", "600"],
                         capture_output=True, text=True, timeout=30).stdout.strip()
    status, body = http("POST", f"{a.api}/v1/ice-servers", tok, b'{"ttl":60}')
    if status != 200:
        return status, []
    return status, [u for e in json.loads(body)["iceServers"] for u in e["urls"]]


def round_period(a, url, rounds=2, seconds=12):
    """Seconds from one round to the next, timed by a silent server's
    failure count (it grows by one at the end of every round)."""
    end, marks, last = time.time() + seconds, [], None
    while time.time() < end and len(marks) <= rounds:
        s = health(a, url)
        f = s["consecutiveFailures"] if s else None
        if f is not None and last is not None and f > last:
            marks.append(time.time())
        last = f
        time.sleep(0.05)
    return (marks[-1] - marks[0]) / rounds if len(marks) > rounds else None


def wait_timed(a, name, url, healthy, since, limit):
    """Check that url reached the state within limit seconds of since."""
    s = wait_health(a, url, healthy, max(limit - (time.time() - since), 0) + 5)
    took = time.time() - since
    print(f"{name}: {took:.1f} s")
    check(f"{name} within {limit} s", s and s["healthy"] == healthy and
          took <= limit, f"{took:.1f} s, {s}")
    return s


def phase_many(a):
    """The other servers: each one followed on its own, every round."""
    p = round_period(a, a.silent)
    print(f"one round every {p and round(p, 2)} s with {a.nservers} servers")
    check("all servers probed at once: a round every 3.5 s at most "
          "(interval 1 s, round timeout 2 s)", p is not None and p <= 3.5, p)
    for url in [a.silent] + a.name_down:
        s = wait_health(a, url, False, 10)
        check(f"{url} down", s and not s["healthy"] and
              s["consecutiveFailures"] >= 2, s)
    _, text = http("GET", f"{a.api}/metrics", a.admin)
    check("metrics: server_up 0 for a silent server",
          metric(text, "turnstone_api_server_up", f'url="{a.silent}"') == 0, "")


def phase_down(a):
    s = wait_timed(a, "dead customer server marked down after 2 failed checks",
                   a.custom, False, a.since, 9)
    check("it failed 2 checks in a row", s and s["consecutiveFailures"] >= 2, s)
    p = wait_health(a, a.platform, True)
    check("platform server healthy", p and p["healthy"], p)
    # The raw text: a double printed whole (0.82899999999999996) reads as
    # noise; six significant digits at most.
    _, raw = http("GET", f"{a.api}/v1/admin/health", a.admin)
    rtts = re.findall(r'"rttMs":([-0-9.eE+]+)', raw if isinstance(raw, str)
                      else raw.decode())
    check("rttMs printed with at most 6 significant digits",
          rtts and all(len(re.sub(r"[^0-9]", "", r).lstrip("0")) <= 6
                       for r in rtts), rtts)
    _, text = http("GET", f"{a.api}/metrics", a.admin)
    check("metrics: server_up 0 for the dead server",
          metric(text, "turnstone_api_server_up", f'url="{a.custom}"') == 0, "")
    check("metrics: server_up 1 for the platform",
          metric(text, "turnstone_api_server_up", f'url="{a.platform}"') == 1, "")
    check("metrics: override_all_down 1 for the override account",
          metric(text, "turnstone_api_override_all_down", 'account="ovr"') == 1, "")
    # Without the admin token /metrics (on the public API port) names no
    # customer: neither the account nor its server's URL.
    _, pub = http("GET", f"{a.api}/metrics")
    check("metrics without the admin token: no account, no customer URL",
          "turnstone_api_requests_total" in pub and 'account="ovr"' not in pub
          and a.custom not in pub and
          "turnstone_api_server_up{" not in pub, pub[-300:])
    _, pub = http("GET", f"{a.api}/metrics", "not-the-admin-token")
    check("metrics with a wrong token: no customer URL either",
          a.custom not in pub and "turnstone_api_server_up{" not in pub, "")
    status, urls = ice_urls(a, "ovr")
    check("override: only the customer's server, even though it is down",
          status == 200 and urls == [a.custom], f"{status} {urls}")
    _, text = http("GET", f"{a.api}/metrics", a.admin)
    n = re.search(r"turnstone_api_override_all_down_answers_total (\d+)", text)
    check("metrics: that answer is counted", n and int(n.group(1)) >= 1, n)
    status, urls = ice_urls(a, "fb")
    check("fallback: the dead server is left out, the platform stays",
          status == 200 and a.custom not in urls and a.platform in urls,
          f"{status} {urls}")


def phase_up(a):
    s = wait_timed(a, "customer server seen up once it runs", a.custom,
                   True, a.since, 6)
    check("customer server seen again once it answers Binding",
          s and s["healthy"] and s["consecutiveFailures"] == 0, s)
    _, text = http("GET", f"{a.api}/metrics", a.admin)
    check("metrics: override_all_down back to 0",
          metric(text, "turnstone_api_override_all_down", 'account="ovr"') == 0, "")
    status, urls = ice_urls(a, "fb")
    check("fallback: platform first, then the recovered customer server",
          status == 200 and a.platform in urls and a.custom in urls and
          urls.index(a.platform) < urls.index(a.custom), f"{status} {urls}")


def phase_dead(a):
    wait_timed(a, "customer server down again after it stopped", a.custom,
               False, a.since, 9)
    status, urls = ice_urls(a, "fb")
    check("fallback: the stopped server is left out again",
          status == 200 and a.custom not in urls and a.platform in urls,
          f"{status} {urls}")


def silent(ports_file, nudp, ntcp):
    """Hold loopback ports that never answer until killed."""
    socks = []
    for kind, n in ((socket.SOCK_DGRAM, nudp), (socket.SOCK_STREAM, ntcp)):
        for _ in range(n):
            s = socket.socket(socket.AF_INET, kind)
            s.bind(("127.0.0.1", 0))
            if kind == socket.SOCK_STREAM:
                s.listen(64)  # the kernel completes connects; no answer
            socks.append(s)
    with open(ports_file + ".tmp", "w") as f:
        for s in socks:
            kind = "udp" if s.type == socket.SOCK_DGRAM else "tcp"
            f.write(f"{kind} {s.getsockname()[1]}\n")
    os.rename(ports_file + ".tmp", ports_file)
    while True:
        time.sleep(3600)


def dns_stub(log_file):
    """DNS on 127.0.0.1:53: NXDOMAIN for names starting "gone", no answer
    at all for the rest (the lookup hangs until the resolver gives up)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 53))
    with open(log_file, "a", buffering=1) as log:
        print("ready", file=log)
        while True:
            q, peer = s.recvfrom(512)
            if len(q) < 13:
                continue
            name = q[13:13 + q[12]].decode(errors="replace")
            print(f"query {name}", file=log)
            end = 12
            while end < len(q) and q[end]:
                end += 1 + q[end]
            if name.startswith("gone") and end + 5 <= len(q):
                # Same id and question; QR, RD, RA, RCODE 3 (NXDOMAIN).
                flags = bytes([0x80 | (q[2] & 0x01), 0x83])
                s.sendto(q[:2] + flags + b"\0\1" + b"\0" * 6 + q[12:end + 5],
                         peer)


def main():
    if sys.argv[1:2] == ["silent"]:
        return silent(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    if sys.argv[1:2] == ["dns-stub"]:
        return dns_stub(sys.argv[2])
    ap = argparse.ArgumentParser()
    ap.add_argument("phase", choices=["many", "down", "up", "dead"])
    for k in ("api", "admin", "bin", "db", "custom", "platform", "silent"):
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--since", type=float, default=0)
    ap.add_argument("--nservers", type=int, default=0)
    ap.add_argument("--name-down", action="append", default=[])
    a = ap.parse_args()
    {"many": phase_many, "down": phase_down, "up": phase_up,
     "dead": phase_dead}[a.phase](a)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
