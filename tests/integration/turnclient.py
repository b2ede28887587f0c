#!/usr/bin/python3
"""A small raw-socket STUN/TURN client for targeted protocol checks.

Written from RFC 8489 (STUN) and RFC 8656 (TURN) with only the standard
library, so it shares no code, and no misreadings, with the server under
test. It builds messages byte by byte, which lets a test send exactly what
it wants: no attributes at all, an unknown attribute, a replayed message, a
truncated one.

Library use (the test scripts import it):

    c = Client(("127.0.0.1", port))            # UDP; transport="tcp" or "tls"
    r = c.binding()                             # -> Msg
    c.set_rest_creds(secret, "user-id", ttl=600)   # or c.set_user("alice", "pw")
    r = c.allocate()                            # does the 401 round itself
    r.error_code() -> (code, reason) or None

Command line (used by lib.sh to wait for a server):

    turnclient.py binding HOST PORT [TIMEOUT]   exit 0 if a Binding success
                                                response came back
    turnclient.py rest-pass SECRET USERNAME     print the REST password
"""
import base64
import binascii
import hashlib
import hmac
import os
import socket
import ssl
import struct
import sys
import time

MAGIC = 0x2112A442

# methods
BINDING = 0x001
ALLOCATE = 0x003
REFRESH = 0x004
SEND = 0x006
DATA = 0x007
CREATE_PERMISSION = 0x008
CHANNEL_BIND = 0x009
CONNECT = 0x00A             # RFC 6062
CONNECTION_BIND = 0x00B
CONNECTION_ATTEMPT = 0x00C

# classes
REQUEST, INDICATION, SUCCESS, ERROR = 0, 1, 2, 3

# attributes
MAPPED_ADDRESS = 0x0001
USERNAME = 0x0006
MESSAGE_INTEGRITY = 0x0008
ERROR_CODE = 0x0009
UNKNOWN_ATTRIBUTES = 0x000A
CHANNEL_NUMBER = 0x000C
LIFETIME = 0x000D
XOR_PEER_ADDRESS = 0x0012
DATA_ATTR = 0x0013
REALM = 0x0014
NONCE = 0x0015
XOR_RELAYED_ADDRESS = 0x0016
REQUESTED_ADDRESS_FAMILY = 0x0017
REQUESTED_TRANSPORT = 0x0019
CONNECTION_ID = 0x002A
XOR_MAPPED_ADDRESS = 0x0020
SOFTWARE = 0x8022
FINGERPRINT = 0x8028

ATTR_NAMES = {
    0x0001: "MAPPED-ADDRESS", 0x0006: "USERNAME", 0x0008: "MESSAGE-INTEGRITY",
    0x0009: "ERROR-CODE", 0x000A: "UNKNOWN-ATTRIBUTES",
    0x000C: "CHANNEL-NUMBER", 0x000D: "LIFETIME", 0x0012: "XOR-PEER-ADDRESS",
    0x0013: "DATA", 0x0014: "REALM", 0x0015: "NONCE",
    0x0016: "XOR-RELAYED-ADDRESS", 0x0017: "REQUESTED-ADDRESS-FAMILY",
    0x0019: "REQUESTED-TRANSPORT", 0x0020: "XOR-MAPPED-ADDRESS",
    0x002A: "CONNECTION-ID",
    0x001C: "MESSAGE-INTEGRITY-SHA256", 0x001D: "PASSWORD-ALGORITHM",
    0x001E: "USERHASH", 0x8022: "SOFTWARE", 0x8028: "FINGERPRINT",
    0x802B: "RESPONSE-ORIGIN", 0x802C: "OTHER-ADDRESS",
    0x8002: "PASSWORD-ALGORITHMS", 0x8003: "ALTERNATE-DOMAIN",
}


def msg_type(method, cls):
    """Interleave method and class bits as RFC 8489 section 5 draws them."""
    return ((method & 0xF80) << 2) | ((method & 0x070) << 1) | (method & 0xF) \
        | ((cls & 2) << 7) | ((cls & 1) << 4)


def split_type(t):
    method = ((t & 0x3E00) >> 2) | ((t & 0x00E0) >> 1) | (t & 0xF)
    cls = ((t >> 7) & 2) | ((t >> 4) & 1)
    return method, cls


