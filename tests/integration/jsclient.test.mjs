// Unit tests of the browser client clients/js/turnstone.js, run in Node 20
// with node:test: a fake fetch (real Response objects), a fake
// RTCPeerConnection and a fake clock, so no server or browser is needed.
//
//   node tests/integration/jsclient.test.mjs
//   TS_JSCLIENT=/tmp/mutant.js node tests/integration/jsclient.test.mjs
//
// TS_JSCLIENT points the tests at another copy of the client (used to check
// that the assertions catch a broken client).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const clientPath = process.env.TS_JSCLIENT ||
  (process.env.TS_SRC ? path.join(process.env.TS_SRC, 'clients/js/turnstone.js')
    : new URL('../../clients/js/turnstone.js', import.meta.url).pathname);
const { getIceServers, createPeerConnection, TurnstoneError } =
  await import(pathToFileURL(clientPath).href);

const T0 = 1764000000000; // ms

// A fresh Response per call (a body can be read once).
function reply(status, body, headers = {}) {
  return () => new Response(typeof body === 'string' ? body : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': typeof body === 'string' ? 'text/html' : 'application/json', ...headers },
  });
}

function iceBody(tag, { ttl = 600, nowMs = T0, policy = 'all' } = {}) {
  const expires = Math.floor(nowMs / 1000) + ttl;
  return {
    iceServers: [
      { urls: ['stun:127.0.0.1:3478'] },
      {
        urls: ['turn:127.0.0.1:3478?transport=udp', 'turn:127.0.0.1:3478?transport=tcp'],
        username: `${expires}:acme:alice`,
        credential: `cred-${tag}`,
      },
    ],
    ttl,
    expires,
    iceTransportPolicy: policy,
  };
}

// Each call takes the next scripted answer: a reply() factory, an Error to
// throw, or a function (url, init) returning either.
function fakeFetch(...script) {
  const calls = [];
  const f = async (url, init = {}) => {
    calls.push({ url, init, headers: new Headers(init.headers) });
    const step = script.shift();
    if (!step) throw new Error(`unexpected fetch #${calls.length}`);
    if (step instanceof Error) throw step;
    const r = await step(url, init);
    if (r instanceof Error) throw r;
    return typeof r === 'function' ? r() : r;
  };
  f.calls = calls;
  return f;
}

// Fake timers and clock; advance() fires due timers in order and lets the
// async work they start settle.
function fakeClock(start = T0) {
  let t = start;
  let seq = 0;
  const timers = new Map();
  const settle = async () => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  };
  return {
    now: () => t,
    tick(ms) { t += ms; },
    setTimeout: (fn, ms) => {
      const id = ++seq;
      timers.set(id, { fn, at: t + ms, ms });
      return id;
    },
    clearTimeout: (id) => { timers.delete(id); },
    pending: () => [...timers.values()].map(({ at, ms }) => ({ at, ms })),
    settle,
    async advance(ms) {
      const end = t + ms;
      for (;;) {
        let next = null;
        for (const [id, tm] of timers) if (tm.at <= end && (!next || tm.at < next[1].at)) next = [id, tm];
        if (!next) break;
        timers.delete(next[0]);
        t = next[1].at;
        next[1].fn();
        await settle();
      }
      t = end;
      await settle();
    },
  };
}

class FakePC {
  static last = null;
  constructor(cfg) {
    this.cfg = cfg;
    this.connectionState = 'new';
    this.signalingState = 'stable';
    this.setCalls = [];
    FakePC.last = this;
  }
  getConfiguration() { return { ...this.cfg }; }
  setConfiguration(c) { this.setCalls.push(c); this.cfg = c; }
  close() { this.connectionState = 'closed'; this.signalingState = 'closed'; }
}

function pcOptions(clock, fetch, extra = {}) {
  return {
    url: 'https://api.example.test',
    token: 'tok',
    fetch,
    RTCPeerConnection: FakePC,
    setTimeout: clock.setTimeout,
    clearTimeout: clock.clearTimeout,
    now: clock.now,
    random: () => 0.5, // jitter factor exactly 1
    ...extra,
  };
}

// ---------------------------------------------------------------- getIceServers

