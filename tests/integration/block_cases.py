#!/usr/bin/env python3
"""Blocking end users and disabling accounts, end to end on one daemon
(test_api_block.sh): the admin API and the CLI block (account, sub);
POST /v1/ice-servers answers 403 user_blocked; credentials minted before
stop working on the daemon's own TURN side (a signed 403), the blocked
user's live allocation ends at once with a "revoked" usage record while
the account's other users go on; unblocking and enabling undo it.

    block_cases.py --api-port P --turn-port T --admin-token A --bin B
                   --db F --acme-secret S --beta-secret S2 --log L
"""
import argparse
import sys
import time

import api_cases as ac
import turnclient as tc
from api_cases import check, fail, ok, note, poll

HOST = "127.0.0.1"


def mint(c, sub, kid="acme-k1", secret=None, iss="acme"):
    """A TURN username/credential from the API for (iss, sub)."""
    tok = ac.hs_token(kid, secret or c.acme_secret, ac.claims(iss, sub=sub))
    r = ac.ice(c, tok, '{"ttl":600}', "application/json")
    if r.status != 200:
        fail("mint credentials for %s/%s" % (iss, sub), r.brief())
        return None, None
    e = ac.turn_entry(r.json())
    return e["username"], e["credential"]


def ice_status(c, sub, kid="acme-k1", secret=None, iss="acme"):
    tok = ac.hs_token(kid, secret or c.acme_secret, ac.claims(iss, sub=sub))
    return ac.ice(c, tok)


def client(c, user, cred):
    cl = tc.Client((HOST, c.turn), timeout=2.0)
    cl.set_user(user, cred)
    return cl


def allocate(c, name, user, cred):
    """A live allocation (the client is kept open), or None."""
    cl = client(c, user, cred)
    m = cl.allocate()
    if not check(name, m.cls == tc.SUCCESS, m.describe()):
        cl.close()
        return None
    return cl


def allocates_again(c, name, user, cred):
    """Allocate (retried for up to 3 s while the workers catch up); the
    client, to close."""
    cl = client(c, user, cred)
    m = poll(lambda: (lambda x: x if x.cls == tc.SUCCESS else None)(
        cl.allocate()), 3, 0.3)
    check(name, m is not None)
    return cl


def refused_403(name, m):
    """A 403 that is signed: the credentials verified, so it is not a
    challenge to retry (RFC 8489 9.2.4)."""
    good = m.code() == 403 and m.has(tc.MESSAGE_INTEGRITY) and \
        not m.has(tc.NONCE)
    return check(name, good, m.describe())


def refresh_until(cl, code, timeout):
    """Refresh (600 s) until the answer's error code is code."""
    last = [None]

    def once():
        last[0] = cl.refresh(600)
        return last[0] if last[0].code() == code else None
    return poll(once, timeout, 0.3) or last[0]


def usage_reason(c, user, timeout=8):
    """The usage record's reason of the allocation of username user."""
    def once():
        r = ac.admin(c, "GET", "/usage?account=acme")
        if r.status != 200:
            return None
        for u in r.json().get("usage", []):
            if u.get("username") == user:
                return u.get("reason")
        return None
    return poll(once, timeout, 0.3)


