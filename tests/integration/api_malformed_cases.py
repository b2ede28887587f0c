#!/usr/bin/python3
"""Malformed requests against the API (test_api_malformed.sh).

    api_malformed_cases.py PORT [CAFILE]

With CAFILE the API speaks HTTPS (verified against CAFILE) and a subset
runs. Three kinds of case (docs/api.md, "Errors"):
  - ours: a malformed head libmicrohttpd 0.9.75 lets through gets our
    JSON error (status, Content-Type, error.code), one response only, and
    the connection closed;
  - libmicrohttpd's: refused by the library itself before Turnstone sees
    it; only the documented status is checked (its HTML body, and the
    head it sends twice for a bad Content-Length, are its own);
  - lenient but valid requests that must still be served.

Bodies over what we accept get our JSON 413 too.

Prints "ok ..." / "FAIL ..." lines (lib.sh ts_run_checks). Loopback only;
every socket has a timeout and is closed; a few seconds in all."""
import json
import os
import re
import socket
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checks import check, status  # noqa: E402

POST = b"POST /v1/ice-servers HTTP/1.1\r\nHost: x\r\n"
GET = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
SMUGGLED = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"

# (name, request, status): our JSON bad_request, connection closed.
OURS = [
    ("HTTP/1.1 without Host", b"GET /healthz HTTP/1.1\r\n\r\n", 400),
    ("two Host fields", GET + b"Host: y\r\n\r\n", 400),
    ("whitespace before the colon of Content-Length",
     POST + b"Content-Length : 34\r\n\r\n" + SMUGGLED, 400),
    ("whitespace before the colon of Transfer-Encoding",
     POST + b"Transfer-Encoding : chunked\r\n\r\n0\r\n\r\n" + SMUGGLED, 400),
    ("a folded Content-Length",
     POST + b"Content-Length:\r\n 34\r\n\r\n" + SMUGGLED, 400),
    ("a folded Transfer-Encoding",
     POST + b"Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n" + SMUGGLED, 400),
    ("a folded Host", b"GET /healthz HTTP/1.1\r\nHost:\r\n x\r\n\r\n", 400),
    ("whitespace before the first field line",
     b"GET /healthz HTTP/1.1\r\n Host: x\r\n\r\n", 400),
    ("a tab in a field name", GET + b"X\tA: b\r\n\r\n", 400),
    ("a bare CR in a field value", GET + b"X-A: b\rc\r\n\r\n", 400),
    ("a control character in the target",
     b"GET /healthz\x01 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    ("a DEL in the query", b"GET /healthz?a=\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
     400),
    ("a method that is not a token", b"G(T /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
     400),
]

