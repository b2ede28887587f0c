"""Health checks as the API user sees them (driven by test_api_health.sh).

Phase "down": the customer's TURN server is not running. The admin API and
/metrics must show it down; an override account still gets exactly its own
(dead) server, flagged in metrics; a fallback account gets the platform's
servers without the dead one. Phase "up": the customer's server runs; the
checks must see it recover and the fallback account gets it back.
Prints "ok ..." / "FAIL ..." lines for lib.sh's ts_run_checks."""
import argparse
import json
import re
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
    end = time.time() + seconds
    while time.time() < end:
        s = health(a, url)
        if s and s["checked"] and s["healthy"] == healthy:
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


def phase_down(a):
    s = wait_health(a, a.custom, False)
    check("dead customer server marked down after 2 failed checks",
          s and not s["healthy"] and s["consecutiveFailures"] >= 2, s)
    p = wait_health(a, a.platform, True)
    check("platform server healthy", p and p["healthy"], p)
    _, text = http("GET", f"{a.api}/metrics")
    check("metrics: server_up 0 for the dead server",
          metric(text, "turnstone_api_server_up", f'url="{a.custom}"') == 0, "")
    check("metrics: server_up 1 for the platform",
          metric(text, "turnstone_api_server_up", f'url="{a.platform}"') == 1, "")
    check("metrics: override_all_down 1 for the override account",
          metric(text, "turnstone_api_override_all_down", 'account="ovr"') == 1, "")
    status, urls = ice_urls(a, "ovr")
    check("override: only the customer's server, even though it is down",
          status == 200 and urls == [a.custom], f"{status} {urls}")
    _, text = http("GET", f"{a.api}/metrics")
    n = re.search(r"turnstone_api_override_all_down_answers_total (\d+)", text)
    check("metrics: that answer is counted", n and int(n.group(1)) >= 1, n)
    status, urls = ice_urls(a, "fb")
    check("fallback: the dead server is left out, the platform stays",
          status == 200 and a.custom not in urls and a.platform in urls,
          f"{status} {urls}")


def phase_up(a):
    s = wait_health(a, a.custom, True)
    check("customer server seen again once it answers Binding",
          s and s["healthy"] and s["consecutiveFailures"] == 0, s)
    _, text = http("GET", f"{a.api}/metrics")
    check("metrics: override_all_down back to 0",
          metric(text, "turnstone_api_override_all_down", 'account="ovr"') == 0, "")
    status, urls = ice_urls(a, "fb")
    check("fallback: platform first, then the recovered customer server",
          status == 200 and a.platform in urls and a.custom in urls and
          urls.index(a.platform) < urls.index(a.custom), f"{status} {urls}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("phase", choices=["down", "up"])
    for k in ("api", "admin", "bin", "db", "custom", "platform"):
        ap.add_argument("--" + k, required=True)
    a = ap.parse_args()
    (phase_down if a.phase == "down" else phase_up)(a)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
