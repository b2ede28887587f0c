#!/usr/bin/python3
"""Black-box checks of the ICE-servers HTTP API (docs: /work/spec/api-spec.md,
docs/openapi.yaml) against a running daemon on loopback.

Standard library only (http.client, json, hmac, hashlib, base64); RSA
signatures come from the openssl command line. JWTs are built here byte by
byte, so a test can send exactly the malformed token it wants.

Subcommands (each prints "ok NAME" / "FAIL NAME: detail" lines, which
lib.sh's ts_run_checks counts, and exits 1 on any failure):

  cases    --api-port H --turn-port P --secret S --admin-token T --bin B
           --db F --tmp DIR --relay-min A --relay-max B
           the whole table of test_api.sh (accounts acme, small, limited,
           gone and their keys must exist already; see test_api.sh)
  mint     --kid K --key-secret S --iss A [--sub alice] [--ttl 3600]
           print an HS256 JWT (no check lines)
  wait-http URL TIMEOUT [STATUS]
           exit 0 once GET URL answers STATUS (200); bounded
  load     --api-port H --admin-token T --out FILE --prefix P --max N
           durability load: create accounts + keys until the daemon goes
           away; append "account NAME" / "key NAME KID" to FILE after each
           201, flushed before the next request
  verify   --api-port H --admin-token T --acks FILE --bin B --db F
           every acknowledged account and key is there (admin API and CLI)
  store-down --api-port H --token JWT --turn-port P --secret S --bin B
           after the db header is zeroed: 503 store_unavailable from
           /v1/ice-servers, /healthz and the admin API within ~3 s; TURN
           still relays
  wait-ice --api-port H --token JWT --want SUBSTR [--absent SUBSTR]
           poll POST /v1/ice-servers (bounded) until its URLs contain
           --want and none contains --absent
  wait-health --api-port H --admin-token T --url URL --healthy 0|1
           poll GET /v1/admin/health until URL has that health
"""
import argparse
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time

HOST = "127.0.0.1"
FAILED = 0


# ----------------------------------------------------------------- output

def ok(name, detail=""):
    print("ok %s%s" % (name, " (%s)" % detail if detail else ""), flush=True)


def fail(name, detail=""):
    global FAILED
    FAILED += 1
    print("FAIL %s%s" % (name, ": %s" % detail if detail else ""), flush=True)


def check(name, cond, detail=""):
    if cond:
        ok(name)
    else:
        fail(name, detail or "failed")
    return bool(cond)


def note(msg):
    print("   " + msg, flush=True)


def run_parts(c, parts):
    """Each part(c) in turn; one that raises is a failure, not the end."""
    for part in parts:
        note("-- %s" % part.__name__)
        try:
            part(c)
        except Exception as ex:  # noqa: BLE001 - report, do not crash
            import traceback
            traceback.print_exc(file=sys.stdout)
            fail(part.__name__, "raised %r" % ex)


