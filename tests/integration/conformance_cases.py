#!/usr/bin/python3
"""Protocol conformance, case by case, against the RFC text (test_conformance.sh).

Each check names the section it follows: RFC 8489 (STUN), RFC 8656
(TURN), RFC 6062 (TCP relays). Where the RFC orders its checks (RFC 8656
7.2 for Allocate, RFC 8489 6.3 and 9.2.4 for any request) a request breaks
two rules at once, so only the right order gives the expected code.

    conformance_cases.py KIND MAIN V6ONLY TINY TLS SECRET

KIND is turnstone or coturn (TS_SERVER; under coturn a check that coturn
4.6.1 is known to fail prints "skip" with the reason, and turnstone-only
servers are "-"). MAIN: REST secret and user alice, loopback peers,
IPv4 relay only. V6ONLY: relays on ::1 only. TINY: a relay range of two
ports. TLS: MAIN's TLS/DTLS port or "-". Loopback only; every wait is
bounded (a silent server costs at most about a second per check).
"""
import binascii
import hashlib
import hmac
import os
import socket
import struct
import subprocess
import sys

import turnclient as tc

EVEN_PORT = 0x0018
DONT_FRAGMENT = 0x001A
RESERVATION_TOKEN = 0x0022
ADDITIONAL_ADDRESS_FAMILY = 0x8000
ADDRESS_ERROR_CODE = 0x8001
MI_SHA256 = 0x001C
PASSWORD_ALGORITHM = 0x001D
PASSWORD_ALGORITHMS = 0x8002

kind = sys.argv[1]
MAIN = ("127.0.0.1", int(sys.argv[2]))
V6ONLY = ("127.0.0.1", int(sys.argv[3])) if sys.argv[3] != "-" else None
TINY = ("127.0.0.1", int(sys.argv[4]))
TLS = int(sys.argv[5]) if sys.argv[5] != "-" else None
secret = sys.argv[6]
failed = 0
counted = 0


def check(rfc, name, cond, detail="", coturn=None):
    """One check, named with the RFC section it follows. coturn: why
    coturn 4.6.1 differs (it then prints "skip" under TS_SERVER=coturn)."""
    global failed, counted
    counted += 1
    label = "[%s] %s" % (rfc, name)
    if cond:
        print("ok %s%s" % (label, " (%s)" % detail if detail else ""), flush=True)
    elif kind == "coturn" and coturn:
        print("skip %s: coturn differs (%s): %s" % (label, coturn, detail),
              flush=True)
    else:
        failed += 1
        print("FAIL %s: %s" % (label, detail or "failed"), flush=True)


def desc(r):
    return r.describe() if isinstance(r, tc.Msg) else str(r)


def silent(c, wait=0.5):
    """Nothing at all arrives on c within wait seconds."""
    try:
        c.recv_raw(wait)
    except tc.Timeout:
        return True
    return False


def peer_sock(ip="127.0.0.1"):
    s = socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET,
                      socket.SOCK_DGRAM)
    s.bind((ip, 0))
    return s


def peer_gets(peer, wait=1.0):
    """The next datagram on peer, or None."""
    peer.settimeout(wait)
    try:
        return peer.recvfrom(70000)[0]
    except socket.timeout:
        return None


def md5_key(c):
    return tc.lt_key(c.username, c.realm, c.password)


def encode(method, cls, attrs, tid):
    body = b""
    for at, v in attrs:
        body += struct.pack("!HH", at, len(v)) + v + b"\0" * tc.pad4(len(v))
    return body, tc.msg_type(method, cls)


def add_mac(t, tid, body, at, key, digest, size):
    """Append MESSAGE-INTEGRITY(-SHA256) over the message so far (RFC 8489
    14.5, 14.6: the header length counts up to the end of the attribute)."""
    head = struct.pack("!HHI", t, len(body) + 4 + size, tc.MAGIC) + tid
    mac = hmac.new(key, head + body, digest).digest()
    return body + struct.pack("!HH", at, size) + mac


def signed(c, method, attrs, tid=None, mi=True, mi256=False, key=None,
           after=(), bad_mi=False, bad_mi256=False, fingerprint=False,
           nonce=None, pa=None):
    """A request signed the way the test wants: MESSAGE-INTEGRITY and/or
    MESSAGE-INTEGRITY-SHA256 (either possibly wrong), PASSWORD-ALGORITHM(S)
    when pa is given (1 MD5, 2 SHA-256), attributes appended after the
    integrity (after), an optional FINGERPRINT."""
    tid = tid or os.urandom(12)
    auth = [(tc.USERNAME, c.username.encode()), (tc.REALM, c.realm.encode()),
            (tc.NONCE, nonce if nonce is not None else c.nonce)]
    if pa is not None:
        auth += [(PASSWORD_ALGORITHMS, struct.pack("!HHHH", 2, 0, 1, 0)),
                 (PASSWORD_ALGORITHM, struct.pack("!HH", pa, 0))]
    if key is None:
        text = "%s:%s:%s" % (c.username, c.realm, c.password)
        key = (hashlib.sha256 if pa == 2 else hashlib.md5)(text.encode()).digest()
    body, t = encode(method, tc.REQUEST, list(attrs) + auth, tid)
    if mi:
        body = add_mac(t, tid, body, tc.MESSAGE_INTEGRITY,
                       b"wrong" if bad_mi else key, hashlib.sha1, 20)
    if mi256:
        body = add_mac(t, tid, body, MI_SHA256,
                       b"wrong" if bad_mi256 else key, hashlib.sha256, 32)
    for at, v in after:
        body += struct.pack("!HH", at, len(v)) + v + b"\0" * tc.pad4(len(v))
    if fingerprint:
        head = struct.pack("!HHI", t, len(body) + 8, tc.MAGIC) + tid
        crc = (binascii.crc32(head + body) ^ 0x5354554E) & 0xFFFFFFFF
        body += struct.pack("!HHI", tc.FINGERPRINT, 4, crc)
    return struct.pack("!HHI", t, len(body), tc.MAGIC) + tid + body