def admin_cases(c):
    """The admin API: add, list, get, remove, and what it refuses."""
    r = ac.admin(c, "POST", "/accounts/acme/blocks", {"sub": "alice"})
    j = r.json() if r.status == 201 else {}
    check("POST .../blocks {sub: alice}: 201 with the block",
          r.status == 201 and j.get("sub") == "alice" and
          j.get("account") == "acme" and
          abs(j.get("created", 0) - time.time()) < 30, r.brief())
    r = ac.admin(c, "POST", "/accounts/acme/blocks", {"sub": "alice"})
    check("blocking again: 200, the same block", r.status == 200 and
          r.json().get("created") == j.get("created"), r.brief())
    r = ac.admin(c, "GET", "/accounts/acme/blocks")
    subs = [b.get("sub") for b in r.json().get("blocks", [])] \
        if r.status == 200 else None
    check("GET .../blocks lists alice", subs == ["alice"], r.brief())
    r = ac.admin(c, "GET", "/accounts/acme/blocks/alice")
    check("GET .../blocks/alice: 200", r.status == 200 and
          r.json().get("sub") == "alice", r.brief())
    ac.expect_error("GET .../blocks/bob: 404", ac.admin(
        c, "GET", "/accounts/acme/blocks/bob"), 404, "not_found")
    ac.expect_error("POST a sub with ':' : 422 invalid_field", ac.admin(
        c, "POST", "/accounts/acme/blocks", {"sub": "a:b"}), 422,
        "invalid_field")
    ac.expect_error("POST a sub of 128 characters: 422", ac.admin(
        c, "POST", "/accounts/acme/blocks", {"sub": "x" * 128}), 422,
        "invalid_field")
    ac.expect_error("POST sub as a number: 422", ac.admin(
        c, "POST", "/accounts/acme/blocks", {"sub": 7}), 422,
        "invalid_field")
    ac.expect_error("POST an unknown field: 400", ac.admin(
        c, "POST", "/accounts/acme/blocks", {"sub": "x", "why": "spam"}),
        400, "bad_request")
    # The message names the field cut to fit: never inside a UTF-8
    # sequence, or the error body could not be encoded at all.
    ac.expect_error("POST an unknown field of 63 + a 2-byte character: "
                    "400 with a JSON error", ac.admin(
                        c, "POST", "/accounts/acme/blocks",
                        {"sub": "x", "k" * 63 + "\u00e9": 1}), 400,
                    "bad_request")
    ac.expect_error("POST /accounts with such an unknown field at the "
                    "message's end: 400 with a JSON error", ac.admin(
                        c, "POST", "/accounts",
                        {"name": "utf8cut", "k" * 143 + "\u00e9": 1}), 400,
                    "bad_request")
    ac.expect_error("POST a JSON array: 400", ac.admin(
        c, "POST", "/accounts/acme/blocks", "[]"), 400, "bad_request")
    ac.expect_error("POST without JSON Content-Type: 415", ac.admin(
        c, "POST", "/accounts/acme/blocks", '{"sub":"x"}', ctype="text/plain"),
        415, "unsupported_media_type")
    ac.expect_error("POST for an account that does not exist: 404",
                    ac.admin(c, "POST", "/accounts/nobody/blocks",
                             {"sub": "x"}), 404, "not_found")
    ac.expect_error("GET .../blocks of no account: 404",
                    ac.admin(c, "GET", "/accounts/nobody/blocks"), 404,
                    "not_found")
    ac.expect_error("PUT .../blocks: 405", ac.admin(
        c, "PUT", "/accounts/acme/blocks", {"sub": "x"}), 405,
        "method_not_allowed", {"Allow": "GET, POST, DELETE"})
    ac.expect_error("blocks without the admin token: 401", ac.admin(
        c, "GET", "/accounts/acme/blocks", token="wrong"), 401,
        "invalid_token")
    # A sub may hold '/': removable with ?sub=.
    r = ac.admin(c, "POST", "/accounts/acme/blocks", {"sub": "team/x y"})
    check("POST a sub with '/' and a space: 201", r.status == 201, r.brief())
    r = ac.admin(c, "DELETE", "/accounts/acme/blocks?sub=team%2Fx%20y")
    check("DELETE .../blocks?sub=team%2Fx%20y: 204", r.status == 204,
          r.brief())
    ac.expect_error("DELETE it again: 404", ac.admin(
        c, "DELETE", "/accounts/acme/blocks?sub=team%2Fx%20y"), 404,
        "not_found")
    # %00 decoded would end the path's C string: "zz%00x" acted on "zz".
    ac.admin(c, "POST", "/accounts/acme/blocks", {"sub": "zz"})
    ac.expect_error("DELETE .../blocks/zz%00x: 404, not zz's block",
                    ac.admin(c, "DELETE", "/accounts/acme/blocks/zz%00x"),
                    404, "not_found")
    ac.expect_error("DELETE .../blocks?sub=zz%00x: 404 too", ac.admin(
        c, "DELETE", "/accounts/acme/blocks?sub=zz%00x"), 404, "not_found")
    r = ac.admin(c, "GET", "/accounts/acme/blocks/zz")
    check("zz is still blocked", r.status == 200, r.brief())
    r = ac.admin(c, "DELETE", "/accounts/acme/blocks/z%7A")
    check("DELETE .../blocks/z%7A (percent-encoded zz): 204",
          r.status == 204, r.brief())
    ac.expect_error("GET .../blocks/x of no account: 404 no such account",
                    ac.admin(c, "GET", "/accounts/nobody/blocks/x"), 404,
                    "not_found")
    ac.expect_error("DELETE .../blocks?sub= (empty): 400", ac.admin(
        c, "DELETE", "/accounts/acme/blocks?sub="), 400, "bad_request")
    ac.expect_error("DELETE .../blocks without a sub: 400", ac.admin(
        c, "DELETE", "/accounts/acme/blocks"), 400, "bad_request")


def audit_cases(c):
    """Each admin change that took leaves one audit line: method, path,
    client, status; reads and refusals leave none."""
    want = "admin: POST /v1/admin/accounts/acme/blocks from 127.0.0.1: 201"
    check("the log has an audit line for the block of alice",
          log_count(c, want) >= 1, want)
    check("a block that was already there (200) is audited too",
          log_count(c, "admin: POST /v1/admin/accounts/acme/blocks from "
                       "127.0.0.1: 200") >= 1)
    check("no audit line for a refused change (422) or a read (GET)",
          log_count(c, ": 422") == 0 and log_count(c, "admin: GET") == 0)