test('getIceServers: POST with bearer token and JSON ttl, trailing slash tolerated', async () => {
  const f = fakeFetch(reply(200, iceBody('a')));
  const ac = new AbortController();
  await getIceServers({ url: 'https://api.example.test/', token: 'tok1', ttl: 600, fetch: f, signal: ac.signal });
  assert.equal(f.calls.length, 1);
  const c = f.calls[0];
  assert.equal(c.url, 'https://api.example.test/v1/ice-servers');
  assert.equal(c.init.method, 'POST');
  assert.equal(c.headers.get('authorization'), 'Bearer tok1');
  assert.equal(c.headers.get('content-type'), 'application/json');
  assert.deepEqual(JSON.parse(c.init.body), { ttl: 600 });
  assert.equal(c.init.signal, ac.signal);
});

test('getIceServers: no ttl means no body and no Content-Type', async () => {
  const f = fakeFetch(reply(200, iceBody('a')));
  await getIceServers({ url: 'http://127.0.0.1:8080', token: 'tok2', fetch: f });
  const c = f.calls[0];
  assert.equal(c.url, 'http://127.0.0.1:8080/v1/ice-servers');
  assert.equal(c.init.method, 'POST');
  assert.equal(c.headers.get('authorization'), 'Bearer tok2');
  assert.equal(c.init.body, undefined);
  assert.equal(c.headers.get('content-type'), null);
});

test('getIceServers: base URL with a path and several trailing slashes', async () => {
  const f = fakeFetch(reply(200, iceBody('a')));
  await getIceServers({ url: 'https://example.test/turn//', token: 't', fetch: f });
  assert.equal(f.calls[0].url, 'https://example.test/turn/v1/ice-servers');
});

test('getIceServers: returns the RTCConfiguration plus expires and ttl', async () => {
  const body = { ...iceBody('a', { ttl: 300, policy: 'relay' }), extra: 'not copied' };
  const f = fakeFetch(reply(200, body));
  const cfg = await getIceServers({ url: 'https://api.example.test', token: 't', ttl: 300, fetch: f });
  assert.deepEqual(cfg, {
    iceServers: body.iceServers,
    iceTransportPolicy: 'relay',
    expires: body.expires,
    ttl: 300,
  });
});

test('getIceServers: 401 throws TurnstoneError with status, code, message', async () => {
  const f = fakeFetch(reply(401, { error: { code: 'invalid_token', message: 'token expired' } },
    { 'WWW-Authenticate': 'Bearer error="invalid_token"' }));
  await assert.rejects(getIceServers({ url: 'https://api.example.test', token: 'old', fetch: f }), (e) => {
    assert.ok(e instanceof TurnstoneError, 'instanceof TurnstoneError');
    assert.ok(e instanceof Error, 'instanceof Error');
    assert.equal(e.name, 'TurnstoneError');
    assert.equal(e.status, 401);
    assert.equal(e.code, 'invalid_token');
    assert.equal(e.message, 'token expired');
    assert.equal(e.retryAfter, null);
    return true;
  });
});

test('getIceServers: 429 carries Retry-After in seconds', async () => {
  const f = fakeFetch(reply(429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'Retry-After': '7' }));
  await assert.rejects(getIceServers({ url: 'https://api.example.test', token: 't', fetch: f }), (e) => {
    assert.ok(e instanceof TurnstoneError);
    assert.equal(e.status, 429);
    assert.equal(e.code, 'rate_limited');
    assert.equal(e.retryAfter, 7);
    return true;
  });
});

test('getIceServers: Retry-After as an HTTP date', async () => {
  const when = new Date(Date.now() + 30000).toUTCString();
  const f = fakeFetch(reply(429, { error: { code: 'rate_limited', message: 'x' } }, { 'Retry-After': when }));
  await assert.rejects(getIceServers({ url: 'https://api.example.test', token: 't', fetch: f }), (e) => {
    assert.ok(e.retryAfter >= 28 && e.retryAfter <= 31, `retryAfter ${e.retryAfter}`);
    return true;
  });
});

