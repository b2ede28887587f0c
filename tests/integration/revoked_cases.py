#!/usr/bin/env python3
"""revoked-from across two daemons (test_revoked_from.sh): node A runs
the API and its store, node B only TURN with the same shared secret and
revoked-from pointing at A's GET /v1/revoked. Blocks and disabled
accounts made on A reach B within its poll interval; the endpoint's own
authentication (a TURN REST credential of the shared secret, in HTTP
Basic) and its ETag.

    revoked_cases.py cases --api-port P --b-port T --admin-token A
                     --secret S --acme-secret K
    revoked_cases.py down --b-port T --secret S
"""
import argparse
import base64
import sys
import time

import api_cases as ac
import block_cases as bc
import turnclient as tc
from api_cases import check, fail, note, poll


def basic(user, password):
    raw = ("%s:%s" % (user, password)).encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def revoked(c, headers):
    return ac.req(c.api, "GET", "/v1/revoked", None, headers)


def endpoint_cases(c):
    user = tc.rest_username("probe", ttl=60)
    good = basic(user, tc.rest_password(c.secret, user))
    r = revoked(c, good)
    j = r.json() if r.status == 200 else None
    check("GET /v1/revoked with a REST credential of the secret: 200",
          isinstance(j, dict) and set(j) == {"users", "accounts"} and
          r.h("ETag"), r.brief())
    r2 = revoked(c, dict(good, **{"If-None-Match": r.h("ETag") or "x"}))
    check("the same ETag again: 304", r2.status == 304, r2.brief())
    r3 = ac.admin(c, "POST", "/accounts", {"name": "unrelated"})
    r4 = revoked(c, dict(good, **{"If-None-Match": r.h("ETag") or "x"}))
    check("after a change that blocks no one (an account created): 304",
          r3.status == 201 and r4.status == 304, r4.brief())
    r5 = ac.admin(c, "POST", "/accounts/unrelated/blocks", {"sub": "zed"})
    r6 = revoked(c, dict(good, **{"If-None-Match": r.h("ETag") or "x"}))
    check("after a block: 200, a new ETag, the user listed",
          r5.status == 201 and r6.status == 200 and
          r6.h("ETag") != r.h("ETag") and
          "unrelated:zed" in r6.json().get("users", []), r6.brief())
    ac.admin(c, "DELETE", "/accounts/unrelated")
    ac.expect_error("no Authorization: 401", revoked(c, {}), 401,
                    "invalid_token", {"WWW-Authenticate":
                                      'Basic realm="turnstone"'})
    ac.expect_error("another secret: 401", revoked(
        c, basic(user, tc.rest_password("not-the-secret", user))), 401,
        "invalid_token")
    old = tc.rest_username("probe", ttl=-120)
    ac.expect_error("an expired credential: 401", revoked(
        c, basic(old, tc.rest_password(c.secret, old))), 401,
        "invalid_token")
    far = tc.rest_username("probe", ttl=600)
    ac.expect_error("one that lives 10 minutes (a poll's lives one): 401",
                    revoked(c, basic(far, tc.rest_password(c.secret, far))),
                    401, "invalid_token")
    # The API mints "<expiry>:acme:eve" with the same platform secret for
    # every end user: those must not list other customers' blocked users.
    ue, pe = bc.mint(c, "eve")
    if ue:
        ac.expect_error("an end user's credential from POST /v1/ice-servers:"
                        " 401", revoked(c, basic(ue, pe)), 401,
                        "invalid_token")
    ac.expect_error("garbage Basic: 401", revoked(
        c, {"Authorization": "Basic !!!"}), 401, "invalid_token")
    ac.expect_error("POST /v1/revoked: 405", ac.req(
        c.api, "POST", "/v1/revoked", "{}", good), 405, "method_not_allowed")


def b_client(c, user, cred):
    cl = tc.Client(("127.0.0.1", c.bport), timeout=2.0)
    cl.set_user(user, cred)
    return cl


