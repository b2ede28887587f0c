// Turnstone ICE-servers client: short-lived TURN credentials for WebRTC.
//
// A dependency-free ES module for browsers and Node 20. It asks a Turnstone
// API (POST /v1/ice-servers, docs/api.md) for an RTCConfiguration and can
// keep an RTCPeerConnection's TURN credentials fresh before they expire.
//
//   import { getIceServers, createPeerConnection } from './turnstone.js';
//   const config = await getIceServers({ url: 'https://turn.example.com', token });
//   const pc = new RTCPeerConnection(config);

/** Error thrown for a non-2xx answer (or an unreadable 2xx answer). */
export class TurnstoneError extends Error {
  /**
   * @param {string} message
   * @param {{status: number, code: string, retryAfter?: number|null}} info
   *   status: the HTTP status; code: the API's error code ("invalid_token",
   *   "rate_limited", ...) or "http_error" when the body was not an API
   *   error (a proxy's page, say); retryAfter: seconds from Retry-After, or
   *   null when absent or unreadable.
   */
  constructor(message, { status, code, retryAfter = null }) {
    super(message);
    this.name = 'TurnstoneError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/** Seconds from a Retry-After value (delta-seconds or HTTP-date), or null. */
function parseRetryAfter(value, nowMs) {
  if (value == null) return null;
  const v = String(value).trim();
  if (/^\d+$/.test(v)) return Number(v);
  const when = Date.parse(v);
  if (Number.isNaN(when)) return null;
  return Math.max(0, Math.ceil((when - nowMs) / 1000));
}

/**
 * Fetches short-lived ICE servers.
 *
 * Cross-origin pages can read Retry-After only if the server exposes it
 * (Access-Control-Expose-Headers); otherwise retryAfter is null.
 *
 * @param {object} o
 * @param {string} o.url    API base, e.g. "https://turn.example.com" (a trailing slash is fine)
 * @param {string} o.token  the JWT, sent as "Authorization: Bearer <token>"
 * @param {number} [o.ttl]  requested lifetime in seconds; the account's maximum caps it
 * @param {Function} [o.fetch]  fetch implementation (default: globalThis.fetch)
 * @param {AbortSignal} [o.signal]
 * @returns {Promise<{iceServers: object[], iceTransportPolicy: string, expires: number, ttl: number}>}
 *   an RTCConfiguration, plus the non-standard `expires` (unix seconds) and
 *   `ttl` (seconds granted)
 * @throws {TurnstoneError} on a non-2xx answer; network errors and aborts
 *   reject with fetch's own error
 */
export async function getIceServers({ url, token, ttl, fetch: f = globalThis.fetch, signal } = {}) {
  if (!url) throw new TypeError('turnstone: url is required');
  if (typeof f !== 'function') throw new TypeError('turnstone: no fetch implementation');
  const headers = { Accept: 'application/json', Authorization: `Bearer ${token}` };
  const init = { method: 'POST', headers, signal };
  if (ttl !== undefined && ttl !== null) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify({ ttl });
  }
  const res = await f(`${String(url).replace(/\/+$/, '')}/v1/ice-servers`, init);

  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: handled below
  }
  if (!res.ok) {
    const e = body && typeof body === 'object' && body.error;
    const code = e && typeof e.code === 'string' ? e.code : 'http_error';
    const message = e && typeof e.message === 'string' ? e.message : `HTTP ${res.status}`;
    throw new TurnstoneError(message, {
      status: res.status,
      code,
      retryAfter: parseRetryAfter(res.headers && res.headers.get('Retry-After'), Date.now()),
    });
  }
  if (!body || !Array.isArray(body.iceServers)) {
    throw new TurnstoneError('response has no iceServers', { status: res.status, code: 'invalid_response' });
  }
  return {
    iceServers: body.iceServers,
    iceTransportPolicy: body.iceTransportPolicy,
    expires: body.expires,
    ttl: body.ttl,
  };
}

const MAX_TIMER_MS = 0x7fffffff; // setTimeout's limit (~24.8 days)