# ------------------------------------------------------------------- JWT

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64u_dec(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jenc(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def hs256(secret, data):
    if isinstance(secret, str):
        secret = secret.encode()
    return hmac.new(secret, data, hashlib.sha256).digest()


def rs256(keyfile, data):
    r = subprocess.run(["openssl", "dgst", "-sha256", "-sign", keyfile],
                       input=data, capture_output=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError("openssl dgst -sign: %s" % r.stderr.decode())
    return r.stdout


def token(header, payload, signer):
    """header/payload: dict (JSON-encoded here) or bytes (used as is);
    signer: bytes -> signature bytes, or None for an empty signature."""
    h = header if isinstance(header, bytes) else jenc(header)
    p = payload if isinstance(payload, bytes) else jenc(payload)
    si = (b64u(h) + "." + b64u(p)).encode()
    sig = signer(si) if signer else b""
    return si.decode() + "." + b64u(sig)


def claims(iss, sub="alice", ttl=3600, now=None, aud="turnstone", **extra):
    now = int(time.time()) if now is None else now
    c = {"iss": iss, "sub": sub, "aud": aud, "iat": now, "exp": now + ttl}
    c.update(extra)
    return c


def hs_token(kid, secret, payload, alg="HS256"):
    return token({"alg": alg, "kid": kid, "typ": "JWT"}, payload,
                 lambda d: hs256(secret, d))


# ------------------------------------------------------------------ HTTP

class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body
        self._json = None

    def h(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def json(self):
        if self._json is None:
            try:
                self._json = json.loads(self.body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                self._json = False
        return self._json

    def brief(self):
        b = self.body[:300].decode("utf-8", "replace")
        return "HTTP %s %s" % (self.status, b)


def req(port, method, path, body=None, headers=None, timeout=15):
    """One request on a fresh connection; never raises for HTTP errors.
    Connection-level failures return Resp(0, [], b'<error>')."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        if isinstance(body, str):
            body = body.encode()
        conn.putrequest(method, path, skip_host=False,
                        skip_accept_encoding=True)
        hdrs = dict(headers or {})
        if body is not None and not any(k.lower() == "content-length"
                                         for k in hdrs):
            hdrs["Content-Length"] = str(len(body))
        for k, v in hdrs.items():
            conn.putheader(k, v)
        conn.endheaders(body)
        r = conn.getresponse()
        data = r.read()
        return Resp(r.status, r.getheaders(), data)
    except (OSError, http.client.HTTPException) as e:
        return Resp(0, [], ("%s: %s" % (type(e).__name__, e)).encode())
    finally:
        conn.close()


def bearer(tok):
    return {"Authorization": "Bearer " + tok}


# --------------------------------------------------------------- checks

def expect_error(name, r, status, code, headers=None, cors=False):
    """Status, the JSON error shape, Cache-Control and extra headers.
    headers: {name: exact value, or a callable(value) -> bool}."""
    problems = []
    if r.status != status:
        problems.append("status %s, want %s" % (r.status, status))
    j = r.json()
    ct = r.h("Content-Type") or ""
    if not ct.startswith("application/json"):
        problems.append("Content-Type %r" % ct)
    if not (isinstance(j, dict) and set(j) == {"error"} and
            isinstance(j["error"], dict) and
            j["error"].get("code") == code and
            isinstance(j["error"].get("message"), str) and
            j["error"]["message"]):
        problems.append("body is not {\"error\":{\"code\":%r,\"message\":...}}"
                        % code)
    if (r.h("Cache-Control") or "") != "no-store":
        problems.append("Cache-Control %r" % r.h("Cache-Control"))
    for hn, want in (headers or {}).items():
        got = r.h(hn)
        good = want(got) if callable(want) else got == want
        if not good:
            problems.append("%s: %r" % (hn, got))
    if cors and r.h("Access-Control-Allow-Origin") != "*":
        problems.append("Access-Control-Allow-Origin %r"
                        % r.h("Access-Control-Allow-Origin"))
    if problems:
        fail(name, "; ".join(problems) + " | " + r.brief())
        return False
    ok(name, "%s %s: %s" % (status, code, j["error"]["message"]))
    return True


INVALID = 'Bearer error="invalid_token"'


class Ctx:
    pass


def ice(c, tok, body=None, ctype=None, headers=None, method="POST"):
    h = bearer(tok) if tok is not None else {}
    if ctype:
        h["Content-Type"] = ctype
    h.update(headers or {})
    return req(c.api, method, "/v1/ice-servers", body, h)


def rest_cred(secret, username):
    d = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(d).decode()


def check_ice_ok(c, name, r, account, sub, ttl, secret=None, policy="all",
                 static_users=()):
    """A 200 answer: shape, ttl/expires, usernames and credentials."""
    if r.status != 200 or not isinstance(r.json(), dict):
        fail(name, r.brief())
        return None
    j = r.json()
    now = int(time.time())
    probs = []
    if set(j) != {"iceServers", "ttl", "expires", "iceTransportPolicy"}:
        probs.append("keys %s" % sorted(j))
    if j.get("ttl") != ttl:
        probs.append("ttl %r, want %r" % (j.get("ttl"), ttl))
    exp = j.get("expires")
    if not isinstance(exp, int) or abs(exp - (now + ttl)) > 5:
        probs.append("expires %r, want about %d" % (exp, now + ttl))
    if j.get("iceTransportPolicy") != policy:
        probs.append("iceTransportPolicy %r" % j.get("iceTransportPolicy"))
    srv = j.get("iceServers")
    if not isinstance(srv, list) or not srv:
        probs.append("iceServers %r" % srv)
        srv = []
    nurls = 0
    for e in srv:
        urls = e.get("urls") if isinstance(e, dict) else None
        if not isinstance(urls, list) or not urls:
            probs.append("entry without urls: %r" % e)
            continue
        nurls += len(urls)
        turn = any(u.startswith(("turn:", "turns:")) for u in urls)
        if not turn:
            continue
        u, p = e.get("username"), e.get("credential")
        if u in static_users:
            continue
        want_u = "%d:%s:%s" % (exp if isinstance(exp, int) else 0,
                               account, sub)
        if u != want_u:
            probs.append("username %r, want %r" % (u, want_u))
        if secret is not None and p != rest_cred(secret, u or ""):
            probs.append("credential %r is not base64(HMAC-SHA1(secret, "
                         "username))" % p)
    if len(srv) > 4:
        probs.append("%d iceServers entries (at most 4)" % len(srv))
    if r.h("Cache-Control") != "no-store":
        probs.append("Cache-Control %r" % r.h("Cache-Control"))
    if r.h("Access-Control-Allow-Origin") != "*":
        probs.append("Access-Control-Allow-Origin %r"
                     % r.h("Access-Control-Allow-Origin"))
    if not (r.h("Content-Type") or "").startswith("application/json"):
        probs.append("Content-Type %r" % r.h("Content-Type"))
    if probs:
        fail(name, "; ".join(probs) + " | " + r.brief())
        return None
    ok(name, "ttl %d, %d URLs" % (ttl, nurls))
    return j


def turn_entry(j):
    for e in j["iceServers"]:
        if any(u.startswith("turn:") for u in e["urls"]):
            return e
    return None


def run(cmd, timeout=60, inp=None):
    try:
        r = subprocess.run(cmd, capture_output=True, timeout=timeout,
                           input=inp)
        return r.returncode, r.stdout.decode("utf-8", "replace"), \
            r.stderr.decode("utf-8", "replace")
    except subprocess.TimeoutExpired:
        return 124, "", "timed out after %d s" % timeout


def cli_account(c, *args, timeout=60):
    """turnstone account ARGS... --db FILE"""
    return run([c.bin, "account"] + list(args) + ["--db", c.db],
               timeout=timeout)


def poll(fn, timeout, step=0.2):
    """Call fn() until it returns a true value or timeout s pass."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


# ------------------------------------------------------- the case table

def jwt_cases(c):
    """Every way a token can be refused: 401 invalid_token."""
    now = int(time.time())
    good = claims("acme", now=now)
    K, S = "acme-k1", c.acme_secret

    def flip(tok):
        h, p, s = tok.split(".")
        sig = bytearray(b64u_dec(s))
        sig[len(sig) // 2] ^= 0x01
        return "%s.%s.%s" % (h, p, b64u(bytes(sig)))

    def nested(depth):
        return ('{"iss":"acme","sub":"alice","aud":"turnstone","exp":%d,'
                '"x":%s%s}' % (now + 3600, "[" * depth, "]" * depth)).encode()

    def pad_payload(n):
        p = dict(good)
        p["pad"] = "p" * n
        return p

    none_tok = {}
    for alg in ("none", "NONE", "nOnE"):
        none_tok[alg] = token({"alg": alg, "kid": K, "typ": "JWT"}, good, None)
        none_tok[alg + "+sig"] = token({"alg": alg, "kid": K, "typ": "JWT"},
                                       good, lambda d: hs256(S, d))
    big = hs_token(K, S, pad_payload(3300))
    cases = [
        ("garbage token", "not-a-jwt"),
        ("garbage token with two dots", "a.b.c"),
        ("empty segments", ".."),
    ]
    for k, v in none_tok.items():
        cases.append(("alg %s" % k, v))
    cases += [
        ("HS256 signed with the wrong secret",
         hs_token(K, "x" * 40, good)),
        ("one signature bit flipped", flip(hs_token(K, S, good))),
        ("signature stripped", hs_token(K, S, good).rsplit(".", 1)[0] + "."),
        ("expired 120 s ago (beyond 60 s skew)",
         hs_token(K, S, claims("acme", now=now - 3720))),
        ("missing exp", hs_token(K, S, {k: v for k, v in good.items()
                                        if k != "exp"})),
        ("exp as a string", hs_token(K, S, dict(good, exp=str(now + 3600)))),
        ("exp 25 h ahead (over --api-max-token-lifetime's 24 h)",
         hs_token(K, S, claims("acme", now=now, ttl=25 * 3600))),
        ("nbf 300 s in the future", hs_token(K, S, dict(good, nbf=now + 300))),
        ("iat 300 s in the future", hs_token(K, S, dict(good, iat=now + 300))),
        ("wrong iss", hs_token(K, S, dict(good, iss="evil"))),
        ("missing iss", hs_token(K, S, {k: v for k, v in good.items()
                                        if k != "iss"})),
        ("wrong aud", hs_token(K, S, dict(good, aud="someone-else"))),
        ("missing aud", hs_token(K, S, {k: v for k, v in good.items()
                                        if k != "aud"})),
        ("missing sub", hs_token(K, S, {k: v for k, v in good.items()
                                        if k != "sub"})),
        ("sub with ':' (would forge the TURN username)",
         hs_token(K, S, dict(good, sub="alice:admin"))),
        ("kid is a path (../../etc/passwd)",
         hs_token("../../etc/passwd", S, good)),
        ("kid is an SQL fragment", hs_token("' OR '1'='1", S, good)),
        ("kid is an SQL statement",
         hs_token("acme-k1'; DROP TABLE keys;--", S, good)),
        ("unknown kid", hs_token("no-such-kid", S, good)),
        ("missing kid", token({"alg": "HS256", "typ": "JWT"}, good,
                              lambda d: hs256(S, d))),
        ("typ is not JWT", token({"alg": "HS256", "kid": K, "typ": "JWE"},
                                 good, lambda d: hs256(S, d))),
        ("crit header", token({"alg": "HS256", "kid": K, "crit": ["exp"]},
                              good, lambda d: hs256(S, d))),
        ("duplicate claim names",
         token({"alg": "HS256", "kid": K},
               jenc(good)[:-1] + b',"sub":"mallory"}',
               lambda d: hs256(S, d))),
        ("token over 4 KiB (%d chars)" % len(big), big),
        ("payload nested 3,000 deep", token({"alg": "HS256", "kid": K},
                                            nested(3000),
                                            lambda d: hs256(S, d))),
        ("payload nested 1,000 deep (under 4 KiB, correctly signed)",
         token({"alg": "HS256", "kid": K}, nested(1000),
               lambda d: hs256(S, d))),
        ("header nested 1,000 deep",
         token(('{"alg":"HS256","kid":"acme-k1","x":%s%s}'
                % ("[" * 1000, "]" * 1000)).encode(), good,
               lambda d: hs256(S, d))),
        ("RS256 token for an HS256-pinned kid",
         token({"alg": "RS256", "kid": K, "typ": "JWT"}, good,
               lambda d: rs256(c.rsa_key, d))),
        ("HS256 token signed with the RSA public key (kid pinned RS256)",
         token({"alg": "HS256", "kid": c.rsa_kid, "typ": "JWT"},
               claims("rsaco", now=now), lambda d: hs256(c.rsa_pub, d))),
        ("RS256 token signed with another RSA key",
         token({"alg": "RS256", "kid": c.rsa_kid, "typ": "JWT"},
               claims("rsaco", now=now), lambda d: rs256(c.rsa_other, d))),
    ]
    for name, tok in cases:
        expect_error("401 " + name, ice(c, tok), 401, "invalid_token",
                     {"WWW-Authenticate": INVALID}, cors=True)
    check("the 4 KiB token really was over 4096 chars", len(big) > 4096,
          str(len(big)))
    # The lifetime cap says which rule refused, and stops at 24 h.
    r = ice(c, hs_token(K, S, claims("acme", now=now, ttl=25 * 3600)))
    msg = ((r.json() or {}).get("error") or {}).get("message")
    check("401 for a 25 h token says why", msg == "invalid token (lifetime)",
          r.brief())
    r = ice(c, hs_token(K, S, claims("acme", now=now, ttl=23 * 3600)))
    check("200 for a token 23 h ahead (under the 24 h cap)", r.status == 200,
          r.brief())

    # Not a Bearer token at all.
    expect_error("401 no Authorization header", ice(c, None), 401,
                 "invalid_token", {"WWW-Authenticate": "Bearer"}, cors=True)
    r = req(c.api, "POST", "/v1/ice-servers", None,
             {"Authorization": "Basic YWxpY2U6cHc="})
    expect_error("401 Basic instead of Bearer", r, 401, "invalid_token",
                 {"WWW-Authenticate": lambda v: v is not None and
                  v.startswith("Bearer")}, cors=True)


def success_cases(c):
    now = int(time.time())
    tok = hs_token("acme-k1", c.acme_secret, claims("acme", now=now))
    r = ice(c, tok)
    j = check_ice_ok(c, "200 default ttl is 86400", r, "acme", "alice",
                     86400, c.secret)
    if j:
        urls = [u for e in j["iceServers"] for u in e["urls"]]
        want = {"stun:127.0.0.1:%d" % c.turn,
                "turn:127.0.0.1:%d?transport=udp" % c.turn,
                "turn:127.0.0.1:%d?transport=tcp" % c.turn}
        check("200 URLs are the daemon's own listeners", set(urls) == want,
              "got %s" % urls)
    r = ice(c, hs_token("acme-k1", c.acme_secret,
                        claims("acme", now=now - 3600 - 30)))
    check_ice_ok(c, "200 exp 30 s ago is within the 60 s skew", r, "acme",
                 "alice", 86400, c.secret)
    r = ice(c, tok, '{"ttl":600}', "application/json")
    j = check_ice_ok(c, "200 JSON {\"ttl\":600}", r, "acme", "alice", 600,
                     c.secret)
    r = ice(c, tok, '{"ttl":600}', "application/json; charset=utf-8")
    check_ice_ok(c, "200 JSON with charset parameter", r, "acme", "alice",
                 600, c.secret)
    r = ice(c, tok, "ttl=600", "application/x-www-form-urlencoded")
    check_ice_ok(c, "200 form ttl=600 (PHP style)", r, "acme", "alice", 600,
                 c.secret)
    r = ice(c, tok, "", "application/json")
    check_ice_ok(c, "200 empty body", r, "acme", "alice", 86400, c.secret)
    r = ice(c, tok, "{}", "application/json")
    check_ice_ok(c, "200 empty JSON object", r, "acme", "alice", 86400,
                 c.secret)
    r = req(c.api, "POST", "/v1/ice-servers", None,
             {"Authorization": "bearer " + tok})
    check_ice_ok(c, "200 'bearer' scheme is case-insensitive", r, "acme",
                 "alice", 86400, c.secret)
    stok = hs_token("small-k1", c.small_secret,
                    claims("small", sub="bob", now=now))
    r = ice(c, stok, '{"ttl":3600}', "application/json")
    check_ice_ok(c, "200 ttl 3600 clamped to the account's maxTtl 300", r,
                 "small", "bob", 300, c.secret)
    r = ice(c, stok)
    check_ice_ok(c, "200 default ttl follows maxTtl 300", r, "small", "bob",
                 300, c.secret)
    rtok = token({"alg": "RS256", "kid": c.rsa_kid, "typ": "JWT"},
                 claims("rsaco", sub="carol", now=now),
                 lambda d: rs256(c.rsa_key, d))
    check_ice_ok(c, "200 RS256 token with the account's RSA key",
                 ice(c, rtok), "rsaco", "carol", 86400, c.secret)
    r = ice(c, hs_token("acme-k1", c.acme_secret,
                        dict(claims("acme", now=now),
                             aud=["other", "turnstone"])))
    check_ice_ok(c, "200 aud as an array containing turnstone", r, "acme",
                 "alice", 86400, c.secret)

    # The minted credential on the real TURN server.
    r = ice(c, tok, '{"ttl":600}', "application/json")
    j = check_ice_ok(c, "200 for the TURN check", r, "acme", "alice", 600,
                     c.secret)
    if not j:
        return
    e = turn_entry(j)
    user, cred = e["username"], e["credential"]
    try:
        import turnclient as tc
        cl = tc.Client((HOST, c.turn), timeout=2.0)
        cl.set_user(user, cred)
        m = cl.allocate()
        relayed = m.xaddr(tc.XOR_RELAYED_ADDRESS) if m.cls == tc.SUCCESS \
            else None
        check("TURN Allocate with the minted credential succeeds",
              m.cls == tc.SUCCESS, m.describe())
        if relayed:
            check("relayed port is in the daemon's relay range",
                  c.rmin <= relayed[1] <= c.rmax, str(relayed))
        cl.refresh(0)
        cl.close()
        cl = tc.Client((HOST, c.turn), timeout=2.0)
        cl.set_user(user, cred[:-2] + ("A=" if cred[-2] != "A" else "B="))
        m = cl.allocate()
        check("TURN Allocate with a tampered credential is refused (401)",
              m.code() == 401, m.describe())
        cl.close()
    except Exception as ex:  # noqa: BLE001 - report, do not crash
        fail("TURN Allocate with the minted credential", repr(ex))
    for tr in ("udp", "tcp"):
        rc, out, err = run([c.bin, "probe",
                            "turn:127.0.0.1:%d?transport=%s" % (c.turn, tr),
                            "--user", user, "--password", cred,
                            "--count", "3"], timeout=30)
        check("turnstone probe relays over %s with the minted credential"
              % tr, rc == 0, "exit %d: %s %s" % (rc, out[-300:], err[-300:]))


def body_cases(c):
    tok = hs_token("acme-k1", c.acme_secret, claims("acme"))
    J, F = "application/json", "application/x-www-form-urlencoded"
    bad = [
        ("malformed JSON", '{"ttl":', J),
        ("JSON array body", "[600]", J),
        ("unknown JSON field", '{"ttl":600,"tll":5}', J),
        ("unknown JSON field only", '{"user":"x"}', J),
        ("ttl 0", '{"ttl":0}', J),
        ("ttl -1", '{"ttl":-1}', J),
        ('ttl "600" (a string)', '{"ttl":"600"}', J),
        ("ttl 1.5", '{"ttl":1.5}', J),
        ("ttl null", '{"ttl":null}', J),
        ("ttl 1e3", '{"ttl":1e3}', J),
        ("ttl huge", '{"ttl":99999999999999999999}', J),
        ("duplicate ttl", '{"ttl":600,"ttl":700}', J),
        ("form ttl=abc", "ttl=abc", F),
        ("form ttl=0", "ttl=0", F),
        ("form ttl=-1", "ttl=-1", F),
        ("form unknown field", "ttl=600&user=x", F),
        ("form ttl twice", "ttl=600&ttl=700", F),
    ]
    for name, body, ct in bad:
        expect_error("400 " + name, ice(c, tok, body, ct), 400,
                     "bad_request", cors=True)
    expect_error("415 Content-Type text/plain", ice(c, tok, "ttl=600",
                                                    "text/plain"),
                 415, "unsupported_media_type", cors=True)
    expect_error("415 no Content-Type with a body",
                 ice(c, tok, '{"ttl":600}'), 415, "unsupported_media_type",
                 cors=True)
    expect_error("413 body over 1 KiB",
                 ice(c, tok, '{"ttl":600' + " " * 1100 + "}", J), 413,
                 "payload_too_large", cors=True)
    chunked_413(c, tok)
    check_ice_ok(c, "200 body of exactly 1024 bytes",
                 ice(c, tok, '{"ttl":600' + " " * (1024 - 11) + "}", J),
                 "acme", "alice", 600, c.secret)


def chunked_413(c, tok):
    """A chunked body over 1 KiB: the limit holds without Content-Length."""
    s = socket.create_connection((HOST, c.api), timeout=10)
    try:
        body = b" " * 2000
        req = (b"POST /v1/ice-servers HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               b"Authorization: Bearer " + tok.encode() + b"\r\n"
               b"Content-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n")
        s.sendall(req)
        data = b""
        while True:
            try:
                d = s.recv(65536)
            except OSError:
                break
            if not d:
                break
            data += d
    finally:
        s.close()
    r = parse_raw(data)
    return expect_error("413 body over 1 KiB, chunked (no Content-Length)",
                        r, 413, "payload_too_large", cors=True)


def parse_raw(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0] if lines else "")
    hdrs = []
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        hdrs.append((k.strip(), v.strip()))
    r = Resp(int(m.group(1)) if m else 0, hdrs, body)
    if (r.h("Transfer-Encoding") or "").lower() == "chunked":
        out, rest = b"", body
        while rest:
            ln, _, rest = rest.partition(b"\r\n")
            try:
                n = int(ln.split(b";")[0], 16)
            except ValueError:
                break
            if n == 0:
                break
            out, rest = out + rest[:n], rest[n + 2:]
        r.body = out
    return r


def http_cases(c):
    tok = hs_token("acme-k1", c.acme_secret, claims("acme"))
    for m in ("GET", "PUT", "DELETE", "PATCH"):
        expect_error("405 %s /v1/ice-servers" % m,
                     req(c.api, m, "/v1/ice-servers", None, bearer(tok)),
                     405, "method_not_allowed",
                     {"Allow": "POST, OPTIONS"}, cors=True)
    expect_error("405 POST /healthz", req(c.api, "POST", "/healthz", ""),
                 405, "method_not_allowed",
                 {"Allow": lambda v: v is not None and "GET" in v})
    for p in ("/", "/v1", "/v1/ice-servers/x", "/v1/ice-server",
              "/v2/ice-servers", "/../etc/passwd", "/v1/admin"):
        expect_error("404 unknown path %s" % p, req(c.api, "GET", p), 404,
                     "not_found")
    r = req(c.api, "OPTIONS", "/v1/ice-servers", None,
             {"Origin": "http://example.test",
              "Access-Control-Request-Method": "POST",
              "Access-Control-Request-Headers": "authorization,content-type"})
    probs = []
    want = {"Access-Control-Allow-Origin": "*",
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Authorization, Content-Type",
            "Access-Control-Max-Age": "600"}
    if r.status != 204:
        probs.append("status %s" % r.status)
    for k, v in want.items():
        if r.h(k) != v:
            probs.append("%s %r" % (k, r.h(k)))
    if r.body:
        probs.append("body %r" % r.body[:80])
    check("204 OPTIONS preflight with CORS headers", not probs,
          "; ".join(probs))
    # 431: one 17 KiB header (over MHD's 16 KiB connection memory).
    r = req(c.api, "POST", "/v1/ice-servers", "",
             dict(bearer(tok), **{"X-Padding": "p" * (17 * 1024)}))
    check("431 request headers over 16 KiB", r.status == 431, r.brief())
    if r.status == 431:
        expect_error("431 answer is the JSON error shape", r, 431,
                     "headers_too_large")
    r = req(c.api, "POST", "/v1/ice-servers", "",
             dict(bearer(tok), **{"X-H%d" % i: "v" * 100
                                  for i in range(200)}))
    check("431 200 headers of 100 bytes", r.status == 431, r.brief())
    # Still serving afterwards.
    check_ice_ok(c, "200 after the oversized requests", ice(c, tok),
                 "acme", "alice", 86400, c.secret)


def account_state_cases(c):
    """CLI writes reach the running daemon: disable -> 403, a new account
    and key -> 200, rate limits -> 429."""
    now = int(time.time())
    gtok = hs_token("gone-k1", c.gone_secret, claims("gone", now=now))
    check_ice_ok(c, "200 for account gone before it is disabled",
                 ice(c, gtok), "gone", "alice", 86400, c.secret)
    rc, out, err = cli_account(c, "disable", "gone")
    check("CLI account disable gone", rc == 0, "exit %d: %s" % (rc, err))
    r = poll(lambda: (lambda x: x if x.status == 403 else None)(ice(c, gtok)),
             6)
    expect_error("403 disabled account (within 6 s of the CLI write)",
                 r or ice(c, gtok), 403, "account_disabled", cors=True)
    r = ice(c, hs_token("gone-k1", "y" * 40, claims("gone", now=now)))
    expect_error("401 (not 403) for a bad signature on a disabled account",
                 r, 401, "invalid_token", {"WWW-Authenticate": INVALID})
    rc, out, err = cli_account(c, "enable", "gone")
    r = poll(lambda: (lambda x: x if x.status == 200 else None)(ice(c, gtok)),
             6)
    check("200 again after CLI account enable", r is not None and rc == 0,
          "exit %d %s" % (rc, err))

    sec = "late-secret-" + "z" * 30
    rc1, _, e1 = cli_account(c, "create", "late")
    rc2, _, e2 = cli_account(c, "key", "add", "late", "--kid", "late-k1",
                             "--alg", "HS256", "--secret", sec)
    check("CLI creates account late and its key while the daemon runs",
          rc1 == 0 and rc2 == 0, "%d %s / %d %s" % (rc1, e1, rc2, e2))
    ltok = hs_token("late-k1", sec, claims("late", now=now))
    r = poll(lambda: (lambda x: x if x.status == 200 else None)(ice(c, ltok)),
             6)
    check_ice_ok(c, "200 for the new account within 6 s", r or ice(c, ltok),
                 "late", "alice", 86400, c.secret)
    rc, _, err = cli_account(c, "key", "remove", "late", "--kid", "late-k1")
    r = poll(lambda: (lambda x: x if x.status == 401 else None)(ice(c, ltok)),
             6)
    expect_error("401 after the CLI removed the key", r or ice(c, ltok), 401,
                 "invalid_token", {"WWW-Authenticate": INVALID})

    # Per-account rate limit: --rate 2 --burst 2.
    ltok = hs_token("limited-k1", c.limited_secret,
                    claims("limited", now=now))
    got = [ice(c, ltok) for _ in range(8)]
    st = [x.status for x in got]
    check("the first 2 requests of account limited pass", st[:2] == [200, 200],
          str(st))
    r429 = [x for x in got if x.status == 429]
    if check("429 once the per-account burst of 2 is spent", r429, str(st)):
        expect_error("429 answer", r429[0], 429, "rate_limited",
                     {"Retry-After": lambda v: v is not None and
                      v.isdigit() and 1 <= int(v) <= 5}, cors=True)
    # Another account is not affected by limited's bucket.
    check_ice_ok(c, "200 for acme while limited is throttled",
                 ice(c, hs_token("acme-k1", c.acme_secret, claims("acme"))),
                 "acme", "alice", 86400, c.secret)
    time.sleep(1.2)
    r = poll(lambda: (lambda x: x if x.status == 200 else None)(ice(c, ltok)),
             5, 0.6)
    check("200 again for limited after waiting", r is not None)

    # A kid is public (every browser's token shows it): forged tokens
    # naming it must not spend the account's bucket, or anyone could lock
    # the account's users out at the per-IP rate.
    time.sleep(1.2)
    forged = hs_token("limited-k1", "forged-" + "q" * 40,
                      claims("limited", now=now))
    st = [ice(c, forged).status for _ in range(8)]
    check("forged tokens for account limited: all 401, never 429",
          st == [401] * 8, str(st))
    check_ice_ok(c, "200 for limited's real token after 8 forged ones",
                 ice(c, ltok), "limited", "alice", 86400, c.secret)


def user_limit_cases(c):
    """userRateLimit: one end user (account, sub) holding a valid token
    cannot spend the account's rate and lock its other users out."""
    r = admin(c, "POST", "/accounts", {"name": "defrate"})
    check("a new account's userRateLimit defaults to 10/s, burst 50",
          r.status == 201 and (r.json() or {}).get("userRateLimit") ==
          {"perSecond": 10, "burst": 50}, r.brief())
    r = admin(c, "POST", "/accounts",
              {"name": "peruser", "rateLimit": {"perSecond": 1, "burst": 8},
               "userRateLimit": {"perSecond": 1, "burst": 2}})
    check("admin creates account peruser with userRateLimit 1/s burst 2",
          r.status == 201 and (r.json() or {}).get("userRateLimit") ==
          {"perSecond": 1, "burst": 2}, r.brief())
    sec = "peruser-secret-" + "p" * 30
    r = admin(c, "POST", "/accounts/peruser/keys",
              {"kid": "peruser-k1", "alg": "HS256", "secret": sec})
    check("admin adds peruser's key", r.status == 201, r.brief())
    tok = lambda sub: hs_token("peruser-k1", sec, claims("peruser", sub=sub))
    # Until the store watcher sees the key: 401, which spends nothing.
    r = poll(lambda: (lambda x: x if x.status == 200 else None)(
        ice(c, tok("probe"))), 6)
    check("peruser's token works", r is not None)
    # Buckets refill at 1/s: a slow machine may earn a request back, so
    # each check allows one more 200 per whole second it took.
    t0 = time.monotonic()
    st = [ice(c, tok("alice")).status for _ in range(6)]
    extra = int(time.monotonic() - t0)
    check("alice: her burst of 2 passes, then 429",
          st[:2] == [200, 200] and st.count(429) >= 4 - extra and
          st.count(200) + st.count(429) == 6, str(st))
    r = ice(c, tok("alice"))
    expect_error("alice's 429", r, 429, "rate_limited",
                 {"Retry-After": lambda v: v is not None and v.isdigit() and
                  1 <= int(v) <= 2}, cors=True)
    st = [ice(c, tok("bob")).status for _ in range(2)]
    check("bob of the same account still gets his 2 (alice's refused "
          "requests did not spend the account's bucket)", st == [200, 200],
          str(st))
    st = [ice(c, tok(u)).status for u in ("carol", "dave", "erin", "zed")]
    extra = int(time.monotonic() - t0)
    st += [ice(c, tok(u)).status for u in ("u%d" % i for i in range(extra))]
    check("the account's own limit (burst 8) still holds across users",
          st[:3] == [200, 200, 200] and st[-1] == 429, str(st))
    r = admin(c, "PATCH", "/accounts/peruser",
              {"userRateLimit": {"perSecond": 5, "burst": 0}})
    field_error("admin 422 userRateLimit with burst 0", r,
                "userRateLimit.burst")
    r = admin(c, "PATCH", "/accounts/peruser",
              {"userRateLimit": {"perMinute": 5}})
    # An unknown key is a 400 naming its whole path; it was a 422 naming
    # the object (field_cases.py has the rest of such keys).
    if expect_error("admin 400 unknown key in userRateLimit", r, 400,
                    "bad_request"):
        msg = r.json()["error"]["message"]
        check("admin 400 unknown key in userRateLimit: the message names "
              "userRateLimit.perMinute",
              msg == "unknown field: userRateLimit.perMinute", msg)


def admin(c, method, path, body=None, token=None, ctype="application/json"):
    h = {"Authorization": "Bearer " + (c.admin if token is None else token)}
    if body is not None:
        if not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        if ctype:
            h["Content-Type"] = ctype
    return req(c.api, method, "/v1/admin" + path, body, h)


def admin_pages(c, limit=None, after=None, max_pages=2000):
    """Walk GET /v1/admin/accounts from `after`, following "next":
    (pages, error), pages the 200 bodies in order, error a string when a
    page is not a 200 {"accounts":[...],"next":...} or the walk never
    ends."""
    pages = []
    while len(pages) < max_pages:
        q = []
        if limit is not None:
            q.append("limit=%s" % limit)
        if after is not None:
            q.append("after=%s" % after)
        r = admin(c, "GET", "/accounts" + ("?" + "&".join(q) if q else ""))
        j = r.json()
        if r.status != 200 or not isinstance(j, dict) or \
                set(j) != {"accounts", "next"} or \
                not isinstance(j["accounts"], list) or \
                r.h("Cache-Control") != "no-store":
            return pages, r.brief()
        pages.append(j)
        if j["next"] is None:
            return pages, None
        if not isinstance(j["next"], str):
            return pages, "next %r" % (j["next"],)
        after = j["next"]
    return pages, "no last page after %d pages" % max_pages


def page_names(pages):
    return [a.get("name") for p in pages for a in p["accounts"]]


def check_walk(name, pages, err, limit):
    """Every page but the last holds `limit` accounts and its "next" is
    its last name; names strictly increase (bytewise), so none repeats."""
    names = page_names(pages)
    problems = [err] if err else []
    for i, p in enumerate(pages[:-1]):
        if len(p["accounts"]) != limit or \
                p["next"] != p["accounts"][-1].get("name"):
            problems.append("page %d: %d accounts, next %r" %
                            (i, len(p["accounts"]), p["next"]))
    if pages and (not pages[-1]["accounts"] and len(pages) > 1 or
                  len(pages[-1]["accounts"]) > limit):
        problems.append("last page holds %d" % len(pages[-1]["accounts"]))
    bnames = [n.encode() for n in names if isinstance(n, str)]
    if len(bnames) != len(names) or \
            any(a >= b for a, b in zip(bnames, bnames[1:])):
        problems.append("names out of order or repeated: %s" % names)
    check(name, not problems, "; ".join(problems))
    return names


def page_cases(c):
    """GET /v1/admin/accounts?limit=N&after=NAME: cursor pages in name
    order (docs/api.md, Admin API)."""
    # Names whose bytewise order differs from a naive one ("pg-10" before
    # "pg-2", '-' < '0' < '_' < 'a').
    mine = ["pg-2", "pg-10", "pg_a", "pga", "pg-1"]
    for n in mine:
        r = admin(c, "POST", "/accounts", {"name": n})
        check("admin creates account %s for the page walk" % n,
              r.status == 201, r.brief())
    whole, err = admin_pages(c, limit=1000)
    every = page_names(whole)
    check("admin GET /accounts?limit=1000: one page, next null",
          not err and len(whole) == 1 and set(mine) <= set(every), err or
          "%d pages: %s" % (len(whole), every))
    check("admin account list is sorted bytewise by name",
          every == sorted(every, key=lambda n: n.encode()), str(every))
    default, err = admin_pages(c)
    check("admin GET /accounts without limit (default 100): the same page",
          not err and len(default) == 1 and page_names(default) == every,
          err or str(page_names(default)))
    pages, err = admin_pages(c, limit=2)
    walked = check_walk("admin walk with limit=2: full pages, next = last "
                        "name, in order", pages, err, 2)
    check("admin walk with limit=2: every account exactly once, %d pages"
          % ((len(every) + 1) // 2),
          walked == every and len(pages) == (len(every) + 1) // 2 and
          len(pages) >= 3, "%d pages: %s vs %s" % (len(pages), walked, every))
    check("admin walk with limit=2: next is null on the last page only",
          pages and pages[-1]["next"] is None and
          all(p["next"] for p in pages[:-1]), str([p["next"] for p in pages]))
    total = len(every)
    pages, err = admin_pages(c, limit=total, max_pages=1)
    check("admin limit = number of accounts: one page, next null",
          not err and len(pages) == 1 and page_names(pages) == every, err)
    r = admin(c, "GET", "/accounts?limit=%d" % (total - 1))
    j = r.json() if r.status == 200 else {}
    check("admin limit = accounts - 1: next is the page's last name",
          isinstance(j, dict) and len(j.get("accounts", [])) == total - 1 and
          j.get("next") == every[-2], r.brief())
    i = every.index("pg-10")
    pages, err = admin_pages(c, limit=2, after="pg-10")
    check("admin after=pg-10 starts right after it",
          not err and page_names(pages) == every[i + 1:], err or
          str(page_names(pages)))
    # A cursor that is no account (deleted since) still finds its place.
    admin(c, "DELETE", "/accounts/pg-2")
    every.remove("pg-2")
    pages, err = admin_pages(c, limit=1, after="pg-2")
    check("admin after=<a deleted account> goes on after its name",
          not err and page_names(pages) == [x for x in every
                                            if x.encode() > b"pg-2"],
          err or str(page_names(pages)))
    r = admin(c, "GET", "/accounts?after=%s&limit=5" % every[-1])
    check("admin after=<the last name>: no accounts, next null",
          r.status == 200 and r.json() == {"accounts": [], "next": None},
          r.brief())
    r = admin(c, "GET", "/accounts?limit=2&colour=red")
    check("admin unknown query parameters are ignored (as /usage)",
          r.status == 200 and len(r.json()["accounts"]) == 2, r.brief())
    for q, param in (("limit=0", "limit"), ("limit=abc", "limit"),
                     ("limit=1001", "limit"), ("limit=-1", "limit"),
                     ("limit=", "limit"), ("limit", "limit"),
                     ("limit=2%00", "limit"), ("limit=1e2", "limit"),
                     ("after=Bad%21", "after"), ("after=", "after"),
                     ("after=" + "a" * 64, "after"),
                     ("after=pg%00x", "after"), ("after=..%2Fx", "after"),
                     ("limit=5&after=-x", "after")):
        r = admin(c, "GET", "/accounts?" + q)
        if expect_error("admin 400 GET /accounts?%s" % q[:24], r, 400,
                        "bad_request"):
            msg = r.json()["error"]["message"]
            check("admin 400 ?%s names %s" % (q[:24], param),
                  "parameter " + param in msg, msg)
    expect_error("admin 401 before a bad limit is looked at",
                 req(c.api, "GET", "/v1/admin/accounts?limit=0"), 401,
                 "invalid_token")
    for n in mine:
        if n != "pg-2":
            admin(c, "DELETE", "/accounts/" + n)
    page_default_cases(c)


def page_default_cases(c):
    """Over 100 accounts: without limit a page holds 100."""
    have = len(page_names(admin_pages(c, limit=1000)[0]))
    extra = ["pgd-%03d" % i for i in range(max(0, 101 - have))]
    made = [n for n in extra
            if admin(c, "POST", "/accounts", {"name": n}).status == 201]
    check("admin creates %d accounts to pass 100" % len(extra),
          made == extra, "%d of %d" % (len(made), len(extra)))
    pages, err = admin_pages(c)
    names = check_walk("admin walk without limit: pages of 100", pages, err,
                       100)
    check("admin walk without limit: 2 pages, every account once",
          len(pages) == 2 and len(names) == max(have, 101) and
          set(extra) <= set(names), "%d pages, %d names" %
          (len(pages), len(names)))
    for n in made:
        admin(c, "DELETE", "/accounts/" + n)


def admin_cases(c):
    r = req(c.api, "GET", "/v1/admin/accounts")
    expect_error("admin 401 without a token", r, 401, "invalid_token",
                 {"WWW-Authenticate": lambda v: v is not None and
                  v.startswith("Bearer")})
    expect_error("admin 401 with a wrong token",
                 admin(c, "GET", "/accounts", token=c.admin + "x"), 401,
                 "invalid_token")
    expect_error("admin 401 with a prefix of the token",
                 admin(c, "GET", "/accounts", token=c.admin[:-1]), 401,
                 "invalid_token")
    tok = hs_token("acme-k1", c.acme_secret, claims("acme"))
    expect_error("admin 401 with a customer JWT",
                 admin(c, "GET", "/accounts", token=tok), 401,
                 "invalid_token")

    r = admin(c, "POST", "/accounts",
              {"name": "adm1", "defaultTtl": 600, "maxTtl": 3600,
               "rateLimit": {"perSecond": 10, "burst": 20},
               "issuer": "https://adm1.example/"})
    j = r.json() if r.status == 201 else None
    good = isinstance(j, dict) and j.get("name") == "adm1" and \
        j.get("status") == "active" and j.get("defaultTtl") == 600 and \
        j.get("maxTtl") == 3600 and \
        j.get("rateLimit") == {"perSecond": 10, "burst": 20} and \
        j.get("issuer") == "https://adm1.example/" and \
        j.get("features") == {"configurableTurn": False} and \
        isinstance(j.get("turn"), dict) and \
        j["turn"].get("mode") == "platform" and \
        j["turn"].get("iceTransportPolicy") == "all" and \
        j["turn"].get("servers") == [] and j.get("keys") == [] and \
        isinstance(j.get("created"), int) and \
        abs(j["created"] - time.time()) < 60
    check("admin POST /accounts 201 with the account JSON", good, r.brief())
    expect_error("admin 409 duplicate account",
                 admin(c, "POST", "/accounts", {"name": "adm1"}), 409,
                 "conflict")
    r = admin(c, "GET", "/accounts/adm1")
    check("admin GET /accounts/adm1", r.status == 200 and
          r.json() and r.json().get("name") == "adm1" and
          r.h("Cache-Control") == "no-store", r.brief())
    # HEAD is GET without the body (RFC 9110 9.3.2); it used to be 405.
    r = admin(c, "HEAD", "/accounts/adm1")
    check("admin HEAD /accounts/adm1: 200, JSON headers, no body",
          r.status == 200 and r.body == b"" and
          (r.h("Content-Type") or "").startswith("application/json"), r.brief())
    expect_status = admin(c, "HEAD", "/accounts/no-such-account").status
    check("admin HEAD of an unknown account: 404", expect_status == 404,
          "HTTP %s" % expect_status)
    r = admin(c, "GET", "/accounts")
    names = [a.get("name") for a in (r.json() or {}).get("accounts", [])] \
        if r.status == 200 else []
    check("admin GET /accounts lists every account",
          {"adm1", "acme", "small", "limited", "gone", "rsaco"} <= set(names)
          and r.json().get("next", "absent") is None, r.brief())
    page_cases(c)
    r = admin(c, "PATCH", "/accounts/adm1",
              {"maxTtl": 7200, "status": "disabled"})
    check("admin PATCH 200 reflects the change", r.status == 200 and
          r.json() and r.json().get("maxTtl") == 7200 and
          r.json().get("status") == "disabled" and
          r.json().get("defaultTtl") == 600, r.brief())
    for body, field in (({"maxTtl": -5}, "maxTtl"),
                        ({"maxTtl": 10000000}, "maxTtl"),
                        ({"defaultTtl": 100000}, "defaultTtl"),
                        ({"defaultTtl": "600"}, "defaultTtl"),
                        ({"status": "sleeping"}, "status"),
                        ({"rateLimit": {"perSecond": 5, "burst": 0}},
                         "burst"),
                        ({"rateLimit": {"perSecond": 4294967295,
                                        "burst": 20}}, "perSecond"),
                        ({"rateLimit": {"perSecond": 5,
                                        "burst": 1000001}}, "burst"),
                        ({"issuer": ""}, "issuer")):
        r = admin(c, "PATCH", "/accounts/adm1", body)
        msg = ((r.json() or {}).get("error") or {}).get("message", "") \
            if isinstance(r.json(), dict) else ""
        if expect_error("admin 422 invalid %s" % json.dumps(body), r, 422,
                        "invalid_field"):
            check("admin 422 message names the field %s" % field,
                  field in msg, "message %r" % msg)
    r = admin(c, "POST", "/accounts", {"name": "Bad Name!"})
    expect_error("admin 422 invalid account name", r, 422, "invalid_field")
    r = admin(c, "POST", "/accounts", {"name": "adm2", "colour": "red"})
    expect_error("admin 400 unknown field", r, 400, "bad_request")
    r = admin(c, "PATCH", "/accounts/adm1", {"maxTTL": 600})
    expect_error("admin 400 unknown field (wrong case)", r, 400,
                 "bad_request")
    expect_error("admin 400 malformed JSON",
                 admin(c, "POST", "/accounts", '{"name":'), 400,
                 "bad_request")
    expect_error("admin 415 text/plain",
                 admin(c, "POST", "/accounts", '{"name":"adm3"}',
                       ctype="text/plain"), 415, "unsupported_media_type")
    expect_error("admin 413 body over 64 KiB",
                 admin(c, "POST", "/accounts",
                       '{"name":"adm4","issuer":"%s"}' % ("i" * 70000)),
                 413, "payload_too_large")
    expect_error("admin 404 unknown account",
                 admin(c, "GET", "/accounts/no-such-account"), 404,
                 "not_found")
    expect_error("admin 404 PATCH unknown account",
                 admin(c, "PATCH", "/accounts/no-such-account",
                       {"maxTtl": 600}), 404, "not_found")
    expect_error("admin 405 PUT /accounts",
                 admin(c, "PUT", "/accounts", {}), 405, "method_not_allowed",
                 {"Allow": lambda v: v is not None and "POST" in v})

    ksec = "adm1-secret-" + "k" * 30
    r = admin(c, "POST", "/accounts/adm1/keys",
              {"kid": "adm1-k1", "alg": "HS256", "secret": ksec})
    j = r.json() if r.status == 201 else None
    check("admin key add 201 {kid, alg, created}",
          isinstance(j, dict) and set(j) == {"kid", "alg", "created"} and
          j["kid"] == "adm1-k1" and j["alg"] == "HS256" and
          ksec not in r.body.decode("utf-8", "replace"), r.brief())
    expect_error("admin 409 duplicate kid",
                 admin(c, "POST", "/accounts/adm1/keys",
                       {"kid": "adm1-k1", "alg": "HS256", "secret": ksec}),
                 409, "conflict")
    expect_error("admin 409 kid used by another account",
                 admin(c, "POST", "/accounts/adm1/keys",
                       {"kid": "acme-k1", "alg": "HS256", "secret": ksec}),
                 409, "conflict")
    for body, field in (({"kid": "adm1-k2", "alg": "HS256",
                          "secret": "short"}, "secret"),
                        ({"kid": "adm1-k2", "alg": "none",
                          "secret": ksec}, "alg"),
                        ({"kid": "../x", "alg": "HS256", "secret": ksec},
                         "kid"),
                        ({"kid": "adm1-k2", "alg": "RS256",
                          "publicKey": "not a pem"}, "publicKey"),
                        # the store must never hold a signing key
                        ({"kid": "adm1-k2", "alg": "RS256",
                          "publicKey": open(c.rsa_key).read()},
                         "publicKey")):
        r = admin(c, "POST", "/accounts/adm1/keys", body)
        msg = ((r.json() or {}).get("error") or {}).get("message", "") \
            if isinstance(r.json(), dict) else ""
        if expect_error("admin 422 key with bad %s" % field, r, 422,
                        "invalid_field"):
            check("admin 422 message names %s" % field, field in msg,
                  repr(msg))
    expect_error("admin 400 key with an unknown field",
                 admin(c, "POST", "/accounts/adm1/keys",
                       {"kid": "adm1-k3", "alg": "HS256", "secret": ksec,
                        "use": "sig"}), 400, "bad_request")
    expect_error("admin 404 key for an unknown account",
                 admin(c, "POST", "/accounts/nobody/keys",
                       {"kid": "nobody-k1", "alg": "HS256", "secret": ksec}),
                 404, "not_found")
    r = admin(c, "GET", "/accounts/adm1")
    check("admin GET shows the key without its secret",
          r.status == 200 and [k.get("kid") for k in
                               r.json().get("keys", [])] == ["adm1-k1"] and
          ksec not in r.body.decode("utf-8", "replace"), r.brief())
    # The key works once the account is active again.
    admin(c, "PATCH", "/accounts/adm1", {"status": "active"})
    atok = hs_token("adm1-k1", ksec, claims("https://adm1.example/",
                                            sub="dave"))
    check_ice_ok(c, "200 with a key added through the admin API",
                 ice(c, atok), "adm1", "dave", 600, c.secret)
    # Regression: with maxTtl above the daemon's --rest-max-ttl (86400)
    # the API granted a credential its own TURN side refused with 401.
    admin(c, "PATCH", "/accounts/adm1", {"maxTtl": 604800})
    check_ice_ok(c, "200 ttl 172800 lowered to --rest-max-ttl 86400",
                 ice(c, atok, '{"ttl":172800}', "application/json"),
                 "adm1", "dave", 86400, c.secret)
    admin(c, "PATCH", "/accounts/adm1", {"maxTtl": 7200})
    r = admin(c, "DELETE", "/accounts/adm1/keys/adm1-k1")
    check("admin key delete 204", r.status == 204 and not r.body, r.brief())
    expect_error("401 with the deleted key", ice(c, atok), 401,
                 "invalid_token", {"WWW-Authenticate": INVALID})
    expect_error("admin 404 deleting it again",
                 admin(c, "DELETE", "/accounts/adm1/keys/adm1-k1"), 404,
                 "not_found")

    # Custom TURN URLs are loopback ports where nothing listens: the
    # daemon health-checks every configured URL, and this test sends
    # nothing off the host.
    tsec = "customer-turn-secret-" + "t" * 20
    turn = {"mode": "override", "iceTransportPolicy": "relay",
            "servers": [{"urls": ["turn:127.0.0.1:7?transport=udp"],
                         "secret": tsec},
                        {"urls": ["turn:127.0.0.1:8?transport=tcp"],
                         "username": "u1", "credential": "static-cred-x"}]}
    expect_error("admin turn PUT without the feature: 403 feature_disabled",
                 admin(c, "PUT", "/accounts/adm1/turn", turn), 403,
                 "feature_disabled")
    r = admin(c, "PUT", "/accounts/adm1/turn",
              {"mode": "platform", "iceTransportPolicy": "relay"})
    check("admin turn PUT mode platform is allowed without the feature",
          r.status == 200 and r.json()["turn"]["iceTransportPolicy"] ==
          "relay", r.brief())
    r = admin(c, "PATCH", "/accounts/adm1",
              {"features": {"configurableTurn": True}})
    check("admin PATCH features.configurableTurn", r.status == 200 and
          r.json()["features"] == {"configurableTurn": True}, r.brief())
    r = admin(c, "PUT", "/accounts/adm1/turn", turn)
    text = r.body.decode("utf-8", "replace")
    j = r.json() if r.status == 200 else None
    want_srv = [{"urls": ["turn:127.0.0.1:7?transport=udp"],
                 "secret": "(redacted)"},
                {"urls": ["turn:127.0.0.1:8?transport=tcp"],
                 "username": "u1", "credential": "(redacted)"}]
    check("admin turn PUT 200 with secrets (redacted)",
          isinstance(j, dict) and j["turn"]["mode"] == "override" and
          j["turn"]["servers"] == want_srv and tsec not in text and
          "static-cred-x" not in text, r.brief())
    r = admin(c, "GET", "/accounts/adm1/turn")
    check("admin GET turn never shows secrets", r.status == 200 and
          tsec not in r.body.decode() and "static-cred-x" not in
          r.body.decode(), r.brief())
    r = admin(c, "PUT", "/accounts/adm1/turn", {"mode": "sideways"})
    expect_error("admin 422 turn mode sideways", r, 422, "invalid_field")
    r = admin(c, "PUT", "/accounts/adm1/turn",
              {"mode": "override",
               "servers": [{"urls": ["http://x"], "secret": tsec}]})
    expect_error("admin 422 turn URL scheme", r, 422, "invalid_field")
    r = admin(c, "PUT", "/accounts/adm1/turn",
              {"mode": "override", "servers": [{"urls": ["turn:127.0.0.1:7"]}]})
    expect_error("admin 422 TURN server without credentials", r, 422,
                 "invalid_field")
    turn_policy_cases(c, tsec)
    r = admin(c, "PUT", "/accounts/adm1/turn", {"mode": "override",
                                                "proxy": True})
    expect_error("admin 400 turn unknown field", r, 400, "bad_request")

    r = admin(c, "GET", "/health")
    check("admin GET /health", r.status == 200 and
          isinstance((r.json() or {}).get("servers"), list), r.brief())
    for m in ("POST", "DELETE"):
        expect_error("admin 405 %s /health" % m, admin(c, m, "/health", {}),
                     405, "method_not_allowed", {"Allow": "GET"})
    expect_error("admin 404 GET keys of an unknown account",
                 admin(c, "GET", "/accounts/no-such-account/keys"), 404,
                 "not_found")
    for ct in ("application/jsonx", "application/json-seq"):
        expect_error("admin 415 Content-Type %s" % ct,
                     admin(c, "POST", "/accounts", '{"name":"adm5"}',
                           ctype=ct), 415, "unsupported_media_type")
    r = admin(c, "PATCH", "/accounts/adm1", '{}',
              ctype="Application/JSON; charset=utf-8")
    check("admin JSON with parameters and another case is JSON",
          r.status == 200, r.brief())
    r = admin(c, "DELETE", "/accounts/adm1")
    check("admin DELETE account 204", r.status == 204 and not r.body,
          r.brief())
    expect_error("admin 404 after delete", admin(c, "GET", "/accounts/adm1"),
                 404, "not_found")
    expect_error("admin 404 DELETE again",
                 admin(c, "DELETE", "/accounts/adm1"), 404, "not_found")
    expect_error("admin 404 unknown admin path",
                 admin(c, "GET", "/nothing-here"), 404, "not_found")


def field_error(name, r, field):
    """422 invalid_field whose message names field."""
    if expect_error(name, r, 422, "invalid_field"):
        msg = r.json()["error"]["message"]
        check(name + ": the message names " + field,
              msg.endswith(": " + field), msg)


def turn_policy_cases(c, tsec):
    """PUT .../turn against docs/openapi.yaml (TurnPolicyInput): URLs as
    browsers take them, a whole replacement, the placeholder refused."""
    base = {"mode": "override", "iceTransportPolicy": "relay",
            "servers": [{"urls": ["turn:127.0.0.1:7?transport=udp"],
                         "secret": tsec}]}
    for i, url in enumerate(["turn:u:pw@127.0.0.1:7", "turn:127.0.0.1:99999",
                             "turn:127.0.0.1:7?transport=sctp",
                             "turn:[::1:7", "turns:127.0.0.1:7?transport=udp",
                             "turn://127.0.0.1:7/x",
                             "stun:127.0.0.1:7?transport=udp"]):
        body = json.loads(json.dumps(base))
        body["servers"].append({"urls": ["turn:[::1]:7?transport=tcp", url],
                                "secret": tsec})
        field_error("admin 422 turn URL %r" % url,
                    admin(c, "PUT", "/accounts/adm1/turn", body),
                    "servers[1].urls[1]")
    r = admin(c, "PUT", "/accounts/adm1/turn", base)
    check("admin turn PUT with an IPv6 literal and ?transport", r.status == 200,
          r.brief())
    # A GET's turn object PUT back as is: the placeholder is no secret.
    back = (r.json() or {}).get("turn") if r.status == 200 else None
    field_error("admin 422 turn PUT of a GET's (redacted) secret",
                admin(c, "PUT", "/accounts/adm1/turn", back),
                "servers[0].secret")
    field_error("admin 422 turn override without a server",
                admin(c, "PUT", "/accounts/adm1/turn", {"mode": "override"}),
                "servers")
    field_error("admin 422 turn PUT without mode (required)",
                admin(c, "PUT", "/accounts/adm1/turn",
                      {"servers": base["servers"]}), "mode")
    field_error("admin 422 names the server and url of a bad value",
                admin(c, "PUT", "/accounts/adm1/turn",
                      {"mode": "fallback", "servers": [base["servers"][0],
                                                       {"urls": [7]}]}),
                "servers[1].urls[0]")
    # PUT replaces the policy whole: what is left out is not kept.
    r = admin(c, "PUT", "/accounts/adm1/turn", {"mode": "fallback"})
    t = (r.json() or {}).get("turn") if r.status == 200 else None
    check("admin turn PUT replaces the whole policy (no old servers, "
          "policy all)", t == {"mode": "fallback", "iceTransportPolicy": "all",
                               "servers": []}, r.brief())
    admin(c, "PUT", "/accounts/adm1/turn", base)
    expect_error("admin 409 turning configurableTurn off while the policy "
                 "uses it", admin(c, "PATCH", "/accounts/adm1",
                                  {"features": {"configurableTurn": False}}),
                 409, "conflict")
    r = admin(c, "GET", "/accounts/adm1")
    check("the refused PATCH changed nothing",
          r.status == 200 and r.json()["features"]["configurableTurn"] and
          r.json()["turn"]["mode"] == "override", r.brief())


def compose_cases(c):
    """Modes and the answer's composition, at the API level (the Chromium
    test connects through them). Custom servers: loopback ports where
    nothing listens (never contacted except by the health checker)."""
    ksec = "many-secret-" + "m" * 30
    r1 = admin(c, "POST", "/accounts",
               {"name": "many", "features": {"configurableTurn": True}})
    r2 = admin(c, "POST", "/accounts/many/keys",
               {"kid": "many-k1", "alg": "HS256", "secret": ksec})
    if not check("admin creates account many with configurableTurn",
                 r1.status == 201 and r2.status == 201,
                 r1.brief() + " / " + r2.brief()):
        return
    sec1, sec4 = "custom-one-" + "1" * 20, "custom-four-" + "4" * 20
    servers = [
        {"urls": ["turn:127.0.0.1:1?transport=udp",
                  "turn:127.0.0.1:1?transport=tcp"], "secret": sec1},
        {"urls": ["turn:127.0.0.1:2?transport=udp"], "username": "static-u",
         "credential": "static-c"},
        {"urls": ["stun:127.0.0.1:3", "turn:127.0.0.1:3?transport=udp"],
         "secret": sec1},
        {"urls": ["turn:127.0.0.1:4?transport=tcp"], "secret": sec4}]
    plat = ":%d" % c.turn
    tok = hs_token("many-k1", ksec, claims("many", sub="erin"))

    def first_udp(urls, name, before):
        # docs/api.md: "TURN over UDP from each server goes in first" (the
        # custom servers were just configured: none has failed 3 checks).
        want = before + [u for sv in servers for u in sv["urls"][:2]
                         if u.startswith("turn:") and "transport=tcp" not in u]
        missing = [u for u in want if u not in urls]
        check("%s: each server's TURN/UDP URL is in the answer before any "
              "server's second URL" % name, not missing,
              "missing %s; got %s" % (missing, urls))

    def answer(turn, name):
        r = admin(c, "PUT", "/accounts/many/turn", turn)
        if not check("admin PUT turn %s" % name, r.status == 200, r.brief()):
            return None
        r = ice(c, tok, '{"ttl":900}', "application/json")
        j = check_ice_ok(c, "200 %s" % name, r, "many", "erin", 900,
                         policy=turn.get("iceTransportPolicy", "all"),
                         static_users=("static-u",))
        if not j:
            return None
        for e in j["iceServers"]:
            host = ([u for u in e["urls"] if u.startswith("turn")] or
                    e["urls"])[0]
            want_sec = c.secret if plat in host else \
                sec4 if ":4?" in host else sec1
            if ":2?" in host:
                check("%s: static credentials as stored" % name,
                      e.get("username") == "static-u" and
                      e.get("credential") == "static-c", json.dumps(e))
            elif any(u.startswith("turn") for u in e["urls"]):
                check("%s: %s has REST credentials from its own secret"
                      % (name, host),
                      e.get("credential") == rest_cred(want_sec,
                                                       e.get("username", "")),
                      json.dumps(e))
        return [u for e in j["iceServers"] for u in e["urls"]]

    urls = answer({"mode": "fallback", "iceTransportPolicy": "all",
                   "servers": servers}, "fallback")
    if urls is not None:
        note("fallback URLs: %s" % urls)
        check("fallback: the platform's TURN/UDP URL comes first",
              urls and urls[0] == "turn:127.0.0.1:%d?transport=udp" % c.turn,
              str(urls))
        check("fallback: the account's servers follow",
              any(":1?" in u for u in urls), str(urls))
        check("fallback: at most 4 URLs (Firefox warns at 5)",
              len(urls) <= 4, str(urls))
        first_udp(urls, "fallback", ["turn:127.0.0.1:%d?transport=udp"
                                     % c.turn])
    urls = answer({"mode": "override", "iceTransportPolicy": "relay",
                   "servers": servers}, "override relay")
    if urls is not None:
        check("override: no platform URL", not any(plat in u for u in urls),
              str(urls))
        check("override: at most 4 URLs", len(urls) <= 4, str(urls))
        first_udp(urls, "override", [])
    urls = answer({"mode": "platform", "iceTransportPolicy": "all",
                   "servers": []}, "platform")
    if urls is not None:
        check("platform: only platform URLs",
              urls and all(plat in u for u in urls), str(urls))
    r = admin(c, "DELETE", "/accounts/many")
    check("admin DELETE account many", r.status == 204, r.brief())


def public_cases(c):
    r = req(c.api, "GET", "/v1/ip-ranges")
    j = r.json() if r.status == 200 else None
    et = r.h("ETag")
    want = {"servers": [{"ip": "127.0.0.1",
                         "ports": [{"port": c.turn, "transport": "udp"},
                                   {"port": c.turn, "transport": "tcp"}]}],
            "relayPorts": {"min": c.rmin, "max": c.rmax}}
    got = None
    if isinstance(j, dict):
        got = {"servers": [{"ip": s.get("ip"),
                            "ports": list(s.get("ports", []))}
                           for s in j.get("servers", [])],
               "relayPorts": j.get("relayPorts")}
        # Duplicates are a separate check below.
        for s in got["servers"]:
            uniq = []
            for p in s["ports"]:
                if p not in uniq:
                    uniq.append(p)
            s["ports"] = uniq
    check("GET /v1/ip-ranges lists the listener and relay range",
          got == want, r.brief())
    dup = [s.get("ip") for s in (j or {}).get("servers", [])
           if len(s.get("ports", [])) != len({json.dumps(p, sort_keys=True)
                                              for p in s.get("ports", [])})]
    check("GET /v1/ip-ranges lists each port/transport once", not dup,
          r.brief())
    check("GET /v1/ip-ranges has a quoted ETag",
          et is not None and re.fullmatch(r'(W/)?"[^"]+"', et), repr(et))
    r2 = req(c.api, "GET", "/v1/ip-ranges", None, {"If-None-Match": et or ""})
    check("GET /v1/ip-ranges If-None-Match -> 304 with no body",
          r2.status == 304 and not r2.body and r2.h("ETag") == et,
          r2.brief())
    r3 = req(c.api, "GET", "/v1/ip-ranges", None,
              {"If-None-Match": '"0000000000000000"'})
    check("GET /v1/ip-ranges with another tag -> 200", r3.status == 200,
          r3.brief())
    r = req(c.api, "GET", "/healthz")
    check("GET /healthz 200 {status: ok, store: ok}",
          r.status == 200 and r.json() == {"status": "ok", "store": "ok"} and
          r.h("Cache-Control") == "no-store", r.brief())
    r = req(c.api, "GET", "/demo")
    check("GET /demo is the HTML page", r.status == 200 and
          (r.h("Content-Type") or "").startswith("text/html") and
          b"turnstoneDemo" in r.body, r.brief()[:120])
    r = req(c.api, "GET", "/demo/turnstone.js")
    check("GET /demo/turnstone.js", r.status == 200 and
          (r.h("Content-Type") or "").startswith("text/javascript") and
          b"getIceServers" in r.body, r.brief()[:120])


def metrics_cases(c):
    r = req(c.api, "GET", "/metrics")
    text = r.body.decode("utf-8", "replace")
    check("GET /metrics text/plain; version=0.0.4", r.status == 200 and
          (r.h("Content-Type") or "").startswith(
              "text/plain; version=0.0.4"), r.brief()[:200])

    def val(pat):
        m = re.search(r"^%s (\d+(?:\.\d+)?)$" % re.escape(pat), text, re.M)
        return float(m.group(1)) if m else None

    for st in ("200", "401", "400", "404", "429"):
        v = val('turnstone_api_requests_total{status="%s"}' % st)
        check("metrics turnstone_api_requests_total{status=\"%s\"} > 0" % st,
              v is not None and v > 0, repr(v))
    for reason in ("expired", "signature", "alg", "kid", "audience",
                   "issuer", "too_long", "malformed", "lifetime"):
        v = val('turnstone_api_tokens_rejected_total{reason="%s"}' % reason)
        check("metrics tokens_rejected_total{reason=\"%s\"} > 0" % reason,
              v is not None and v > 0, repr(v))
    check("metrics has the latency histogram",
          'turnstone_api_request_duration_seconds_bucket{le="+Inf"}' in text)
    # account_state_cases hit the account's limit, user_limit_cases the
    # user's; test_api_proxy.sh checks the per-IP one.
    for lim in ("account", "user"):
        v = val('turnstone_api_rate_limited_total{limit="%s"}' % lim)
        check("metrics rate_limited_total{limit=\"%s\"} > 0" % lim,
              v is not None and v > 0, repr(v))
    check("metrics rate_limited_total{limit=\"ip\"} present",
          val('turnstone_api_rate_limited_total{limit="ip"}') is not None)


def main_cases(a):
    c = Ctx()
    c.api, c.turn, c.secret, c.admin = a.api_port, a.turn_port, a.secret, \
        a.admin_token
    c.bin, c.db, c.tmp = a.bin, a.db, a.tmp
    c.rmin, c.rmax = a.relay_min, a.relay_max
    c.acme_secret = a.acme_secret
    c.small_secret = a.small_secret
    c.limited_secret = a.limited_secret
    c.gone_secret = a.gone_secret
    # An RSA key pair and an account using it, through the admin API.
    c.rsa_key = os.path.join(c.tmp, "rsa.pem")
    c.rsa_other = os.path.join(c.tmp, "rsa-other.pem")
    pub = os.path.join(c.tmp, "rsa.pub.pem")
    for f in (c.rsa_key, c.rsa_other):
        rc, _, err = run(["openssl", "genpkey", "-algorithm", "RSA",
                          "-pkeyopt", "rsa_keygen_bits:2048", "-out", f])
        if rc:
            fail("openssl genpkey", err)
            return
    rc, _, err = run(["openssl", "pkey", "-in", c.rsa_key, "-pubout",
                      "-out", pub])
    if rc:
        fail("openssl pkey -pubout", err)
        return
    with open(pub, "rb") as f:
        c.rsa_pub = f.read()
    c.rsa_kid = "rsaco-k1"
    r = admin(c, "POST", "/accounts", {"name": "rsaco"})
    check("admin creates account rsaco", r.status == 201, r.brief())
    r = admin(c, "POST", "/accounts/rsaco/keys",
              {"kid": c.rsa_kid, "alg": "RS256",
               "publicKey": c.rsa_pub.decode()})
    check("admin adds RS256 key rsaco-k1 (PEM public key)", r.status == 201,
          r.brief())

    import field_cases  # it imports this module: not at the top
    run_parts(c, (success_cases, jwt_cases, body_cases, http_cases,
                  account_state_cases, user_limit_cases, admin_cases,
                  field_cases.field_cases, compose_cases, public_cases,
                  metrics_cases))


# --------------------------------------------------- helper subcommands

def cmd_mint(a):
    print(hs_token(a.kid, a.key_secret, claims(a.iss, sub=a.sub, ttl=a.ttl)))


def cmd_wait_http(a):
    port = int(re.match(r"http://127\.0\.0\.1:(\d+)", a.url).group(1))
    path = re.sub(r"^http://[^/]+", "", a.url) or "/"
    end = time.monotonic() + a.timeout
    while time.monotonic() < end:
        r = req(port, "GET", path, timeout=2)
        if r.status == a.status:
            return 0
        time.sleep(0.2)
    print("no HTTP %d from %s within %s s" % (a.status, a.url, a.timeout),
          file=sys.stderr)
    return 1


def cmd_load(a):
    """Create accounts and keys until the daemon disappears or max."""
    n = 0
    c = Ctx()
    c.api, c.admin = a.api_port, a.admin_token
    fails = 0
    with open(a.out, "a", buffering=1) as out:
        for i in range(a.max):
            name = "%s%d" % (a.prefix, i)
            r = admin(c, "POST", "/accounts", {"name": name})
            if r.status == 0:
                break
            if r.status != 201:
                fails += 1
                print("create %s: %s" % (name, r.brief()), file=sys.stderr)
                if fails > 5:
                    return 1
                continue
            out.write("account %s\n" % name)
            out.flush()
            os.fsync(out.fileno())
            kid = name + "-k"
            r = admin(c, "POST", "/accounts/%s/keys" % name,
                      {"kid": kid, "alg": "HS256",
                       "secret": "durable-secret-%s-%s" % (name, "s" * 24)})
            if r.status == 0:
                break
            if r.status == 201:
                out.write("key %s %s\n" % (name, kid))
                out.flush()
                os.fsync(out.fileno())
            n += 1
    print("acknowledged %d accounts" % n, file=sys.stderr)
    return 0


def cmd_verify(a):
    global check
    plain = check

    def check(name, cond, detail=""):  # noqa: F811 - prefix the round
        return plain("%s: %s" % (a.label, name) if a.label else name, cond,
                     detail)
    c = Ctx()
    c.api, c.admin = a.api_port, a.admin_token
    accts, keys = [], []
    with open(a.acks) as f:
        for ln in f:
            p = ln.split()
            if p and p[0] == "account":
                accts.append(p[1])
            elif p and p[0] == "key":
                keys.append((p[1], p[2]))
    check("the load acknowledged some accounts before the kill",
          len(accts) >= 5, "%d accounts, %d keys" % (len(accts), len(keys)))
    # Pages of the default 100, walked through "next".
    pages, err = admin_pages(c)
    names = check_walk("admin GET /accounts pages of 100, in order", pages,
                       err, 100)
    listed = {x["name"]: x for p in pages for x in p["accounts"]}
    missing = [n for n in accts if n not in listed]
    check("admin GET /accounts lists all %d acknowledged accounts"
          % len(accts), not err and not missing and
          len(names) == len(listed),
          "%d of %d missing: %s | %s" % (len(missing), len(accts),
                                          missing[:10], err))
    bad = []
    for n in accts:
        r = admin(c, "GET", "/accounts/" + n)
        if r.status != 200 or (r.json() or {}).get("name") != n:
            bad.append("%s: %s" % (n, r.brief()[:80]))
    check("admin GET /accounts/NAME 200 for every acknowledged account",
          not bad, "; ".join(bad[:5]))
    kbad = []
    for n, kid in keys:
        kids = [k.get("kid") for k in listed.get(n, {}).get("keys", [])]
        if kid not in kids:
            kbad.append("%s/%s" % (n, kid))
    check("every acknowledged key (%d) is there" % len(keys), not kbad,
          "%d missing: %s" % (len(kbad), kbad[:10]))
    rc, out, err = run([a.bin, "account", "list", "--db", a.db])
    rows = {}
    for ln in out.splitlines():
        f = ln.split("\t")
        if len(f) >= 4:
            rows[f[0]] = f
    cmiss = [n for n in accts if n not in rows]
    check("turnstone account list shows every acknowledged account",
          rc == 0 and not cmiss, "exit %d %s; %d missing: %s"
          % (rc, err, len(cmiss), cmiss[:10]))
    nkeys = {}
    for n, _ in keys:
        nkeys[n] = nkeys.get(n, 0) + 1
    kmiss = [n for n, k in nkeys.items()
             if n in rows and int(rows[n][3]) < k]
    check("turnstone account list counts every acknowledged key",
          rc == 0 and not kmiss, "short %s" % kmiss[:10])
    # And a token for the last acknowledged key works after the restart.
    if keys:
        n, kid = keys[-1]
        tok = hs_token(kid, "durable-secret-%s-%s" % (n, "s" * 24),
                       claims(n))
        r = req(a.api_port, "POST", "/v1/ice-servers", None, bearer(tok))
        check("200 for the last acknowledged key after the restart",
              r.status == 200, r.brief())
    return 1 if FAILED else 0


def cmd_store_down(a):
    port = a.api_port
    r = poll(lambda: (lambda x: x if x.status == 503 else None)(
        req(port, "POST", "/v1/ice-servers", None, bearer(a.token))), 3.5)
    r = r or req(port, "POST", "/v1/ice-servers", None, bearer(a.token))
    expect_error("503 store_unavailable from POST /v1/ice-servers within "
                 "3.5 s", r, 503, "store_unavailable", cors=True)
    r = req(port, "GET", "/healthz")
    check("GET /healthz 503 {status: degraded, store: unavailable}",
          r.status == 503 and
          r.json() == {"status": "degraded", "store": "unavailable"},
          r.brief())
    r = req(port, "GET", "/v1/admin/accounts", None,
             {"Authorization": "Bearer " + a.admin_token})
    expect_error("admin API 503 store_unavailable", r, 503,
                 "store_unavailable")
    r = req(port, "GET", "/metrics")
    check("metrics turnstone_api_store_up 0",
          re.search(rb"^turnstone_api_store_up 0$", r.body, re.M),
          r.brief()[:200])
    for tr in ("udp", "tcp"):
        rc, out, err = run([a.bin, "probe",
                            "turn:127.0.0.1:%d?transport=%s" % (a.turn_port,
                                                                tr),
                            "--secret", a.secret, "--count", "3"],
                           timeout=30)
        check("TURN still allocates and relays over %s with the store down"
              % tr, rc == 0, "exit %d %s %s" % (rc, out[-200:], err[-200:]))
    r = req(port, "POST", "/v1/ice-servers", None, bearer(a.token))
    expect_error("503 persists while the file stays corrupt", r, 503,
                 "store_unavailable", cors=True)
    return 1 if FAILED else 0


def ice_urls(port, tok):
    r = req(port, "POST", "/v1/ice-servers", None, bearer(tok))
    if r.status != 200 or not isinstance(r.json(), dict):
        return None, r
    return [u for e in r.json().get("iceServers", [])
            for u in e.get("urls", [])], r


def cmd_wait_ice(a):
    last = [None]

    def good():
        urls, r = ice_urls(a.api_port, a.token)
        last[0] = (urls, r)
        return urls is not None and any(a.want in u for u in urls) and \
            not (a.absent and any(a.absent in u for u in urls))
    if poll(good, a.timeout, 0.3):
        print("ice servers: %s" % last[0][0])
        return 0
    urls, r = last[0]
    print("ice servers never matched: %s %s" % (urls, r.brief()),
          file=sys.stderr)
    return 1


def cmd_wait_health(a):
    want = bool(a.healthy)
    last = [None]

    def good():
        r = req(a.api_port, "GET", "/v1/admin/health", None,
                 {"Authorization": "Bearer " + a.admin_token})
        last[0] = r
        for s in (r.json() or {}).get("servers", []) if r.status == 200 \
                else []:
            if s.get("url") == a.url and s.get("healthy") is want and \
                    (not want or s.get("checked", True)):
                return s
        return None
    s = poll(good, a.timeout, 0.3)
    if s:
        print("health: %s" % json.dumps(s))
        return 0
    print("%s never became healthy=%s: %s" % (a.url, want,
                                              last[0].brief()),
          file=sys.stderr)
    return 1


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def cmd(name, ints=(), strs=(), **optional):
        """A subcommand: required --ints (integers) and --strs, then the
        optional ones (keyword_name=default, typed by the default)."""
        s = sub.add_parser(name)
        for k in ints:
            s.add_argument("--" + k, type=int, required=True)
        for k in strs:
            s.add_argument("--" + k, required=True)
        for k, v in optional.items():
            s.add_argument("--" + k.replace("_", "-"), type=type(v), default=v)
        return s
    cmd("cases", ("api-port", "turn-port", "relay-min", "relay-max"),
        ("secret", "admin-token", "bin", "db", "tmp", "acme-secret",
         "small-secret", "limited-secret", "gone-secret"))
    cmd("mint", (), ("kid", "key-secret", "iss"), sub="alice", ttl=3600)
    s = cmd("wait-http")
    s.add_argument("url")
    s.add_argument("timeout", type=float)
    s.add_argument("status", type=int, nargs="?", default=200)
    cmd("load", ("api-port",), ("admin-token", "out", "prefix"), max=5000)
    cmd("verify", ("api-port",), ("admin-token", "acks", "bin", "db"),
        label="")
    cmd("store-down", ("api-port", "turn-port"),
        ("admin-token", "token", "secret", "bin"))
    cmd("wait-ice", ("api-port",), ("token", "want"), absent="",
        timeout=10.0)
    cmd("wait-health", ("api-port", "healthy"), ("admin-token", "url"),
        timeout=20.0)
    a = p.parse_args(argv)
    if a.cmd == "cases":
        main_cases(a)
        print("%s" % ("all API cases passed" if not FAILED
                      else "%d API checks failed" % FAILED))
        return 1 if FAILED else 0
    return {"mint": cmd_mint, "wait-http": cmd_wait_http, "load": cmd_load,
            "verify": cmd_verify, "store-down": cmd_store_down,
            "wait-ice": cmd_wait_ice,
            "wait-health": cmd_wait_health}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