def fleet_cases(c):
    ua, pa = bc.mint(c, "alice")
    if not ua:
        return
    cb = b_client(c, ua, pa)
    m = cb.allocate()
    if not check("alice allocates on node B with A's credential",
                 m.cls == tc.SUCCESS, m.describe()):
        return
    r = ac.admin(c, "POST", "/accounts/acme/blocks", {"sub": "alice"})
    check("A blocks alice", r.status == 201, r.brief())
    t0 = time.monotonic()
    m = bc.refresh_until(cb, 403, 6)
    bc.refused_403("node B ends alice's allocation within 6 s (interval "
                   "1 s)", m)
    note("B refused after %.1f s" % (time.monotonic() - t0))
    cb.close()
    r = ac.admin(c, "DELETE", "/accounts/acme/blocks/alice")
    cn = b_client(c, ua, pa)
    m = poll(lambda: (lambda x: x if x.cls == tc.SUCCESS else None)(
        cn.allocate()), 6, 0.3)
    check("unblocked on A: alice allocates on B again within 6 s",
          m is not None)
    cn.close()
    ub, pb = bc.mint(c, "bob")
    cb = b_client(c, ub, pb)
    check("bob allocates on B", cb.allocate().cls == tc.SUCCESS)
    r = ac.admin(c, "PATCH", "/accounts/acme", {"status": "disabled"})
    check("A disables account acme", r.status == 200, r.brief())
    bc.refused_403("node B ends bob's allocation within 6 s",
                   bc.refresh_until(cb, 403, 6))
    cb.close()
    r = ac.admin(c, "PATCH", "/accounts/acme", {"status": "active"})
    check("A enables account acme", r.status == 200, r.brief())
    cn = b_client(c, ub, pb)
    m = poll(lambda: (lambda x: x if x.cls == tc.SUCCESS else None)(
        cn.allocate()), 6, 0.3)
    check("enabled on A: bob allocates on B again within 6 s", m is not None)
    cn.close()
    # Left blocked for the test's last part, with A stopped.
    r = ac.admin(c, "POST", "/accounts/acme/blocks", {"sub": "mallory"})
    check("A blocks mallory", r.status == 201, r.brief())
    cl = tc.Client(("127.0.0.1", c.bport), timeout=2.0)
    cl.set_rest_creds(c.secret, "acme:mallory")
    m = poll(lambda: (lambda x: x if x.code() == 403 else None)(
        cl.allocate()), 6, 0.3)
    cl.close()
    check("B refuses mallory before A goes down", m is not None)


def cmd_down(a):
    """With A stopped: B keeps the last list (mallory stays refused) and
    still serves the others."""
    cl = tc.Client(("127.0.0.1", a.b_port), timeout=2.0)
    cl.set_rest_creds(a.secret, "acme:mallory")
    m = cl.allocate()
    cl.close()
    bc.refused_403("with A down, B still refuses mallory", m)
    cl = tc.Client(("127.0.0.1", a.b_port), timeout=2.0)
    cl.set_rest_creds(a.secret, "acme:carol")
    m = cl.allocate()
    cl.close()
    check("with A down, B still serves carol", m.cls == tc.SUCCESS,
          m.describe())


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=("cases", "down"))
    p.add_argument("--api-port", type=int, default=0)
    p.add_argument("--b-port", type=int, required=True)
    for k in ("admin-token", "acme-secret"):
        p.add_argument("--" + k, default="")
    p.add_argument("--secret", required=True)
    a = p.parse_args(argv)
    if a.cmd == "down":
        cmd_down(a)
        return 1 if ac.FAILED else 0
    c = ac.Ctx()
    c.api, c.bport, c.admin, c.secret = a.api_port, a.b_port, \
        a.admin_token, a.secret
    c.acme_secret = a.acme_secret
    ac.run_parts(c, (endpoint_cases, fleet_cases))
    return 1 if ac.FAILED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
