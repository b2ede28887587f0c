"""Refused JSON bodies name the key by its whole path, at every nesting
level, and change nothing (docs/api.md, Errors). Run by api_cases.py's
`cases` as one of its parts, on the same daemon.

A review found that an unknown key inside an account's features or
rateLimit got a 422 naming another field (features.configurableTurn,
rateLimit); a server's unknown key was named without its server
(urlz), and a key's other material was ignored when it was not a
string (publicKey: null beside an HS256 secret).
"""
import json

import api_cases as ac
from api_cases import admin, check

ACCOUNT = "fld1"
TSEC = "field-cases-turn-secret-" + "t" * 16


def refused(name, r, status, code, want):
    """The JSON error, with a message that ends in want."""
    if ac.expect_error(name, r, status, code):
        msg = r.json()["error"]["message"]
        check(name + ": the message names " + want, msg.endswith(want), msg)


def unknown(name, r, path):
    refused(name, r, 400, "bad_request", "unknown field: " + path)


def invalid(name, r, path):
    refused(name, r, 422, "invalid_field", "invalid field: " + path)


def snapshot(c):
    r = admin(c, "GET", "/accounts/" + ACCOUNT)
    return r.json() if r.status == 200 else None


def unchanged(name, c, before):
    after = snapshot(c)
    check(name + ": nothing stored changed", before is not None and
          after == before, "before %s after %s" % (json.dumps(before),
                                                   json.dumps(after)))


def patch_cases(c):
    """PATCH: each body has a good change first, so a partial apply
    would show in the account."""
    good = {"defaultTtl": 3600, "status": "disabled"}
    for inner, path in ((("features", {"fooBar": True}), "features.fooBar"),
                        (("features", {"configurableTurn": False,
                                       "fooBar": 1}), "features.fooBar"),
                        (("rateLimit", {"perSec": 5}), "rateLimit.perSec"),
                        (("rateLimit", {"perSecond": 5, "brust": 9}),
                         "rateLimit.brust"),
                        (("userRateLimit", {"burst": 5, "x": None}),
                         "userRateLimit.x"),
                        (("turn", {"mode": "platform"}), "turn")):
        before = snapshot(c)
        body = dict(good)
        body[inner[0]] = inner[1]
        unknown("PATCH unknown %s: 400" % path,
                admin(c, "PATCH", "/accounts/" + ACCOUNT, body), path)
        unchanged("PATCH unknown %s" % path, c, before)
    for key, val, path in (("features", "on", "features"),
                           ("features", [True], "features"),
                           ("features", None, "features"),
                           ("features", {"configurableTurn": 1},
                            "features.configurableTurn"),
                           ("rateLimit", 5, "rateLimit"),
                           ("rateLimit", [5, 10], "rateLimit"),
                           ("rateLimit", {"perSecond": True},
                            "rateLimit.perSecond"),
                           ("rateLimit", {"burst": "9"}, "rateLimit.burst"),
                           ("userRateLimit", {"perSecond": -1},
                            "userRateLimit.perSecond"),
                           ("userRateLimit", {"burst": 1000001},
                            "userRateLimit.burst"),
                           ("maxTtl", True, "maxTtl"),
                           ("defaultTtl", None, "defaultTtl")):
        before = snapshot(c)
        body = dict(good)
        body[key] = val
        invalid("PATCH %s %s: 422" % (key, json.dumps(val)),
                admin(c, "PATCH", "/accounts/" + ACCOUNT, body), path)
        unchanged("PATCH %s %s" % (key, json.dumps(val)), c, before)
    before = snapshot(c)
    r = admin(c, "PATCH", "/accounts/" + ACCOUNT,
              '{"defaultTtl":3600,"rateLimit":{"perSecond":1,"perSecond":2}}')
    refused("PATCH with a duplicate nested key: 400", r, 400, "bad_request",
            "duplicate object key near '\"perSecond\"'")
    unchanged("PATCH with a duplicate nested key", c, before)
    r = admin(c, "PATCH", "/accounts/" + ACCOUNT,
              {"features": {}, "rateLimit": {}, "userRateLimit": {}})
    check("PATCH with empty objects: 200, nothing changed",
          r.status == 200 and r.json() == before, r.brief())