def client(uid, srv=MAIN, transport="udp"):
    """A REST client that has learnt REALM and NONCE from a 401."""
    c = tc.Client(srv, transport=transport)
    c.set_rest_creds(secret, uid)
    r = c.transact(tc.build(tc.ALLOCATE, tc.REQUEST, [tc.transport_attr()]))
    c._learn(r)
    return c


def ask(c, method, attrs=(), **kw):
    """Send a signed request; the answer, or None after about a second."""
    try:
        return c.transact(signed(c, method, attrs, **kw), timeout=1.0)
    except tc.Timeout:
        return None


def code(r):
    return r.code() if isinstance(r, tc.Msg) else None


def udp_attr(proto=17):
    return (tc.REQUESTED_TRANSPORT, bytes([proto, 0, 0, 0]))


def fam(at, v):
    return (at, bytes([v, 0, 0, 0]))


def relayed(r):
    return [tc.unxor_addr(v, r.tid) for t, v, _ in r.attrs
            if t == tc.XOR_RELAYED_ADDRESS]


def addr_error(r):
    """ADDRESS-ERROR-CODE (RFC 8656 18.12): (family, code) or None."""
    v = r.get(ADDRESS_ERROR_CODE)
    if not v or len(v) < 4:
        return None
    return v[0], (v[2] & 7) * 100 + v[3]


def data_or_none(c, wait=1.0):
    """The next relayed datagram on client c (turnclient.recv_data), or
    None."""
    try:
        return c.recv_data(wait)
    except tc.Timeout:
        return None


def run(name, fn):
    global failed
    print("-- %s" % name, flush=True)
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - one group fails, not the run
        failed += 1
        print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)


# --- RFC 8489: message processing ---------------------------------------
def stun_transports():
    for transport in ("udp", "tcp") + (("tls",) if TLS else ()):
        srv = ("127.0.0.1", TLS) if transport == "tls" else MAIN
        c = tc.Client(srv, transport=transport)
        r = c.binding()
        got = r.xaddr(tc.XOR_MAPPED_ADDRESS)
        check("8489 6.3.1", "Binding over %s: XOR-MAPPED-ADDRESS is the client"
              % transport, r.cls == tc.SUCCESS and got == c.local()[:2],
              "%s, we are %s" % (desc(r), c.local()[:2]))
        c.close()
    if TLS:
        ok = dtls_binding()
        check("8489 6.3.1", "Binding over DTLS: success", ok,
              "" if ok else "no Binding success through openssl s_client")


def dtls_binding():
    """A Binding through openssl s_client over DTLS; its stdout carries
    the answer's bytes (the request's magic cookie and transaction id)."""
    tid = os.urandom(12)
    req = tc.build(tc.BINDING, tc.REQUEST, tid=tid)
    try:
        out = subprocess.run(
            ["timeout", "-k", "1", "4", "openssl", "s_client", "-dtls1_2",
             "-quiet", "-connect", "127.0.0.1:%d" % TLS],
            input=req, capture_output=True, timeout=8).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    at = out.find(struct.pack("!I", tc.MAGIC) + tid)
    return at >= 4 and out[at - 4:at - 2] == b"\x01\x01"


def stun_classes():
    c = tc.Client(MAIN)
    hdr = lambda m, cls: tc.build(m, cls)  # noqa: E731
    c.send_raw(hdr(0x0FF, tc.REQUEST))
    check("8489 6.3", "request of an unknown method: silently discarded",
          silent(c), coturn="answers 400")
    c.send_raw(hdr(tc.SEND, tc.REQUEST))
    check("8489 6.3", "Send as a request (a class Send does not have): "
          "discarded", silent(c), coturn="answers 400")
    c.send_raw(hdr(tc.ALLOCATE, tc.INDICATION))
    check("8489 6.3", "Allocate as an indication: discarded", silent(c))
    c.send_raw(hdr(tc.BINDING, tc.SUCCESS))
    check("8489 6.3", "a success response sent to the server: discarded",
          silent(c))
    c.close()
    # The same over TCP: nothing comes back and the stream stays usable.
    t = tc.Client(MAIN, transport="tcp")
    t.send_raw(hdr(tc.BINDING, tc.ERROR))
    t.send_raw(hdr(tc.ALLOCATE, tc.INDICATION))
    check("8489 6.3", "TCP: a response and an Allocate indication draw "
          "nothing", silent(t))
    r = t.binding()
    check("8489 6.3", "TCP: the stream still serves a Binding after them",
          r.cls == tc.SUCCESS, desc(r))
    t.close()