def api_turn_cases(c):
    """Blocking through the admin API reaches the API and TURN at once."""
    ac.admin(c, "DELETE", "/accounts/acme/blocks/alice")
    ua, pa = mint(c, "alice")
    ub, pb = mint(c, "bob")
    if not ua or not ub:
        return
    ca = allocate(c, "alice allocates before the block", ua, pa)
    cb = allocate(c, "bob allocates", ub, pb)
    if not ca or not cb:
        return
    r = ac.admin(c, "POST", "/accounts/acme/blocks", {"sub": "alice"})
    check("admin blocks alice", r.status == 201, r.brief())
    ac.expect_error("POST /v1/ice-servers for alice: 403 user_blocked",
                    ice_status(c, "alice"), 403, "user_blocked", cors=True)
    check("POST /v1/ice-servers for bob: 200",
          ice_status(c, "bob").status == 200)
    # The admin write refreshed the directory and handed it to TURN
    # before answering; a worker applies it within its 200 ms wait.
    m = refresh_until(ca, 403, 3)
    refused_403("alice's live allocation: Refresh gets a signed 403", m)
    check("its usage record says revoked", usage_reason(c, ua) == "revoked",
          "reason %r" % usage_reason(c, ua, 1))
    cn = client(c, ua, pa)
    refused_403("a new Allocate with alice's minted credential: 403",
                cn.allocate())
    cn.close()
    m = cb.refresh(600)
    check("bob's allocation goes on (Refresh 200)", m.cls == tc.SUCCESS,
          m.describe())
    r = ac.admin(c, "DELETE", "/accounts/acme/blocks/alice")
    check("admin unblocks alice: 204", r.status == 204, r.brief())
    check("POST /v1/ice-servers for alice: 200 again",
          ice_status(c, "alice").status == 200)
    cn = allocates_again(c, "alice's earlier credential allocates again "
                         "once unblocked", ua, pa)
    for cl in (ca, cb, cn):
        cl.close()


def cli_turn_cases(c):
    """The CLI writes from another process: the daemon's watcher sees
    them within about a second."""
    uc, pc = mint(c, "carol")
    if not uc:
        return
    cc = allocate(c, "carol allocates", uc, pc)
    if not cc:
        return
    rc, _, err = ac.cli_account(c, "block", "acme", "carol")
    check("CLI account block acme carol", rc == 0, err)
    m = refresh_until(cc, 403, 6)
    refused_403("carol's allocation ends within 6 s of the CLI write", m)
    rc, out, err = ac.cli_account(c, "blocks", "acme")
    check("CLI account blocks acme lists carol", rc == 0 and
          out.startswith("carol\t"), "%d %r %r" % (rc, out, err))
    rc, _, err = ac.cli_account(c, "unblock", "acme", "carol")
    check("CLI account unblock acme carol", rc == 0, err)
    r = poll(lambda: (lambda x: x if x.status == 200 else None)(
        ice_status(c, "carol")), 6)
    check("carol gets credentials again within 6 s", r is not None)
    cc.close()


def disabled_cases(c):
    """A disabled account: all its users' credentials stop on TURN."""
    ud, pd = mint(c, "dave", "beta-k1", c.beta_secret, "beta")
    ua, pa = mint(c, "erin")
    if not ud or not ua:
        return
    cd = allocate(c, "dave of account beta allocates", ud, pd)
    ce = allocate(c, "erin of account acme allocates", ua, pa)
    if not cd or not ce:
        return
    r = ac.admin(c, "PATCH", "/accounts/beta", {"status": "disabled"})
    check("admin disables account beta", r.status == 200, r.brief())
    refused_403("dave's allocation: Refresh gets a signed 403",
                refresh_until(cd, 403, 3))
    m = ce.refresh(600)
    check("acme's erin goes on", m.cls == tc.SUCCESS, m.describe())
    r = ac.admin(c, "PATCH", "/accounts/beta", {"status": "active"})
    check("admin enables account beta", r.status == 200, r.brief())
    cn = allocates_again(c, "dave's earlier credential allocates again "
                         "once enabled", ud, pd)
    for cl in (cd, ce, cn):
        cl.close()