test('getIceServers: a non-JSON error page gives code http_error', async () => {
  const f = fakeFetch(reply(502, '<html>Bad Gateway</html>'));
  await assert.rejects(getIceServers({ url: 'https://api.example.test', token: 't', fetch: f }), (e) => {
    assert.ok(e instanceof TurnstoneError);
    assert.equal(e.status, 502);
    assert.equal(e.code, 'http_error');
    assert.equal(e.message, 'HTTP 502');
    return true;
  });
});

test('getIceServers: a 200 without iceServers is refused', async () => {
  const f = fakeFetch(reply(200, { hello: 'world' }));
  await assert.rejects(getIceServers({ url: 'https://api.example.test', token: 't', fetch: f }), (e) => {
    assert.ok(e instanceof TurnstoneError);
    assert.equal(e.code, 'invalid_response');
    return true;
  });
});

// --------------------------------------------------------- createPeerConnection

test('createPeerConnection: merged configuration, renewal at expires - 20% ttl', async () => {
  const clock = fakeClock();
  const first = iceBody('first');
  const second = iceBody('second', { nowMs: T0 + 480000 });
  const f = fakeFetch(reply(200, first), reply(200, second));
  const renewed = [];
  const h = await createPeerConnection(pcOptions(clock, f, {
    ttl: 600,
    configuration: { bundlePolicy: 'max-bundle', iceServers: [{ urls: 'stun:caller.example.test' }] },
    onRenew: (cfg) => renewed.push(cfg),
  }));
  assert.ok(h.pc instanceof FakePC);
  assert.equal(typeof h.stop, 'function');
  assert.deepEqual(h.pc.cfg, { bundlePolicy: 'max-bundle', iceServers: first.iceServers, iceTransportPolicy: 'all' });
  assert.deepEqual(h.config.iceServers, first.iceServers);
  assert.equal(h.config.expires, first.expires);
  assert.deepEqual(JSON.parse(f.calls[0].init.body), { ttl: 600 });
  // 600 s ttl: margin max(30, 0.2 * 600) = 120 s, so renew 480 s from now.
  assert.deepEqual(clock.pending(), [{ at: T0 + 480000, ms: 480000 }]);

  await clock.advance(479999);
  assert.equal(f.calls.length, 1, 'not renewed early');
  assert.equal(h.pc.setCalls.length, 0);

  await clock.advance(1);
  assert.equal(f.calls.length, 2, 'renewed on time');
  assert.deepEqual(JSON.parse(f.calls[1].init.body), { ttl: 600 });
  assert.equal(f.calls[1].headers.get('authorization'), 'Bearer tok');
  assert.equal(h.pc.setCalls.length, 1);
  assert.deepEqual(h.pc.setCalls[0], {
    bundlePolicy: 'max-bundle', iceServers: second.iceServers, iceTransportPolicy: 'all',
  });
  assert.equal(h.config.iceServers[1].credential, 'cred-second');
  assert.equal(renewed.length, 1);
  assert.equal(renewed[0].iceServers[1].credential, 'cred-second');
  // and the next renewal is scheduled from the new answer
  assert.deepEqual(clock.pending(), [{ at: T0 + 960000, ms: 480000 }]);
  h.stop();
});

test('createPeerConnection: renewal delay per ttl and margin', async () => {
  const cases = [
    { ttl: 600, margin: undefined, want: 480000 },   // 20% of 600 = 120 s
    { ttl: 100, margin: undefined, want: 70000 },    // 20 s < 30 s floor
    { ttl: 20, margin: undefined, want: 5000 },      // would be -10 s: 5 s minimum
    { ttl: 600, margin: 0.5, want: 300000 },
    { ttl: 86400, margin: undefined, want: 69120000 },
  ];
  for (const { ttl, margin, want } of cases) {
    const clock = fakeClock();
    const f = fakeFetch(reply(200, iceBody('x', { ttl })));
    const h = await createPeerConnection(pcOptions(clock, f, margin === undefined ? {} : { renewMargin: margin }));
    assert.deepEqual(clock.pending().map((p) => p.ms), [want], `ttl ${ttl} margin ${margin}`);
    h.stop();
  }
});