def stun_unknown():
    c = tc.Client(MAIN)
    r = c.binding([(0x7F01, b"a"), (0x0FFF, b"b"), (0xC0F1, b"opt")])
    check("8489 6.3.1", "Binding with two unknown comprehension-required "
          "attributes: 420 naming both (and not the optional one)",
          r.code() == 420 and sorted(r.unknown_attributes()) == [0x0FFF, 0x7F01],
          desc(r) + " %s" % [hex(a) for a in r.unknown_attributes()])
    c.close()
    # Authentication comes first (6.3): without credentials, a 401.
    c = tc.Client(MAIN)
    r = c.transact(tc.build(tc.ALLOCATE, tc.REQUEST,
                            [udp_attr(), (0x7F02, b"x")]))
    check("8489 6.3", "unsigned Allocate with an unknown comprehension-"
          "required attribute: 401 (authentication before 420)",
          r.code() == 401, desc(r))
    c.close()
    c = client("conf-420")
    r = ask(c, tc.ALLOCATE, [udp_attr(), (0x7F02, b"x")])
    check("8489 6.3.1", "signed Allocate with an unknown comprehension-"
          "required attribute: 420 listing it", code(r) == 420 and
          0x7F02 in r.unknown_attributes(), desc(r))
    check("8489 9.2.4", "that 420 is signed: its MESSAGE-INTEGRITY verifies",
          isinstance(r, tc.Msg) and r.check_integrity(md5_key(c)) is True,
          desc(r))
    r = ask(c, tc.ALLOCATE, [udp_attr(), (0xC0F2, b"optional")])
    check("8489 14", "signed Allocate with an unknown comprehension-optional "
          "attribute: success", code(r) == 0, desc(r))
    ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    c.close()


def stun_fingerprint():
    c = client("conf-fp")
    raw = bytearray(signed(c, tc.ALLOCATE, [udp_attr()], fingerprint=True))
    raw[-1] ^= 0x5A
    c.send_raw(bytes(raw))
    check("8489 7.3", "signed Allocate with a wrong FINGERPRINT: no answer",
          silent(c))
    r = ask(c, tc.ALLOCATE, [udp_attr()], fingerprint=True)
    check("8489 7.3", "...and it created nothing: the same Allocate with a "
          "right FINGERPRINT succeeds", code(r) == 0, desc(r))
    check("8489 14.7", "the response to a request with FINGERPRINT carries "
          "a valid one", isinstance(r, tc.Msg) and r.check_fingerprint() is True,
          desc(r))
    ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    c.close()
    t = tc.Client(MAIN, transport="tcp")
    raw = bytearray(tc.build(tc.BINDING, tc.REQUEST, fingerprint=True))
    raw[-2] ^= 0x01
    t.send_raw(bytes(raw))
    check("8489 7.3", "TCP: Binding with a wrong FINGERPRINT: no answer",
          silent(t))
    check("8489 7.3", "TCP: the stream still works after it",
          t.binding().cls == tc.SUCCESS)
    t.close()


def stun_integrity():
    c = client("conf-mi")
    r = ask(c, tc.ALLOCATE, [], after=[udp_attr()])
    check("8489 14.5", "REQUESTED-TRANSPORT only after MESSAGE-INTEGRITY: "
          "ignored, so 400", code(r) == 400, desc(r),
          coturn="reads attributes after MESSAGE-INTEGRITY")
    c.close()
    c = client("conf-mi2")
    r = ask(c, tc.ALLOCATE, [udp_attr()], after=[(0x7F03, b"late")])
    check("8489 14.5", "unknown comprehension-required attribute after "
          "MESSAGE-INTEGRITY: ignored, success", code(r) == 0, desc(r),
          coturn="answers 420")
    ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    c.close()

    c = client("conf-mi256")
    key = md5_key(c)
    r = ask(c, tc.ALLOCATE, [udp_attr()], mi=True, mi256=True, bad_mi256=True)
    check("8489 9.2.4", "MESSAGE-INTEGRITY right, MESSAGE-INTEGRITY-SHA256 "
          "wrong: 401 (the SHA-256 one is checked)", code(r) == 401, desc(r),
          coturn="no MESSAGE-INTEGRITY-SHA256: 420")
    r = ask(c, tc.ALLOCATE, [udp_attr()], mi=True, mi256=True, bad_mi=True)
    check("8489 9.2.4", "MESSAGE-INTEGRITY wrong, MESSAGE-INTEGRITY-SHA256 "
          "right: success", code(r) == 0, desc(r), coturn="checks MESSAGE-"
          "INTEGRITY")
    check("8489 9.2.4", "request without PASSWORD-ALGORITHM: the response "
          "has MESSAGE-INTEGRITY (MD5 key)", isinstance(r, tc.Msg) and
          r.check_integrity(key) is True, desc(r), coturn="checks MESSAGE-"
          "INTEGRITY")
    ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    c.close()

    for pa, name, dig in ((2, "SHA-256", hashlib.sha256), (1, "MD5", hashlib.md5)):
        c = client("conf-pa%d" % pa)
        r = ask(c, tc.ALLOCATE, [udp_attr()], mi=False, mi256=True, pa=pa)
        k = dig(("%s:%s:%s" % (c.username, c.realm, c.password)).encode()).digest()
        check("8489 9.2.4", "PASSWORD-ALGORITHM %s: success signed with "
              "MESSAGE-INTEGRITY-SHA256" % name, code(r) == 0 and
              r.check_integrity(k, sha256=True) is True, desc(r),
              coturn="no RFC 8489 password algorithms")
        ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))], mi=False, mi256=True,
            pa=pa)
        c.close()