def pad4(n):
    return (4 - n % 4) % 4


def xor_addr(ip, port, tid):
    """Encode an XOR-*-ADDRESS value for an IPv4 or IPv6 literal."""
    xport = port ^ (MAGIC >> 16)
    if ":" in ip:
        raw = socket.inet_pton(socket.AF_INET6, ip)
        key = struct.pack("!I", MAGIC) + tid
        x = bytes(a ^ b for a, b in zip(raw, key))
        return struct.pack("!BBH", 0, 2, xport) + x
    raw = socket.inet_pton(socket.AF_INET, ip)
    x = bytes(a ^ b for a, b in zip(raw, struct.pack("!I", MAGIC)))
    return struct.pack("!BBH", 0, 1, xport) + x


def unxor_addr(v, tid):
    if len(v) < 8:
        raise ValueError("short address")
    fam, xport = v[1], struct.unpack("!H", v[2:4])[0]
    port = xport ^ (MAGIC >> 16)
    if fam == 1:
        raw = bytes(a ^ b for a, b in zip(v[4:8], struct.pack("!I", MAGIC)))
        return socket.inet_ntop(socket.AF_INET, raw), port
    if fam == 2 and len(v) >= 20:
        key = struct.pack("!I", MAGIC) + tid
        raw = bytes(a ^ b for a, b in zip(v[4:20], key))
        return socket.inet_ntop(socket.AF_INET6, raw), port
    raise ValueError("bad address family %d" % fam)


class Msg:
    """A decoded STUN message: type fields, transaction id, attribute list."""

    def __init__(self, raw):
        if len(raw) < 20:
            raise ValueError("short message (%d bytes)" % len(raw))
        t, ln, cookie = struct.unpack("!HHI", raw[:8])
        if t & 0xC000 or cookie != MAGIC:
            raise ValueError("not STUN")
        if 20 + ln > len(raw):
            raise ValueError("length %d beyond datagram %d" % (ln, len(raw)))
        self.raw = raw[:20 + ln]
        self.method, self.cls = split_type(t)
        self.tid = raw[8:20]
        self.attrs = []  # (type, value, offset of the attribute header)
        off = 20
        while off + 4 <= 20 + ln:
            at, al = struct.unpack("!HH", raw[off:off + 4])
            if off + 4 + al > 20 + ln:
                raise ValueError("attribute 0x%04x overruns message" % at)
            self.attrs.append((at, raw[off + 4:off + 4 + al], off))
            off += 4 + al + pad4(al)

    def get(self, at):
        for t, v, _ in self.attrs:
            if t == at:
                return v
        return None

    def has(self, at):
        return self.get(at) is not None

    def error_code(self):
        v = self.get(ERROR_CODE)
        if v is None or len(v) < 4:
            return None
        return (v[2] & 7) * 100 + v[3], v[4:].decode("utf-8", "replace")

    def code(self):
        """0 for a success response, the error code for an error."""
        if self.cls == SUCCESS:
            return 0
        ec = self.error_code()
        return ec[0] if ec else -1

    def xaddr(self, at):
        v = self.get(at)
        return unxor_addr(v, self.tid) if v is not None else None

    def lifetime(self):
        v = self.get(LIFETIME)
        return struct.unpack("!I", v)[0] if v and len(v) == 4 else None

    def unknown_attributes(self):
        v = self.get(UNKNOWN_ATTRIBUTES) or b""
        return [struct.unpack("!H", v[i:i + 2])[0]
                for i in range(0, len(v) - 1, 2)]

    def check_fingerprint(self):
        """True/False for a present FINGERPRINT, None when absent."""
        for t, v, off in self.attrs:
            if t == FINGERPRINT:
                want = (binascii.crc32(self.raw[:off]) ^ 0x5354554E) & 0xFFFFFFFF
                return v == struct.pack("!I", want)
        return None

    def check_integrity(self, key, sha256=False):
        """MESSAGE-INTEGRITY, or MESSAGE-INTEGRITY-SHA256 with sha256:
        True/False when present, None when absent."""
        at, digest = (0x001C, hashlib.sha256) if sha256 else \
            (MESSAGE_INTEGRITY, hashlib.sha1)
        size = digest().digest_size
        for t, v, off in self.attrs:
            if t == at:
                head = bytearray(self.raw[:off])
                struct.pack_into("!H", head, 2, off + 4 + size - 20)
                return hmac.compare_digest(
                    v, hmac.new(key, bytes(head), digest).digest())
        return None

    def describe(self):
        names = {0: "request", 1: "indication", 2: "success", 3: "error"}
        s = "method 0x%03x %s" % (self.method, names[self.cls])
        ec = self.error_code()
        if ec:
            s += " %d %s" % ec
        s += " [" + ", ".join(ATTR_NAMES.get(t, "0x%04x" % t)
                              for t, _, _ in self.attrs) + "]"
        return s

    def __len__(self):
        return len(self.raw)