test('createPeerConnection: time spent fetching counts against the lifetime', async () => {
  const clock = fakeClock();
  const f = fakeFetch(() => { clock.tick(2000); return reply(200, iceBody('x'))(); });
  const h = await createPeerConnection(pcOptions(clock, f));
  assert.deepEqual(clock.pending(), [{ at: T0 + 480000, ms: 478000 }]);
  h.stop();
});

test('createPeerConnection: iceTransportPolicy from the account, relay kept if asked', async () => {
  let clock = fakeClock();
  let h = await createPeerConnection(pcOptions(clock, fakeFetch(reply(200, iceBody('x', { policy: 'relay' })))));
  assert.equal(h.pc.cfg.iceTransportPolicy, 'relay');
  h.stop();
  clock = fakeClock();
  h = await createPeerConnection(pcOptions(clock, fakeFetch(reply(200, iceBody('x', { policy: 'all' }))),
    { configuration: { iceTransportPolicy: 'relay' } }));
  assert.equal(h.pc.cfg.iceTransportPolicy, 'relay');
  h.stop();
});

test('createPeerConnection: getToken supplies the first and every renewal JWT', async () => {
  const clock = fakeClock();
  const f = fakeFetch(reply(200, iceBody('1')), reply(200, iceBody('2', { nowMs: T0 + 480000 })));
  let n = 0;
  const h = await createPeerConnection(pcOptions(clock, f, {
    token: undefined,
    getToken: async () => `jwt-${++n}`,
  }));
  assert.equal(f.calls[0].headers.get('authorization'), 'Bearer jwt-1');
  await clock.advance(480000);
  assert.equal(n, 2);
  assert.equal(f.calls.length, 2);
  assert.equal(f.calls[1].headers.get('authorization'), 'Bearer jwt-2');
  assert.equal(h.pc.setCalls.length, 1);
  h.stop();
});

test('createPeerConnection: a given token is used first, getToken for renewals', async () => {
  const clock = fakeClock();
  const f = fakeFetch(reply(200, iceBody('1')), reply(200, iceBody('2')));
  const h = await createPeerConnection(pcOptions(clock, f, { token: 'initial', getToken: () => 'fresh' }));
  assert.equal(f.calls[0].headers.get('authorization'), 'Bearer initial');
  await clock.advance(480000);
  assert.equal(f.calls[1].headers.get('authorization'), 'Bearer fresh');
  h.stop();
});

test('createPeerConnection: stop() cancels the renewal', async () => {
  const clock = fakeClock();
  const f = fakeFetch(reply(200, iceBody('1')), reply(200, iceBody('2')));
  const h = await createPeerConnection(pcOptions(clock, f));
  assert.equal(clock.pending().length, 1);
  h.stop();
  assert.equal(clock.pending().length, 0);
  await clock.advance(10 * 86400 * 1000);
  assert.equal(f.calls.length, 1);
  assert.equal(h.pc.setCalls.length, 0);
});

test('createPeerConnection: stop() during a renewal aborts it and nothing is applied', async () => {
  const clock = fakeClock();
  let release;
  const f = fakeFetch(reply(200, iceBody('1')),
    (url, init) => new Promise((resolve) => { release = () => resolve(reply(200, iceBody('2'))); }));
  const h = await createPeerConnection(pcOptions(clock, f));
  await clock.advance(480000);
  assert.equal(f.calls.length, 2, 'renewal started');
  h.stop();
  assert.equal(f.calls[1].init.signal.aborted, true, 'in-flight request aborted');
  release();
  await clock.settle();
  assert.equal(h.pc.setCalls.length, 0);
  assert.equal(clock.pending().length, 0);
});

test('createPeerConnection: a closed connection stops renewing', async () => {
  for (const how of ['close', 'signalingState']) {
    const clock = fakeClock();
    const f = fakeFetch(reply(200, iceBody('1')), reply(200, iceBody('2')));
    let tokens = 0;
    const h = await createPeerConnection(pcOptions(clock, f, { getToken: () => `fresh-${++tokens}` }));
    if (how === 'close') h.pc.close();
    else h.pc.signalingState = 'closed';
    await clock.advance(480000);
    assert.equal(tokens, 0, `${how}: no fresh token asked for`);
    assert.equal(f.calls.length, 1, `${how}: no request after close`);
    assert.equal(h.pc.setCalls.length, 0, `${how}: no setConfiguration`);
    assert.equal(clock.pending().length, 0, `${how}: no timer left`);
  }
});