def stun_auth_errors():
    c = client("conf-auth")
    old = c.nonce[:-1] + bytes([c.nonce[-1] ^ 1])
    r = ask(c, tc.ALLOCATE, [udp_attr()], nonce=old)
    check("8489 9.2.4", "a nonce the server never issued: 438",
          code(r) == 438, desc(r))
    check("8489 9.2.4", "the 438 carries REALM, a new NONCE and "
          "PASSWORD-ALGORITHMS", isinstance(r, tc.Msg) and r.has(tc.REALM) and
          r.has(tc.NONCE) and r.get(tc.NONCE) != old and r.has(PASSWORD_ALGORITHMS),
          desc(r), coturn="no PASSWORD-ALGORITHMS")
    raw = tc.build(tc.ALLOCATE, tc.REQUEST,
                   [udp_attr(), (tc.USERNAME, c.username.encode()),
                    (tc.NONCE, c.nonce)], key=md5_key(c))
    r = c.transact(raw, timeout=1.0)
    check("8489 9.2.4", "MESSAGE-INTEGRITY without REALM: 400, unsigned",
          r.code() == 400 and not r.has(tc.MESSAGE_INTEGRITY), desc(r))
    c.close()


# --- RFC 8656 7.2: Allocate, in the order of its checks ------------------
def allocate_order():
    c = client("conf-order")
    r = ask(c, tc.ALLOCATE, [udp_attr()])
    check("8656 7.2", "setup: Allocate", code(r) == 0, desc(r))
    r = ask(c, tc.ALLOCATE, [])
    check("8656 7.2 step 2", "a second Allocate on the 5-tuple without "
          "REQUESTED-TRANSPORT: 437 (mismatch before attributes)",
          code(r) == 437, desc(r))
    ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    tok = (RESERVATION_TOKEN, os.urandom(8))
    even = (EVEN_PORT, b"\x80")
    cases = [
        ("8656 7.2 step 3", "REQUESTED-TRANSPORT of 2 bytes: 400",
         [(tc.REQUESTED_TRANSPORT, b"\x11\0")], 400, None),
        ("8656 7.2 step 3", "REQUESTED-TRANSPORT 99 with EVEN-PORT and "
         "RESERVATION-TOKEN: 442 (step 3 before step 5)",
         [udp_attr(99), even, tok], 442, "400"),
        ("8656 7.2 step 5", "RESERVATION-TOKEN with EVEN-PORT: 400",
         [udp_attr(), tok, even], 400, None),
        ("8656 7.2 step 5", "RESERVATION-TOKEN with REQUESTED-ADDRESS-FAMILY: "
         "400", [udp_attr(), tok, fam(tc.REQUESTED_ADDRESS_FAMILY, 1)], 400,
         None),
        ("8656 7.2 step 5", "RESERVATION-TOKEN with ADDITIONAL-ADDRESS-FAMILY:"
         " 400", [udp_attr(), tok, fam(ADDITIONAL_ADDRESS_FAMILY, 2)], 400,
         "404"),
        ("8656 7.2 step 5", "a RESERVATION-TOKEN the server never issued: 508",
         [udp_attr(), tok], 508, "404"),
        ("8656 7.2 step 6", "REQUESTED- and ADDITIONAL-ADDRESS-FAMILY: 400",
         [udp_attr(), fam(tc.REQUESTED_ADDRESS_FAMILY, 1),
          fam(ADDITIONAL_ADDRESS_FAMILY, 2)], 400, "success"),
        ("8656 7.2 step 7", "REQUESTED-ADDRESS-FAMILY IPv6 on an IPv4-only "
         "relay: 440", [udp_attr(), fam(tc.REQUESTED_ADDRESS_FAMILY, 2)], 440,
         None),
        ("8656 7.2 step 7", "REQUESTED-ADDRESS-FAMILY 0x03 (no such family): "
         "440", [udp_attr(), fam(tc.REQUESTED_ADDRESS_FAMILY, 3)], 440, None),
        ("8656 7.2 step 8", "EVEN-PORT R=1 with ADDITIONAL-ADDRESS-FAMILY: 400",
         [udp_attr(), even, fam(ADDITIONAL_ADDRESS_FAMILY, 2)], 400, "success"),
        ("8656 7.2 step 9", "ADDITIONAL-ADDRESS-FAMILY IPv4: 400",
         [udp_attr(), fam(ADDITIONAL_ADDRESS_FAMILY, 1)], 400, "success"),
    ]
    c.close()
    # A fresh 5-tuple for each: coturn keeps one's session after Refresh 0.
    for rfc, name, attrs, want, cot in cases:
        c = client("conf-order")
        r = ask(c, tc.ALLOCATE, attrs)
        check(rfc, name, code(r) == want, desc(r), coturn=cot and
              "answers %s" % cot)
        if code(r) == 0:
            ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
        c.close()
    c = client("conf-order")
    r = ask(c, tc.ALLOCATE, [udp_attr(), fam(ADDITIONAL_ADDRESS_FAMILY, 2)])
    rel = relayed(r) if isinstance(r, tc.Msg) else []
    check("8656 7.2 step 9", "ADDITIONAL-ADDRESS-FAMILY IPv6 on an IPv4-only "
          "relay: success, one IPv4 address, ADDRESS-ERROR-CODE 440 for IPv6",
          code(r) == 0 and len(rel) == 1 and ":" not in rel[0][0] and
          addr_error(r) == (2, 440), desc(r) + " %s %s" % (rel, addr_error(r)),
          coturn="no ADDITIONAL-ADDRESS-FAMILY")
    ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    c.close()