# (name, request, status): libmicrohttpd's own answer, as documented.
BIG = b"a" * 60000
MHD = [
    ("Content-Length abc", POST + b"Content-Length: abc\r\n\r\n", 400),
    ("Content-Length 1x", POST + b"Content-Length: 1x\r\n\r\n", 400),
    ("Content-Length -1", POST + b"Content-Length: -1\r\n\r\n", 400),
    ("Content-Length 2^64", POST + b"Content-Length: 18446744073709551616\r\n\r\n",
     413),
    ("a field line without a colon", GET + b"NoColon\r\n\r\n", 400),
    ("a 60 KB field", GET + b"X-A: " + BIG + b"\r\n\r\n", 431),
    ("a 60 KB target", b"GET /" + BIG + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    ("the HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505),
    ("HTTP/3.0", b"GET /healthz HTTP/3.0\r\nHost: x\r\n\r\n", 505),
    ("an HTTP/0.9 request line", b"GET /healthz\r\n\r\n", 400),
    ("a version that is not HTTP", b"GET /healthz FOO/1.1\r\nHost: x\r\n\r\n",
     400),
    ("a chunk size that is not hex",
     POST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400),
    ("a chunk without its CRLF",
     POST + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n", 400),
    ("a chunk size over 64 bits",
     POST + b"Transfer-Encoding: chunked\r\n\r\nfffffffffffffffffff\r\n\r\n", 413),
]

# (name, request, status, error code): bodies over what we accept.
CHUNK_2K = b"800\r\n" + b"a" * 2048 + b"\r\n0\r\n\r\n"
SIZE = [
    ("a declared body over 1 KiB, refused before it is read",
     POST + b"Content-Type: application/json\r\nContent-Length: 2048\r\n\r\n",
     413, "payload_too_large"),
    ("a chunked body over 1 KiB",
     POST + b"Content-Type: application/json\r\n"
     b"Transfer-Encoding: chunked\r\n\r\n" + CHUNK_2K,
     413, "payload_too_large"),
]

# (name, request, status, error code or None): valid, still served.
FINE = [
    ("HTTP/1.0 without Host", b"GET /healthz HTTP/1.0\r\n\r\n", 200, None),
    ("an empty Host", b"GET /healthz HTTP/1.1\r\nHost:\r\n\r\n", 200, None),
    ("HTTP/1.2 (read as 1.1)", b"GET /healthz HTTP/1.2\r\nHost: x\r\n\r\n", 200,
     None),
    ("obs-text in a field value", GET + b"X-A: caf\xc3\xa9\r\n\r\n", 200, None),
    ("a tab inside a field value", GET + b"X-A: a\tb\r\n\r\n", 200, None),
    ("Transfer-Encoding: Chunked",
     b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n"
     b"0\r\n\r\n", 200, None),
    ("a %-escaped control character in the path",
     b"GET /healthz%01 HTTP/1.1\r\nHost: x\r\n\r\n", 404, "not_found"),
]


def connect(port, ctx):
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    if ctx:
        s = ctx.wrap_socket(s, server_hostname="127.0.0.1")
    return s


def first_len(buf):
    """Length of the first complete response in buf, or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    m = re.search(rb"\r\nContent-Length: *(\d+)", buf[:end], re.I)
    n = end + 4 + (int(m.group(1)) if m else 0)
    return n if len(buf) >= n else None


def exchange(s, data, wait=2.0):
    """Send data; what comes back (until EOF, wait seconds, or 0.3 s
    after a first complete response) and whether the server closed."""
    try:
        s.sendall(data)
    except OSError:
        pass  # a refusal may close before all of a long request is sent
    buf, t_end = b"", time.time() + wait
    while time.time() < t_end:
        s.settimeout(max(0.05, t_end - time.time()))
        try:
            d = s.recv(65536)
        except socket.timeout:
            return buf, False
        except OSError:
            return buf, True
        if not d:
            return buf, True
        buf += d
        if first_len(buf) is not None:
            t_end = min(t_end, time.time() + 0.3)
    return buf, False


def parse(buf):
    """(status, content type, error code or None, status lines)."""
    n = first_len(buf)
    heads = len(re.findall(rb"(?:^|\r\n)HTTP/1\.[01] \d{3} ", buf))
    if n is None:
        return None, None, None, heads
    head, body = buf.split(b"\r\n\r\n", 1)
    status = int(head.split(b" ")[1])
    m = re.search(rb"\r\nContent-Type: *([^\r]*)", head, re.I)
    ctype = m.group(1).decode("latin1") if m else None
    code = None
    try:
        code = json.loads(body[:n - len(head) - 4])["error"]["code"]
    except (ValueError, KeyError, TypeError):
        pass
    return status, ctype, code, heads


def one(port, ctx, data):
    s = connect(port, ctx)
    try:
        buf, eof = exchange(s, data)
    finally:
        s.close()
    return buf, eof


def json_answer(port, ctx, name, data, want, want_code, closed):
    """One JSON answer (want, want_code); closed: the server closes after
    it (None: either way)."""
    buf, eof = one(port, ctx, data)
    st, ctype, code, heads = parse(buf)
    ok = (st == want and ctype == "application/json" and
          code == want_code and heads == 1 and closed in (None, eof))
    check("%s: JSON %d%s%s" % (name, want, " " + want_code if want_code else "",
                               ", closed" if closed else ""),
          ok, "" if ok else "%r, closed %s" % (buf[:300], eof))


def ours(port, ctx, cases):
    for name, data, want in cases:
        json_answer(port, ctx, name, data, want, "bad_request", True)


def mhd(port, ctx, cases):
    for name, data, want in cases:
        buf, eof = one(port, ctx, data)
        st, ctype, _, heads = parse(buf)
        check("%s: libmicrohttpd's %d, closed" % (name, want),
              st == want and eof,
              "%s, %d status line(s), closed %s" % (ctype, heads, eof)
              if st == want else "%r, closed %s" % (buf[:200], eof))


def fine(port, ctx, cases):
    for name, data, want, want_code in cases:
        json_answer(port, ctx, name, data, want, want_code, None)


def keepalive(port, ctx):
    """Every request on a connection goes through the checks, not only the
    first: a good one, then one without Host, on the same connection."""
    s = connect(port, ctx)
    try:
        b1, _ = exchange(s, GET + b"\r\n")
        b2, eof = exchange(s, b"GET /healthz HTTP/1.1\r\n\r\n")
    finally:
        s.close()
    got = (parse(b1)[0], parse(b2)[:3], eof)
    check("a malformed second request on a kept-alive connection: JSON 400",
          got == (200, (400, "application/json", "bad_request"), True),
          repr(got))


def main():
    port = int(sys.argv[1])
    ctx = None
    if len(sys.argv) > 2:
        ctx = ssl.create_default_context(cafile=sys.argv[2])
        ours(port, ctx, OURS[:1] + OURS[4:5])
        mhd(port, ctx, MHD[1:2])
        fine(port, ctx, FINE[:1])
    else:
        ours(port, ctx, OURS)
        mhd(port, ctx, MHD)
        json_answer(port, ctx, *SIZE[0], True)
        json_answer(port, ctx, *SIZE[1], None)
        fine(port, ctx, FINE)
    keepalive(port, ctx)
    # The daemon still serves after all that.
    st = parse(one(port, ctx, GET + b"Connection: close\r\n\r\n")[0])[0]
    check("GET /healthz afterwards: 200", st == 200, "got %s" % st)
    sys.exit(status())


if __name__ == "__main__":
    main()