test('createPeerConnection: closed while renewing: the answer is not applied', async () => {
  const clock = fakeClock();
  let pc;
  const f = fakeFetch(reply(200, iceBody('1')), () => { pc.close(); return reply(200, iceBody('2'))(); });
  const h = await createPeerConnection(pcOptions(clock, f));
  pc = h.pc;
  await clock.advance(480000);
  assert.equal(f.calls.length, 2);
  assert.equal(h.pc.setCalls.length, 0);
  assert.equal(clock.pending().length, 0);
});

test('createPeerConnection: failed renewals retry with backoff and honor Retry-After', async () => {
  const clock = fakeClock();
  const errors = [];
  const f = fakeFetch(
    reply(200, iceBody('1')),
    reply(429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'Retry-After': '7' }),
    new TypeError('fetch failed'),
    reply(503, { error: { code: 'store_unavailable', message: 'store' } }),
    reply(200, iceBody('ok', { nowMs: T0 + 480000 + 7000 + 2000 + 4000 })),
    reply(500, { error: { code: 'x', message: 'y' } }),
  );
  const h = await createPeerConnection(pcOptions(clock, f, {
    onError: (err, retry) => errors.push({ err, inMs: retry.inMs }),
  }));
  await clock.advance(480000);
  assert.equal(errors.length, 1);
  assert.ok(errors[0].err instanceof TurnstoneError);
  assert.equal(errors[0].err.code, 'rate_limited');
  assert.equal(errors[0].inMs, 7000, 'Retry-After 7 s beats the 1 s backoff');
  assert.deepEqual(clock.pending().map((p) => p.ms), [7000]);

  await clock.advance(7000);
  assert.equal(f.calls.length, 3);
  assert.equal(errors.length, 2);
  assert.equal(errors[1].err.message, 'fetch failed');
  assert.equal(errors[1].inMs, 2000, 'second failure: 2 s');

  await clock.advance(2000);
  assert.equal(errors.length, 3);
  assert.equal(errors[2].err.status, 503);
  assert.equal(errors[2].inMs, 4000, 'third failure: 4 s');
  assert.equal(h.pc.setCalls.length, 0);

  await clock.advance(4000);
  assert.equal(f.calls.length, 5);
  assert.equal(h.pc.setCalls.length, 1);
  assert.equal(h.pc.setCalls[0].iceServers[1].credential, 'cred-ok');
  assert.deepEqual(clock.pending().map((p) => p.ms), [480000]);

  // success resets the backoff
  await clock.advance(480000);
  assert.equal(errors.length, 4);
  assert.equal(errors[3].inMs, 1000);
  h.stop();
});

test('createPeerConnection: backoff is capped at 60 s and jittered', async () => {
  const clock = fakeClock();
  const fail = reply(503, { error: { code: 'store_unavailable', message: 's' } });
  const f = fakeFetch(reply(200, iceBody('1')), ...Array(9).fill(fail));
  const waits = [];
  let r = 0.5;
  const h = await createPeerConnection(pcOptions(clock, f, {
    random: () => r,
    onError: (err, retry) => waits.push(retry.inMs),
  }));
  await clock.advance(480000);
  for (let i = 0; i < 7; i++) await clock.advance(waits[waits.length - 1]);
  assert.deepEqual(waits, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  r = 0; // lowest jitter: 0.8 x
  await clock.advance(waits[waits.length - 1]);
  assert.equal(waits[8], 48000);
  h.stop();
});

test('createPeerConnection: a failed first fetch rejects and creates no connection', async () => {
  const clock = fakeClock();
  FakePC.last = null;
  const f = fakeFetch(reply(403, { error: { code: 'account_disabled', message: 'disabled' } }));
  await assert.rejects(createPeerConnection(pcOptions(clock, f)), (e) => {
    assert.ok(e instanceof TurnstoneError);
    assert.equal(e.status, 403);
    assert.equal(e.code, 'account_disabled');
    return true;
  });
  assert.equal(FakePC.last, null);
  assert.equal(clock.pending().length, 0);
});