def allocate_v6only():
    if not V6ONLY:
        return
    c = client("conf-v6", srv=V6ONLY)
    for rfc, name, attrs in (
            ("8656 7.2 step 7", "no REQUESTED-ADDRESS-FAMILY on an IPv6-only "
             "relay: 440", [udp_attr()]),
            ("8656 7.2 step 7", "ADDITIONAL-ADDRESS-FAMILY IPv4 on an "
             "IPv6-only relay: 440 (step 7 before step 9)",
             [udp_attr(), fam(ADDITIONAL_ADDRESS_FAMILY, 1)]),
            ("8656 7.2 step 7", "EVEN-PORT R=1 with ADDITIONAL-ADDRESS-FAMILY"
             " on an IPv6-only relay: 440 (step 7 before step 8)",
             [udp_attr(), (EVEN_PORT, b"\x80"), fam(ADDITIONAL_ADDRESS_FAMILY, 2)])):
        r = ask(c, tc.ALLOCATE, attrs)
        check(rfc, name, code(r) == 440, desc(r))
    r = ask(c, tc.ALLOCATE, [udp_attr(), fam(tc.REQUESTED_ADDRESS_FAMILY, 2)])
    rel = relayed(r) if isinstance(r, tc.Msg) else []
    check("8656 7.2 step 7", "REQUESTED-ADDRESS-FAMILY IPv6: an IPv6 relayed "
          "address", code(r) == 0 and len(rel) == 1 and ":" in rel[0][0],
          desc(r))
    ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    c.close()


def allocate_even_df_lifetime():
    c = client("conf-even")
    r = ask(c, tc.ALLOCATE, [udp_attr(), (EVEN_PORT, b"\x00")])
    rel = relayed(r) if isinstance(r, tc.Msg) else []
    check("8656 7.2", "EVEN-PORT R=0: an even relayed port, no token",
          code(r) == 0 and rel and rel[0][1] % 2 == 0 and
          not r.has(RESERVATION_TOKEN), desc(r) + " %s" % rel)
    ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    c.close()
    c = client("conf-even")
    r = ask(c, tc.ALLOCATE, [udp_attr(), (EVEN_PORT, b"\x80")])
    rel = relayed(r) if isinstance(r, tc.Msg) else []
    token = r.get(RESERVATION_TOKEN) if isinstance(r, tc.Msg) else None
    check("8656 7.2", "EVEN-PORT R=1: an even port and an 8-byte "
          "RESERVATION-TOKEN", code(r) == 0 and rel and rel[0][1] % 2 == 0 and
          token is not None and len(token) == 8, desc(r))
    if token:
        d = client("conf-token")
        r2 = ask(d, tc.ALLOCATE, [udp_attr(), (RESERVATION_TOKEN, token)])
        rel2 = relayed(r2) if isinstance(r2, tc.Msg) else []
        check("8656 7.2", "the token on another 5-tuple: the reserved "
              "port N+1", code(r2) == 0 and rel2 == [(rel[0][0], rel[0][1] + 1)],
              desc(r2) + " %s vs %s" % (rel2, rel))
        e = client("conf-token2")
        r3 = ask(e, tc.ALLOCATE, [udp_attr(), (RESERVATION_TOKEN, token)])
        check("8656 7.2 step 5", "the same token again: 508", code(r3) == 508,
              desc(r3), coturn="answers 404")
        for x in (d, e):
            ask(x, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
            x.close()
    ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    c.close()
    c = client("conf-df")
    r = ask(c, tc.ALLOCATE, [udp_attr(), (DONT_FRAGMENT, b"")])
    check("8656 7.2 step 4", "DONT-FRAGMENT over UDP: success, or 420 "
          "naming it", code(r) == 0 or (code(r) == 420 and DONT_FRAGMENT in
                                        r.unknown_attributes()), desc(r))
    ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    c.close()
    c = client("conf-lifetime")
    r = ask(c, tc.ALLOCATE, [udp_attr(), (tc.LIFETIME, tc.u32(30))])
    check("8656 7.2", "LIFETIME 30 (below the default): the default, 600",
          code(r) == 0 and r.lifetime() == 600, desc(r) + " LIFETIME %s" %
          (r.lifetime() if isinstance(r, tc.Msg) else None))
    r = ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(30))])
    check("8656 8.2", "Refresh LIFETIME 30: the default, 600",
          code(r) == 0 and r.lifetime() == 600, desc(r))
    r = ask(c, tc.REFRESH, [])
    check("8656 8.2", "Refresh without LIFETIME: the default, 600",
          code(r) == 0 and r.lifetime() == 600, desc(r))
    r = ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    check("8656 8.2", "Refresh LIFETIME 0: success, LIFETIME 0",
          code(r) == 0 and r.lifetime() == 0, desc(r))
    r = ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    check("8656 5, 8.3", "Refresh LIFETIME 0 with no allocation: 437",
          code(r) == 437, desc(r), coturn="keeps the session after Refresh 0")
    c.close()


