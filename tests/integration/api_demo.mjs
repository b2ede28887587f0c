// Chromium (Debian's /usr/bin/chromium, driven by playwright-core; no
// browser is downloaded; launched with the flags of chromium_launch.mjs)
// opens the daemon's own demo page, /demo#token=JWT&policy=relay. The page
// fetches POST /v1/ice-servers with the token, connects two
// RTCPeerConnections through the returned TURN servers (relay only) and
// publishes what happened as window.turnstoneDemo (src/api/www/demo.html):
//   {state, error, config, pair: {localType, remoteType, localAddress,
//    localPort, remoteAddress, remotePort, protocol, relayProtocol, url},
//    rttMs, pingMs, relayAddresses: [...]}
// relayAddresses holds addresses only, so the relay ports are read from
// the pair and from the page's log ("A candidate relay udp ADDR:PORT").
//
//   node api_demo.mjs --name NAME --url URL --relay-range MIN-MAX
//        --want-url SUBSTR [--absent-url SUBSTR] [--screenshot PNG]
//
// --want-url: every TURN URL the API handed out, and the selected pair's
// server URL, must contain it (e.g. "127.0.0.1:3478?"); --absent-url: no
// URL may contain it. Every relay port must lie in --relay-range (the
// server that should have relayed; the ranges of the servers in a test
// are disjoint). Prints "ok NAME" / "FAIL NAME: detail" lines, exits 1 on
// a failure. Every wait is bounded; a watchdog ends the run after 100 s.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { launchChromium } from './chromium_launch.mjs';

function arg(name, def) {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}
const name = arg('name', 'demo');
const url = arg('url');
const range = (arg('relay-range', '') || '').split('-').map(Number);
const wantUrl = arg('want-url');
const absentUrl = arg('absent-url');
const screenshot = arg('screenshot');
if (!url || range.length !== 2 || !range.every(Number.isInteger) || !wantUrl) {
  console.error('usage: node api_demo.mjs --name N --url URL --relay-range MIN-MAX --want-url S [--absent-url S] [--screenshot PNG]');
  process.exit(2);
}
if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(url)) {
  console.error('api_demo.mjs: loopback URLs only');
  process.exit(2);
}
let failed = 0;
function check(what, cond, detail = '') {
  const n = `${name}: ${what}`;
  if (cond) {
    console.log(`ok ${n}${detail ? ` (${detail})` : ''}`);
  } else {
    failed++;
    console.log(`FAIL ${n}: ${detail || 'failed'}`);
  }
  return !!cond;
}

const watchdog = setTimeout(() => {
  console.log(`FAIL ${name}: watchdog: the run took over 100 s`);
  process.exit(1);
}, 100000);

const inRange = (p) => Number.isInteger(p) && p >= range[0] && p <= range[1];

const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text()); });
  // Only loopback: any other request is refused before it leaves.
  await page.route(/.*/, (route) => {
    const u = route.request().url();
    return /^(http:\/\/127\.0\.0\.1:\d+\/|data:|about:)/.test(u) ? route.continue() : route.abort();
  });
  const t0 = Date.now();
  await page.goto(url, { timeout: 15000 });
  let demo = null;
  try {
    await page.waitForFunction(() => window.turnstoneDemo && window.turnstoneDemo.state,
      null, { timeout: 30000, polling: 200 });
    demo = await page.evaluate(() => JSON.parse(JSON.stringify(window.turnstoneDemo)));
  } catch (e) {
    demo = { state: 'timeout', error: String(e) };
  }
  const logText = await page.evaluate(() => document.getElementById('log')?.textContent || '');
  const secs = ((Date.now() - t0) / 1000).toFixed(1);
  const connected = demo.state === 'connected';
  if (!check("window.turnstoneDemo.state === 'connected' within 30 s", connected,
    connected ? `${secs} s` : `state ${demo.state} after ${secs} s: ${demo.error || ''}\n--- page log\n${logText}` +
    `${pageErrors.length ? `\n--- page errors\n${pageErrors.join('\n')}` : ''}`)) {
    if (screenshot) {
      mkdirSync(dirname(screenshot), { recursive: true });
      await page.screenshot({ path: screenshot.replace(/\.png$/, '-failed.png'), fullPage: true }).catch(() => {});
    }
  } else {
    console.log(`   rtt ${demo.rttMs} ms, ping ${demo.pingMs} ms`);
    const cfg = demo.config || {};
    const turnUrls = (cfg.iceServers || []).flatMap((s) => [].concat(s.urls))
      .filter((u) => /^turns?:/.test(u));
    check('the API answered with TURN URLs of the expected server',
      turnUrls.length > 0 && turnUrls.every((u) => u.includes(wantUrl)), JSON.stringify(turnUrls));
    if (absentUrl) {
      const all = (cfg.iceServers || []).flatMap((s) => [].concat(s.urls));
      check(`no URL of the other server (${absentUrl})`, !all.some((u) => u.includes(absentUrl)),
        JSON.stringify(all));
    }
    const p = demo.pair || {};
    check('selected pair is relay/relay', p.localType === 'relay' && p.remoteType === 'relay',
      JSON.stringify(p));
    check(`selected local relay port is in ${range[0]}-${range[1]}`,
      p.localAddress === '127.0.0.1' && inRange(p.localPort), `${p.localAddress}:${p.localPort}`);
    check(`selected remote relay port is in ${range[0]}-${range[1]}`,
      p.remoteAddress === '127.0.0.1' && inRange(p.remotePort), `${p.remoteAddress}:${p.remotePort}`);
    if (p.url != null) {
      check('selected pair was allocated on the expected server', String(p.url).includes(wantUrl), p.url);
    }
    const ra = demo.relayAddresses || [];
    check('relayAddresses: relay candidates were gathered, all on 127.0.0.1',
      ra.length > 0 && ra.every((a) => a === '127.0.0.1'), JSON.stringify(ra));
    const logged = [...logText.matchAll(/candidate (\w+) (\w+) ([0-9a-f.:[\]]+):(\d+)/g)]
      .map((m) => ({ type: m[1], proto: m[2], addr: m[3], port: Number(m[4]) }));
    const relays = logged.filter((c) => c.type === 'relay');
    check(`every relay candidate (page log) has a port in ${range[0]}-${range[1]}`,
      relays.length > 0 && relays.length === ra.length && relays.every((c) => inRange(c.port)),
      relays.map((c) => `${c.addr}:${c.port}`).join(' ') || 'none logged');
    check('only relay candidates were gathered (policy=relay)', logged.every((c) => c.type === 'relay'),
      logged.map((c) => c.type).join(','));
    check('rttMs is reported', typeof demo.rttMs === 'number' && demo.rttMs >= 0, String(demo.rttMs));
    if (screenshot) {
      mkdirSync(dirname(screenshot), { recursive: true });
      await page.screenshot({ path: screenshot, fullPage: true });
      check(`screenshot ${screenshot}`, true);
    }
  }
  check('no page errors', pageErrors.length === 0, pageErrors.join(' | '));
} catch (e) {
  check('run', false, String((e && e.stack) || e));
} finally {
  await browser.close().catch(() => {});
  clearTimeout(watchdog);
}
process.exit(failed ? 1 : 0);