def turn_cases(c):
    srv = {"urls": ["turn:127.0.0.1:7?transport=udp"], "secret": TSEC}
    base = {"mode": "fallback", "servers": [srv]}
    r = admin(c, "PUT", "/accounts/%s/turn" % ACCOUNT, base)
    check("PUT turn fallback with one server", r.status == 200, r.brief())
    bad = [({"mode": "override", "servers": [srv, {"urlz": srv["urls"],
                                                   "secret": TSEC}]},
            400, "servers[1].urlz"),
           ({"mode": "override", "servers": [dict(srv, password="x")]},
            400, "servers[0].password"),
           ({"mode": "override", "proxy": True}, 400, "proxy"),
           ({"mode": "override", "servers": [srv, "turn:127.0.0.1:8"]},
            422, "servers[1]"),
           ({"mode": "override", "servers": [{"urls": [srv["urls"][0], 7],
                                              "secret": TSEC}]},
            422, "servers[0].urls[1]"),
           ({"mode": "override", "servers": [{"urls": "turn:127.0.0.1:7",
                                              "secret": TSEC}]},
            422, "servers[0].urls"),
           ({"mode": "override", "servers": [dict(srv, secret=None)]},
            422, "servers[0].secret"),
           ({"mode": "override", "iceTransportPolicy": True}, 422,
            "iceTransportPolicy"),
           ({"mode": "override", "servers": {}}, 422, "servers")]
    for body, status, path in bad:
        before = snapshot(c)
        r = admin(c, "PUT", "/accounts/%s/turn" % ACCOUNT, body)
        (unknown if status == 400 else invalid)(
            "PUT turn %s: %d" % (path, status), r, path)
        unchanged("PUT turn %s" % path, c, before)
    before = snapshot(c)
    r = admin(c, "PUT", "/accounts/%s/turn" % ACCOUNT,
              '{"mode":"override","servers":[{"urls":["turn:127.0.0.1:7"],'
              '"secret":"%s","secret":"%s"}]}' % (TSEC, TSEC))
    refused("PUT turn with a duplicate key in a server: 400", r, 400,
            "bad_request", "duplicate object key near '\"secret\"'")
    unchanged("PUT turn with a duplicate key in a server", c, before)


def create_cases(c):
    for body, status, path in (
            ({"name": "fld2", "rateLimit": {"perSec": 5}}, 400,
             "rateLimit.perSec"),
            ({"name": "fld2", "features": {"configurableTurn": True,
                                           "fooBar": True}}, 400,
             "features.fooBar"),
            ({"name": "fld2", "userRateLimit": {"burst": None}}, 422,
             "userRateLimit.burst")):
        r = admin(c, "POST", "/accounts", body)
        (unknown if status == 400 else invalid)(
            "POST /accounts %s: %d" % (path, status), r, path)
        r = admin(c, "GET", "/accounts/fld2")
        check("POST /accounts %s created nothing" % path, r.status == 404,
              r.brief())


def key_cases(c):
    ksec = "field-cases-key-secret-" + "k" * 20
    for body, path in (({"kid": "fld1-k1", "alg": "HS256", "secret": ksec,
                         "publicKey": None}, "publicKey"),
                       ({"kid": "fld1-k1", "alg": "HS256", "secret": ksec,
                         "publicKey": 7}, "publicKey"),
                       ({"kid": "fld1-k1", "alg": "RS256",
                         "publicKey": c.rsa_pub.decode(), "secret": None},
                        "secret"),
                       ({"kid": 7, "alg": "HS256", "secret": ksec}, "kid")):
        invalid("POST key with %s %s: 422" % (path, json.dumps(body[path])),
                admin(c, "POST", "/accounts/%s/keys" % ACCOUNT, body), path)
    r = admin(c, "GET", "/accounts/%s/keys" % ACCOUNT)
    check("the refused keys were not added", r.status == 200 and
          r.json() == {"keys": []}, r.brief())


def shape_cases(c):
    """A JSON array for a body: 400, as on /v1/ice-servers and .../blocks
    (accounts, keys and turn answered 422 "body"). jansson itself refuses
    a scalar ('[' or '{' expected)."""
    before = snapshot(c)
    for method, path, body in (("POST", "/accounts", "[]"),
                               ("PATCH", "/accounts/" + ACCOUNT,
                                '[{"maxTtl":600}]'),
                               ("PUT", "/accounts/%s/turn" % ACCOUNT,
                                '[{"mode":"platform"}]'),
                               ("POST", "/accounts/%s/keys" % ACCOUNT,
                                "[{}]")):
        refused("%s %s %s: 400" % (method, path, body),
                admin(c, method, path, body), 400, "bad_request",
                "body must be a JSON object")
    unchanged("bodies that are no object", c, before)


def ttl_cases(c):
    tok = ac.hs_token("acme-k1", c.acme_secret, ac.claims("acme"))
    for body, want in (('{"ttl":600,"tll":5}', ": tll"),
                       ('{"ttl":1,"ttl":2}',
                        "duplicate object key near '\"ttl\"'")):
        refused("POST /v1/ice-servers %s: 400 naming it" % body,
                ac.ice(c, tok, body, "application/json"), 400, "bad_request",
                want)


def field_cases(c):
    r = admin(c, "POST", "/accounts", {"name": ACCOUNT,
                                       "features": {"configurableTurn": True}})
    if not check("create account %s" % ACCOUNT, r.status == 201, r.brief()):
        return
    for part in (patch_cases, turn_cases, create_cases, key_cases,
                 shape_cases, ttl_cases):
        ac.note("-- field_cases.%s" % part.__name__)
        part(c)
    r = admin(c, "DELETE", "/accounts/" + ACCOUNT)
    check("delete account %s" % ACCOUNT, r.status == 204, r.brief())