def build(method, cls, attrs=(), tid=None, key=None, fingerprint=False):
    """Encode a message. attrs: (type, bytes) pairs in order. With key,
    MESSAGE-INTEGRITY is appended; with fingerprint, FINGERPRINT last."""
    tid = tid or os.urandom(12)
    body = b""
    for at, v in attrs:
        body += struct.pack("!HH", at, len(v)) + v + b"\0" * pad4(len(v))
    t = msg_type(method, cls)
    if key is not None:
        head = struct.pack("!HHI", t, len(body) + 24, MAGIC) + tid
        mac = hmac.new(key, head + body, hashlib.sha1).digest()
        body += struct.pack("!HH", MESSAGE_INTEGRITY, 20) + mac
    if fingerprint:
        head = struct.pack("!HHI", t, len(body) + 8, MAGIC) + tid
        crc = (binascii.crc32(head + body) ^ 0x5354554E) & 0xFFFFFFFF
        body += struct.pack("!HHI", FINGERPRINT, 4, crc)
    return struct.pack("!HHI", t, len(body), MAGIC) + tid + body


def u32(v):
    return struct.pack("!I", v)


def transport_attr(proto=17):
    return (REQUESTED_TRANSPORT, bytes([proto, 0, 0, 0]))


def rest_password(secret, username):
    mac = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def rest_username(user_id, ttl=600, now=None):
    return "%d:%s" % (int(now if now is not None else time.time()) + ttl,
                      user_id)


def lt_key(username, realm, password):
    return hashlib.md5(("%s:%s:%s" % (username, realm, password))
                       .encode()).digest()


PROXY_V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_v2(client, server):
    """A PROXY protocol version 2 header (command PROXY, TCP over IPv4), as
    a load balancer starts a stream to tcp-proxy-port with: client and
    server are (ip, port), the client's and the address it connected to."""
    return PROXY_V2_SIG + b"\x21\x11" + struct.pack("!H", 12) + \
        socket.inet_aton(client[0]) + socket.inet_aton(server[0]) + \
        struct.pack("!HH", client[1], server[1])


def stream_open(s):
    """Whether the server still holds stream s open: nothing to read yet
    is open, EOF or a reset is not."""
    s.setblocking(False)
    try:
        return s.recv(1) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        s.setblocking(True)


class Timeout(Exception):
    pass