def deleted_cases(c):
    """Deleting an account refuses what was minted for it, as disabling
    does, until that has expired; the name created again lifts it."""
    sec = "temp-secret-" + "t" * 32
    r1 = ac.admin(c, "POST", "/accounts", {"name": "temp"})
    r2 = ac.admin(c, "POST", "/accounts/temp/keys",
                  {"kid": "temp-k1", "alg": "HS256", "secret": sec})
    check("admin creates account temp and its key",
          r1.status == 201 and r2.status == 201, r1.brief() + r2.brief())
    ut, pt = mint(c, "tina", "temp-k1", sec, "temp")
    if not ut:
        return
    ct = allocate(c, "tina of account temp allocates", ut, pt)
    if not ct:
        return
    r = ac.admin(c, "DELETE", "/accounts/temp")
    check("admin deletes account temp", r.status == 204, r.brief())
    refused_403("tina's allocation ends: Refresh gets a signed 403",
                refresh_until(ct, 403, 3))
    cn = client(c, ut, pt)
    refused_403("a new Allocate with tina's credential: 403", cn.allocate())
    cn.close()
    r = ac.admin(c, "POST", "/accounts", {"name": "temp"})
    check("the name temp created again", r.status == 201, r.brief())
    cn = allocates_again(c, "then the old credential works again "
                         "(documented)", ut, pt)
    for cl in (ct, cn):
        cl.close()
    ac.admin(c, "DELETE", "/accounts/temp")


def metrics_cases(c):
    r = ac.req(c.api, "GET", "/metrics")
    body = r.body.decode() if r.status == 200 else ""
    line = [x for x in body.splitlines() if x.startswith(
        'turnstone_api_tokens_rejected_total{reason="user_blocked"}')]
    check("/metrics counts user_blocked refusals", line and
          int(line[0].split()[-1]) >= 1, line or r.brief())


def rate_cases(c):
    """A blocked user holding a valid token spends nothing of the
    account's rate: blocking an abusive user must not let them lock the
    account's other users out with 429s (userRateLimit off, as accounts
    from before schema 3 have it)."""
    r = ac.admin(c, "POST", "/accounts",
                 {"name": "blockrate", "rateLimit": {"perSecond": 1, "burst": 3},
                  "userRateLimit": {"perSecond": 0, "burst": 0}})
    check("admin creates blockrate (3 requests, then 1/s)", r.status == 201,
          r.brief())
    sec = "blockrate-secret-" + "b" * 30
    r = ac.admin(c, "POST", "/accounts/blockrate/keys",
                 {"kid": "blockrate-k1", "alg": "HS256", "secret": sec})
    check("admin adds blockrate's key", r.status == 201, r.brief())
    r = ac.admin(c, "POST", "/accounts/blockrate/blocks", {"sub": "mallory"})
    check("admin blocks mallory of blockrate", r.status == 201, r.brief())

    def ice_as(sub):
        return ac.ice(c, ac.hs_token("blockrate-k1", sec,
                                     ac.claims("blockrate", sub=sub)))
    st = [ice_as("mallory").status for _ in range(6)]
    check("mallory, blocked: 403 each time, never 429", st == [403] * 6,
          str(st))
    r = ice_as("bob")
    check("bob of blockrate still gets credentials (mallory's refused "
          "requests did not spend the account's bucket)", r.status == 200,
          r.brief())


def log_count(c, text):
    with open(c.log, errors="replace") as f:
        return sum(text in line for line in f)


def churn_cases(c):
    """Allocations that end write usage records to the store, and the
    API's watcher reads each such commit as a new snapshot: the blocked
    users, unchanged, are neither logged again nor handed to the workers
    again (each hand-over sweeps every allocation)."""
    line = "TURN refuses the credentials of"
    ua, pa = mint(c, "churner")
    if not ua:
        return
    time.sleep(1.5)  # the watcher has seen the earlier cases' writes
    before = log_count(c, line)
    for _ in range(4):
        cl = allocate(c, "churner allocates", ua, pa)
        if cl:
            cl.refresh(0)
            cl.close()
        time.sleep(0.6)
    time.sleep(2.5)  # the watcher has read the last usage commit
    after = log_count(c, line)
    check("usage commits alone hand TURN no new revoked set (the log "
          "says it %d more times)" % (after - before), after == before)


def main(argv):
    p = argparse.ArgumentParser()
    for k in ("api-port", "turn-port"):
        p.add_argument("--" + k, type=int, required=True)
    for k in ("admin-token", "bin", "db", "acme-secret", "beta-secret",
              "log"):
        p.add_argument("--" + k, required=True)
    a = p.parse_args(argv)
    c = ac.Ctx()
    c.api, c.turn, c.admin = a.api_port, a.turn_port, a.admin_token
    c.bin, c.db, c.log = a.bin, a.db, a.log
    c.acme_secret, c.beta_secret = a.acme_secret, a.beta_secret
    ac.run_parts(c, (admin_cases, audit_cases, api_turn_cases, cli_turn_cases,
                     disabled_cases, deleted_cases, metrics_cases,
                     rate_cases, churn_cases))
    return 1 if ac.FAILED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
