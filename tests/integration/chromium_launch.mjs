// Launching Chromium for the browser tests (chromium_relay.mjs,
// api_demo.mjs): Debian's /usr/bin/chromium (or $TS_CHROMIUM) driven by
// playwright-core, headless; no browser is ever downloaded.
//
// Network safety first: no name resolves but localhost and the loopback
// literals (so nothing can reach the Internet by name), no background
// fetches, no component or sync traffic. Then what WebRTC on loopback
// needs. docs/interop.md explains each flag.
import { chromium } from 'playwright-core';

export const executablePath = process.env.TS_CHROMIUM || '/usr/bin/chromium';

export const safetyArgs = Object.freeze([
  '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1 , EXCLUDE [::1]',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
]);

// WebRTC ignores the loopback interface unless told otherwise; without
// this no socket to a TURN server on 127.0.0.1 is opened from lo.
export const loopbackArg = '--allow-loopback-in-peer-connection';

// The flags: always safetyArgs, then loopbackArg unless loopback is false
// (only to show that it is needed).
export function chromiumArgs({ loopback = true } = {}) {
  return loopback ? [...safetyArgs, loopbackArg] : [...safetyArgs];
}

// Resolves to playwright's Browser (launch bounded to 30 s). extraArgs:
// e.g. --ignore-certificate-errors-spki-list for a test certificate.
export function launchChromium({ loopback = true, extraArgs = [] } = {}) {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [...chromiumArgs({ loopback }), ...extraArgs],
    timeout: 30000,
  });
}