class Client:
    """One client 5-tuple (a UDP socket, or one TCP connection)."""

    def __init__(self, server, transport="udp", bind=None, timeout=2.0):
        self.server = server
        self.transport = transport
        fam = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
        self.stream = transport in ("tcp", "tls")
        typ = socket.SOCK_STREAM if self.stream else socket.SOCK_DGRAM
        self.sock = socket.socket(fam, typ)
        # Bind to loopback by default so getsockname() is the address the
        # server sees (and nothing is ever sent from a wildcard address).
        if bind is None and server[0] in ("127.0.0.1", "::1"):
            bind = (server[0], 0)
        if bind:
            self.sock.bind(bind)
        self.sock.settimeout(timeout)
        if self.stream:
            self.sock.connect(server)
        if transport == "tls":
            # The tests' certificates are self-signed: what is checked is
            # that TLS carries TURN, not the chain (peer_cert() tells it).
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self.sock = ctx.wrap_socket(self.sock)
        self.timeout = timeout
        self.buf = b""
        self.username = self.password = None
        self.realm = self.nonce = self.key = None
        self.pending = []  # datagrams read while waiting for something else

    def close(self):
        self.sock.close()

    def local(self):
        return self.sock.getsockname()

    def peer_cert(self):
        """The server certificate (DER) of a TLS client."""
        return self.sock.getpeercert(binary_form=True)

    # credentials
    def set_user(self, username, password, realm=None):
        self.username, self.password = username, password
        self.realm_override = realm
        self.key = None

    def set_rest_creds(self, secret, user_id, ttl=600, realm=None):
        u = rest_username(user_id, ttl)
        self.set_user(u, rest_password(secret, u), realm)
        return u

    # raw I/O
    def send_raw(self, data):
        if self.stream:
            self.sock.sendall(data + b"\0" * pad4(len(data)))
        else:
            self.sock.sendto(data, self.server)

    def recv_raw(self, timeout=None):
        """One datagram (UDP) or one framed message (TCP); Timeout if none."""
        deadline = time.monotonic() + (timeout if timeout is not None
                                       else self.timeout)
        if not self.stream:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Timeout()
                self.sock.settimeout(left)
                try:
                    data, src = self.sock.recvfrom(65536)
                except socket.timeout:
                    raise Timeout()
                if src[:2] == tuple(self.server[:2]):
                    return data
        while True:
            frame = self._tcp_frame()
            if frame is not None:
                return frame
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout()
            self.sock.settimeout(left)
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                raise Timeout()
            if not d:
                raise ConnectionError("server closed the TCP connection")
            self.buf += d

    def _tcp_frame(self):
        if len(self.buf) < 4:
            return None
        first, ln = struct.unpack("!HH", self.buf[:4])
        if first & 0xC000 == 0x4000:
            need = 4 + ln + pad4(ln)
            take = 4 + ln
        else:
            need = take = 20 + ln
        if len(self.buf) < need:
            return None
        frame, self.buf = self.buf[:take], self.buf[need:]
        return frame

    def transact(self, raw, timeout=None, tries=None):
        """Send raw (a request) and wait for the response with the same
        transaction id, retransmitting over UDP. Other messages read on the
        way are kept in self.pending."""
        tid = raw[8:20]
        total = timeout if timeout is not None else self.timeout
        tries = tries or (1 if self.stream else 4)
        deadline = time.monotonic() + total
        for i in range(tries):
            self.send_raw(raw)
            step = deadline if i == tries - 1 else min(
                deadline, time.monotonic() + total / tries)
            while time.monotonic() < step:
                try:
                    data = self.recv_raw(step - time.monotonic())
                except Timeout:
                    break
                try:
                    m = Msg(data)
                except ValueError:
                    self.pending.append(data)
                    continue
                if m.tid == tid and m.cls in (SUCCESS, ERROR):
                    return m
                self.pending.append(data)
        raise Timeout("no response to method 0x%03x" % split_type(
            struct.unpack("!H", raw[:2])[0])[0])

    # STUN
    def binding(self, attrs=(), fingerprint=False, timeout=None):
        return self.transact(build(BINDING, REQUEST, attrs,
                                   fingerprint=fingerprint), timeout)

    # TURN with the long-term mechanism
    def _auth_attrs(self):
        realm = getattr(self, "realm_override", None) or self.realm
        return [(USERNAME, self.username.encode()),
                (REALM, realm.encode()), (NONCE, self.nonce)]

    def signed(self, method, attrs=(), tid=None, fingerprint=False):
        """Encode a request signed with the current nonce and key."""
        realm = getattr(self, "realm_override", None) or self.realm
        key = lt_key(self.username, realm, self.password)
        return build(method, REQUEST, list(attrs) + self._auth_attrs(),
                     tid=tid, key=key, fingerprint=fingerprint)

    def request(self, method, attrs=(), fingerprint=False, timeout=None):
        """An authenticated request: learn REALM/NONCE from a 401 (or a
        new NONCE from 438) and retry once or twice."""
        if self.nonce is None:
            r = self.transact(build(method, REQUEST, attrs,
                                    fingerprint=fingerprint), timeout)
            if r.code() != 401:
                return r
            self._learn(r)
        for _ in range(2):
            r = self.transact(self.signed(method, attrs,
                                          fingerprint=fingerprint), timeout)
            if r.code() in (401, 438) and r.has(NONCE) and \
                    r.get(NONCE) != self.nonce:
                self._learn(r)
                continue
            return r
        return r

    def _learn(self, r):
        if r.has(REALM):
            self.realm = r.get(REALM).decode("utf-8", "replace")
        if r.has(NONCE):
            self.nonce = r.get(NONCE)

    def allocate(self, extra=(), proto=17, lifetime=None):
        attrs = [transport_attr(proto)]
        if lifetime is not None:
            attrs.append((LIFETIME, u32(lifetime)))
        return self.request(ALLOCATE, attrs + list(extra))

    def refresh(self, lifetime):
        return self.request(REFRESH, [(LIFETIME, u32(lifetime))])

    def create_permission(self, *peers):
        # XOR encoding needs the transaction id, so build by hand.
        tid = os.urandom(12)
        attrs = [(XOR_PEER_ADDRESS, xor_addr(ip, 0, tid)) for ip in peers]
        return self._request_tid(CREATE_PERMISSION, attrs, tid)

    def channel_bind(self, channel, ip, port):
        tid = os.urandom(12)
        attrs = [(CHANNEL_NUMBER, struct.pack("!HH", channel, 0)),
                 (XOR_PEER_ADDRESS, xor_addr(ip, port, tid))]
        return self._request_tid(CHANNEL_BIND, attrs, tid)

    def _request_tid(self, method, attrs, tid):
        """request() for attributes that depend on the transaction id."""
        if self.nonce is None:
            r = self.transact(build(method, REQUEST, attrs, tid=tid))
            if r.code() != 401:
                return r
            self._learn(r)
        for _ in range(2):
            r = self.transact(self.signed(method, attrs, tid=tid))
            if r.code() in (401, 438) and r.has(NONCE) and \
                    r.get(NONCE) != self.nonce:
                self._learn(r)
                tid = os.urandom(12)
                attrs = [(t, xor_addr(*unxor_addr(v, r.tid), tid)
                          if t == XOR_PEER_ADDRESS else v) for t, v in attrs]
                continue
            return r
        return r

    # RFC 6062
    def connect(self, ip, port, timeout=None):
        """Connect request; the answer may take as long as the server's
        connection attempt."""
        tid = os.urandom(12)
        attrs = [(XOR_PEER_ADDRESS, xor_addr(ip, port, tid))]
        if timeout is not None:
            old, self.timeout = self.timeout, timeout
            try:
                return self._request_tid(CONNECT, attrs, tid)
            finally:
                self.timeout = old
        return self._request_tid(CONNECT, attrs, tid)

    def connection_bind(self, connid):
        """ConnectionBind on this (new) connection, with the credentials
        of the control connection (set_user/set_rest_creds)."""
        return self.request(CONNECTION_BIND, [(CONNECTION_ID, connid)])

    def send_indication(self, ip, port, data):
        tid = os.urandom(12)
        self.send_raw(build(SEND, INDICATION,
                            [(XOR_PEER_ADDRESS, xor_addr(ip, port, tid)),
                             (DATA_ATTR, data)], tid=tid))

    def channel_data(self, channel, data):
        self.send_raw(struct.pack("!HH", channel, len(data)) + data)

    def recv_data(self, timeout=2.0):
        """Next relayed datagram: ('data', (ip, port), payload) from a Data
        indication or ('channel', number, payload) from ChannelData."""
        deadline = time.monotonic() + timeout
        while True:
            if self.pending:
                data = self.pending.pop(0)
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Timeout()
                data = self.recv_raw(left)
            if len(data) >= 4 and data[0] & 0xC0 == 0x40:
                ch, ln = struct.unpack("!HH", data[:4])
                return "channel", ch, data[4:4 + ln]
            try:
                m = Msg(data)
            except ValueError:
                continue
            if m.method == DATA and m.cls == INDICATION:
                return "data", m.xaddr(XOR_PEER_ADDRESS), m.get(DATA_ATTR)


def main(argv):
    if len(argv) >= 3 and argv[0] == "binding":
        timeout = float(argv[3]) if len(argv) > 3 else 1.0
        try:
            c = Client((argv[1], int(argv[2])), timeout=timeout)
            r = c.binding()
        except (Timeout, OSError) as e:
            print("no answer: %s" % e, file=sys.stderr)
            return 1
        print(r.describe())
        return 0 if r.cls == SUCCESS else 1
    if len(argv) == 3 and argv[0] == "rest-pass":
        print(rest_password(argv[1], argv[2]))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