/**
 * Creates an RTCPeerConnection with Turnstone's ICE servers and renews its
 * credentials before they expire, until the connection is closed or stop()
 * is called.
 *
 * Renewal runs at expires - max(30 s, renewMargin * ttl), never sooner than
 * 5 s from now. The lifetime is measured on the local clock from the
 * response's ttl, so a skewed client clock does not matter. Renewal calls
 * getToken() when given (for a fresh JWT), then
 * pc.setConfiguration({...pc.getConfiguration(), iceServers, iceTransportPolicy}).
 * A failed renewal is retried after max(Retry-After, backoff), the backoff
 * doubling from 1 s to 60 s.
 *
 * @param {object} o
 * @param {string} o.url  API base
 * @param {string} [o.token]  a JWT; if absent, getToken() supplies the first one too
 * @param {() => string|Promise<string>} [o.getToken]  returns a fresh JWT for each renewal
 * @param {number} [o.ttl]  requested lifetime in seconds
 * @param {number} [o.renewMargin=0.2]  renew this fraction of the ttl early (at least 30 s)
 * @param {Function} [o.RTCPeerConnection]  constructor (default: globalThis.RTCPeerConnection)
 * @param {object} [o.configuration]  other RTCConfiguration fields. Its
 *   iceServers are replaced by the API's; its iceTransportPolicy "relay"
 *   is kept even if the account says "all", otherwise the account's applies.
 * @param {(config: object) => void} [o.onRenew]  after each successful renewal
 * @param {(err: Error, retry: {inMs: number}) => void} [o.onError]  after each failed renewal
 * @param {Function} [o.fetch]  fetch implementation
 * @param {Function} [o.setTimeout]  timer functions and clock (ms), for tests
 * @param {Function} [o.clearTimeout]
 * @param {() => number} [o.now]
 * @param {() => number} [o.random]  jitter source in [0, 1) (backoff is multiplied by 0.8-1.2)
 * @returns {Promise<{pc: RTCPeerConnection, config: object, stop: () => void}>}
 *   `config` always holds the latest configuration fetched.
 * @throws {TurnstoneError} when the first fetch fails (no connection is created)
 */
export async function createPeerConnection({
  url,
  token,
  ttl,
  getToken,
  renewMargin = 0.2,
  RTCPeerConnection: PC = globalThis.RTCPeerConnection,
  onRenew,
  onError,
  configuration = {},
  fetch: f = globalThis.fetch,
  setTimeout: setT = globalThis.setTimeout,
  clearTimeout: clearT = globalThis.clearTimeout,
  now = Date.now,
  random = Math.random,
} = {}) {
  if (typeof PC !== 'function') throw new TypeError('turnstone: no RTCPeerConnection');
  const policy = (server) =>
    configuration.iceTransportPolicy === 'relay' ? 'relay' : server || configuration.iceTransportPolicy || 'all';

  let abort = null;
  const fetchConfig = async (jwt) => {
    abort = typeof AbortController === 'function' ? new AbortController() : null;
    const start = now();
    const cfg = await getIceServers({ url, token: jwt, ttl, fetch: f, signal: abort ? abort.signal : undefined });
    return { cfg, start };
  };

  const first = await fetchConfig(token != null || !getToken ? token : await getToken());
  const handle = {
    pc: new PC({ ...configuration, iceServers: first.cfg.iceServers, iceTransportPolicy: policy(first.cfg.iceTransportPolicy) }),
    config: first.cfg,
    stop,
  };
  const pc = handle.pc;
  let timer = null;
  let stopped = false;
  let failures = 0;

  const closed = () => pc.connectionState === 'closed' || pc.signalingState === 'closed';

  function stop() {
    stopped = true;
    if (timer !== null) clearT(timer);
    timer = null;
    if (abort) abort.abort();
  }

  function arm(ms) {
    timer = setT(renew, Math.min(Math.max(0, ms), MAX_TIMER_MS));
  }

  // When to renew, in ms from now, for a config fetched at local time start.
  function renewIn({ cfg, start }) {
    const lifeS = Number.isFinite(cfg.ttl) && cfg.ttl > 0 ? cfg.ttl : cfg.expires - start / 1000;
    const marginS = Math.max(30, renewMargin * (Number.isFinite(cfg.ttl) ? cfg.ttl : 0));
    const at = start + (lifeS - marginS) * 1000;
    return Math.max(5000, at - now());
  }

  async function renew() {
    timer = null;
    if (stopped || closed()) return stop();
    let got;
    try {
      const jwt = getToken ? await getToken() : token;
      if (stopped || closed()) return stop();
      got = await fetchConfig(jwt);
      if (stopped || closed()) return stop();
      pc.setConfiguration({
        ...pc.getConfiguration(),
        iceServers: got.cfg.iceServers,
        iceTransportPolicy: policy(got.cfg.iceTransportPolicy),
      });
    } catch (err) {
      if (stopped || closed()) return stop();
      const backoff = Math.min(60000, 1000 * 2 ** failures) * (0.8 + 0.4 * random());
      failures++;
      const retryMs = Math.max(backoff, err && err.retryAfter != null ? err.retryAfter * 1000 : 0);
      arm(retryMs);
      if (onError) onError(err, { inMs: retryMs });
      return;
    }
    failures = 0;
    handle.config = got.cfg;
    arm(renewIn(got));
    if (onRenew) onRenew(got.cfg);
  }

  arm(renewIn(first));
  return handle;
}