def allocate_tcp():
    """RFC 6062 5.1: no DONT-FRAGMENT, EVEN-PORT or RESERVATION-TOKEN with a
    TCP relay; a UDP relay over a TCP control connection takes them."""
    for name, extra in (("DONT-FRAGMENT", (DONT_FRAGMENT, b"")),
                        ("EVEN-PORT", (EVEN_PORT, b"\x00")),
                        ("RESERVATION-TOKEN", (RESERVATION_TOKEN, os.urandom(8)))):
        c = client("conf-tcp", transport="tcp")
        r = ask(c, tc.ALLOCATE, [udp_attr(6), extra])
        check("6062 5.1", "TCP relay with %s: 400" % name, code(r) == 400,
              desc(r))
        c.close()
    c = client("conf-tcpdf", transport="tcp")
    r = ask(c, tc.ALLOCATE, [udp_attr(), (DONT_FRAGMENT, b"")])
    check("8656 7.2 step 4", "UDP relay over TCP with DONT-FRAGMENT: success",
          code(r) == 0 or (code(r) == 420 and DONT_FRAGMENT in
                           r.unknown_attributes()), desc(r))
    r = ask(c, tc.CHANNEL_BIND, [(tc.CHANNEL_NUMBER, b"\x40\x00\0\0")])
    check("8656 12.2", "ChannelBind without XOR-PEER-ADDRESS: 400",
          code(r) == 400, desc(r))
    ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    c.close()
    c = client("conf-tcpch", transport="tcp")
    r = ask(c, tc.ALLOCATE, [udp_attr(6)])
    tid = os.urandom(12)
    r = ask(c, tc.CHANNEL_BIND, [(tc.CHANNEL_NUMBER, b"\x40\x00\0\0"),
                                 (tc.XOR_PEER_ADDRESS,
                                  tc.xor_addr("127.0.0.1", 5000, tid))], tid=tid)
    # RFC 6062 has no channels (data flows on data connections); it names
    # no code, so any refusal will do (turnstone documents 400).
    check("6062 5", "ChannelBind on a TCP relay: refused (400 or 403)",
          code(r) in (400, 403), desc(r))
    ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    c.close()


def allocate_capacity():
    held = []
    for i in range(2):
        c = client("conf-tiny%d" % i, srv=TINY)
        held.append(c)
        r = ask(c, tc.ALLOCATE, [udp_attr()])
        check("8656 7.2", "two-port relay range: allocation %d" % (i + 1),
              code(r) == 0, desc(r))
    c = client("conf-tiny-x", srv=TINY)
    r = ask(c, tc.ALLOCATE, [udp_attr()])
    check("8656 7.2", "a third allocation with no relay port left: 508",
          code(r) == 508, desc(r))
    ask(held[0], tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    r = ask(c, tc.ALLOCATE, [udp_attr()])
    check("8656 7.2", "after one is deleted the port serves a new one",
          code(r) == 0, desc(r), coturn="keeps the session after Refresh 0")
    for x in held[1:] + [c]:
        ask(x, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    for x in held + [c]:
        x.close()


def wrong_user():
    c = client("conf-441")
    ask(c, tc.ALLOCATE, [udp_attr()])
    c.set_user("alice", "alicepw")
    r = ask(c, tc.REFRESH, [])
    check("8656 5", "Refresh by another user on the 5-tuple: 441",
          code(r) == 441, desc(r))
    c.set_rest_creds(secret, "conf-441")
    ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    c.close()


# --- RFC 8656 10.2, 12.2: CreatePermission and ChannelBind ---------------
def xpeer(ip, port, tid):
    return (tc.XOR_PEER_ADDRESS, tc.xor_addr(ip, port, tid))


def chan(n):
    return (tc.CHANNEL_NUMBER, struct.pack("!HH", n, 0))


def permissions_channels():
    c = client("conf-perm")
    tid = os.urandom(12)
    r = ask(c, tc.CREATE_PERMISSION, [xpeer("127.0.0.1", 1, tid)], tid=tid)
    check("8656 5", "CreatePermission with no allocation: 437",
          code(r) == 437, desc(r), coturn="answers 400")
    r = ask(c, tc.ALLOCATE, [udp_attr()])
    relay = relayed(r)[0]
    r = ask(c, tc.CREATE_PERMISSION, [])
    check("8656 10.2", "CreatePermission without XOR-PEER-ADDRESS: 400",
          code(r) == 400, desc(r))
    tid = os.urandom(12)
    r = ask(c, tc.CREATE_PERMISSION, [xpeer("::1", 1, tid)], tid=tid)
    check("8656 10.2", "CreatePermission for an IPv6 peer on an IPv4 "
          "allocation: 443", code(r) == 443, desc(r))
    p = peer_sock("127.0.0.1")
    p2 = peer_sock("127.0.0.2")
    tid = os.urandom(12)
    r = ask(c, tc.CREATE_PERMISSION, [xpeer("127.0.0.2", 9, tid),
                                      xpeer("::1", 9, tid)], tid=tid)
    check("8656 10.2", "an IPv4 and an IPv6 peer in one CreatePermission: 443",
          code(r) == 443, desc(r))
    p2.sendto(b"not-installed", relay)
    got = data_or_none(c, 0.6)
    check("8656 10.2", "...and the IPv4 one was not installed either",
          got is None, repr(got))

    tid = os.urandom(12)
    r = ask(c, tc.CREATE_PERMISSION, [xpeer("127.0.0.1", 1, tid)], tid=tid)
    check("8656 10.2", "CreatePermission 127.0.0.1 (port 1)", code(r) == 0,
          desc(r))
    p.sendto(b"any-port", relay)
    got = data_or_none(c)
    check("8656 9", "the permission ignores the port: a peer on another "
          "port is relayed", got is not None and got[2] == b"any-port", repr(got))

    pa = p.getsockname()
    tid = os.urandom(12)
    for rfc, name, attrs, want in (
            ("8656 12.2", "ChannelBind without CHANNEL-NUMBER: 400",
             [xpeer(pa[0], pa[1], tid)], 400),
            ("8656 12.2", "ChannelBind channel 0x3FFF: 400",
             [chan(0x3FFF), xpeer(pa[0], pa[1], tid)], 400),
            ("8656 12.2", "ChannelBind channel 0x5000 (reserved by RFC 8656): "
             "400", [chan(0x5000), xpeer(pa[0], pa[1] + 7, tid)], 400),
            ("8656 12.2", "ChannelBind of an IPv6 peer on an IPv4 allocation: "
             "443", [chan(0x4001), xpeer("::1", 5000, tid)], 443),
            ("8656 12.2", "ChannelBind 0x4000 to the peer", [chan(0x4000),
             xpeer(pa[0], pa[1], tid)], 0),
            ("8656 12.2", "the same channel to the same peer again (refresh)",
             [chan(0x4000), xpeer(pa[0], pa[1], tid)], 0),
            ("8656 12.2", "the bound channel to another peer: 400",
             [chan(0x4000), xpeer(pa[0], pa[1] + 1, tid)], 400),
            ("8656 12.2", "the bound peer to another channel: 400",
             [chan(0x4001), xpeer(pa[0], pa[1], tid)], 400),
            ("8656 12", "the same IP, another port, on another channel: "
             "success", [chan(0x4002), xpeer(pa[0], pa[1] + 1, tid)], 0)):
        r = ask(c, tc.CHANNEL_BIND, attrs, tid=tid)
        check(rfc, name, code(r) == want, desc(r),
              coturn="accepts 0x5000 (RFC 5766 range)" if "0x5000" in name
              else None)
        tid = os.urandom(12)
    p3 = peer_sock("127.0.0.3")
    p3a = p3.getsockname()
    r = ask(c, tc.CHANNEL_BIND, [chan(0x4003), xpeer(p3a[0], p3a[1], tid)],
            tid=tid)
    p3.sendto(b"via-bind", relay)
    got = data_or_none(c)
    check("8656 12.2", "ChannelBind installs the permission: the new peer "
          "arrives as ChannelData", code(r) == 0 and got == ("channel", 0x4003,
                                                             b"via-bind"),
          "%s %r" % (desc(r), got))
    ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    for s in (p, p2, p3):
        s.close()
    c.close()


# --- RFC 8656 11.2, 12.4-12.6: the data path -----------------------------
def send_data():
    p = peer_sock()
    pa = p.getsockname()
    c = tc.Client(MAIN)
    c.send_indication(pa[0], pa[1], b"no-allocation")
    check("8656 5", "Send with no allocation: dropped", peer_gets(p, 0.4) is None)
    c.close()
    c = client("conf-send")
    r = ask(c, tc.ALLOCATE, [udp_attr()])
    relay = relayed(r)[0]

    def send(attrs, fingerprint=False, cls=tc.INDICATION, method=tc.SEND,
             tid=None):
        c.send_raw(tc.build(method, cls, attrs, tid=tid,
                            fingerprint=fingerprint))

    tid = os.urandom(12)
    send([xpeer(pa[0], pa[1], tid), (tc.DATA_ATTR, b"no-perm")], tid=tid)
    check("8656 11.2", "Send without a permission: dropped",
          peer_gets(p, 0.4) is None)
    tid = os.urandom(12)
    ask(c, tc.CREATE_PERMISSION, [xpeer(pa[0], 0, tid)], tid=tid)
    for rfc, name, mk in (
            ("8656 11.2", "Send without DATA: dropped",
             lambda t: [xpeer(pa[0], pa[1], t)]),
            ("8656 11.2", "Send without XOR-PEER-ADDRESS: dropped",
             lambda t: [(tc.DATA_ATTR, b"no-peer")]),
            ("8489 6.3.2", "Send with an unknown comprehension-required "
             "attribute: dropped",
             lambda t: [xpeer(pa[0], pa[1], t), (tc.DATA_ATTR, b"unknown"),
                        (0x7F04, b"x")])):
        tid = os.urandom(12)
        send(mk(tid), tid=tid)
        got = peer_gets(p, 0.4)
        check(rfc, name, got is None, repr(got))
    tid = os.urandom(12)
    raw = bytearray(tc.build(tc.SEND, tc.INDICATION,
                             [xpeer(pa[0], pa[1], tid), (tc.DATA_ATTR, b"fp")],
                             tid=tid, fingerprint=True))
    raw[-1] ^= 1
    c.send_raw(bytes(raw))
    check("8489 7.3", "Send with a wrong FINGERPRINT: dropped",
          peer_gets(p, 0.4) is None)
    tid = os.urandom(12)
    send([xpeer(pa[0], pa[1], tid), (tc.DATA_ATTR, b"opt"), (0xC0F3, b"x")],
         tid=tid, fingerprint=True)
    check("8489 6.3.2", "Send with an unknown comprehension-optional "
          "attribute and a right FINGERPRINT: relayed",
          peer_gets(p) == b"opt")
    tid = os.urandom(12)
    send([xpeer(pa[0], pa[1], tid), (tc.DATA_ATTR, b"data-ind")], tid=tid,
         method=tc.DATA)
    check("8656 11.4", "a Data indication from the client: ignored",
          peer_gets(p, 0.4) is None)
    tid = os.urandom(12)
    send([xpeer(pa[0], pa[1], tid), (tc.DATA_ATTR, b"")], tid=tid)
    check("8656 11.2", "Send with an empty DATA: an empty datagram",
          peer_gets(p) == b"")

    r = c.channel_bind(0x4000, pa[0], pa[1])
    c.send_raw(struct.pack("!HH", 0x4000, 40) + b"short")
    check("8656 12.6", "ChannelData longer than its datagram: dropped",
          peer_gets(p, 0.4) is None)
    c.send_raw(struct.pack("!HH", 0x4000, 3) + b"abc\0")
    check("8656 12.5", "UDP ChannelData with padding: the Length bytes only",
          peer_gets(p) == b"abc")
    c.send_raw(struct.pack("!HH", 0x4000, 0))
    check("8656 12.6", "ChannelData of Length 0: an empty datagram",
          peer_gets(p) == b"")
    c.send_raw(struct.pack("!HH", 0x5000, 3) + b"res")
    check("8656 12.6", "ChannelData on reserved channel 0x5000: dropped",
          peer_gets(p, 0.4) is None)
    p.sendto(b"x" * 5, relay)
    got = data_or_none(c)
    check("8656 12.5", "peer data arrives as ChannelData once bound",
          got == ("channel", 0x4000, b"xxxxx"), repr(got))
    ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    p.close()
    c.close()


def chdata_tcp():
    """RFC 8656 12.5: over TCP, ChannelData is padded to 4 bytes both ways."""
    p = peer_sock()
    pa = p.getsockname()
    c = client("conf-chtcp", transport="tcp")
    r = ask(c, tc.ALLOCATE, [udp_attr()])
    relay = relayed(r)[0]
    r = c.channel_bind(0x4001, pa[0], pa[1])
    check("8656 12.2", "TCP: ChannelBind", code(r) == 0, desc(r))
    # Two padded ChannelData and a Binding in one write: the padding must
    # be skipped to find the next frame.
    tid = os.urandom(12)
    c.sock.sendall(struct.pack("!HH", 0x4001, 5) + b"hello\0\0\0" +
                   struct.pack("!HH", 0x4001, 2) + b"hi\0\0" +
                   tc.build(tc.BINDING, tc.REQUEST, tid=tid))
    got = [peer_gets(p), peer_gets(p)]
    check("8656 12.5", "TCP: padded ChannelData frames reach the peer exactly",
          got == [b"hello", b"hi"], repr(got))
    try:
        m = tc.Msg(c.recv_raw(1.0))
        ok = m.tid == tid and m.cls == tc.SUCCESS
    except (tc.Timeout, ValueError):
        ok = False
    check("8656 12.5", "TCP: the Binding after them is answered", ok)
    p.sendto(b"12345", relay)
    p.sendto(b"abcd", relay)
    raw = b""
    c.sock.settimeout(1.0)
    try:
        while len(raw) < 20:
            d = c.sock.recv(100)
            if not d:
                break
            raw += d
    except socket.timeout:
        pass
    # The padding's value is not specified: only where the next frame is.
    check("8656 12.5", "TCP: the server pads its ChannelData to a multiple "
          "of 4", raw[:9] == struct.pack("!HH", 0x4001, 5) + b"12345" and
          raw[12:20] == struct.pack("!HH", 0x4001, 4) + b"abcd", raw.hex())
    ask(c, tc.REFRESH, [(tc.LIFETIME, tc.u32(0))])
    c.close()
    p.close()


for name, fn in (("stun transports", stun_transports),
                 ("stun classes", stun_classes),
                 ("stun unknown attributes", stun_unknown),
                 ("stun fingerprint", stun_fingerprint),
                 ("stun integrity", stun_integrity),
                 ("stun auth errors", stun_auth_errors),
                 ("allocate order", allocate_order),
                 ("allocate v6-only relay", allocate_v6only),
                 ("allocate even-port, df, lifetime", allocate_even_df_lifetime),
                 ("allocate tcp", allocate_tcp),
                 ("allocate capacity", allocate_capacity),
                 ("wrong user", wrong_user),
                 ("permissions and channels", permissions_channels),
                 ("send and data", send_data),
                 ("channeldata over tcp", chdata_tcp)):
    run(name, fn)
print("%d checks" % counted)
sys.exit(1 if failed else 0)
