#!/usr/bin/env bash
# The browser client clients/js/turnstone.js under Node 20's node:test with
# a fake fetch, a fake RTCPeerConnection and a fake clock: request shape,
# the returned RTCConfiguration, TurnstoneError on 401/429 (Retry-After),
# credential renewal timing, getToken, stop() and closed connections
# (jsclient.test.mjs). Also checks that the client loads as an ES module
# and that the demo page's inline module script parses. No server, no
# browser, no network.
#
#   bash test_jsclient.sh [/path/to/turnstone]   (the binary is not used)
set -uo pipefail
dir=$(cd "$(dirname "$0")" && pwd)
src=${TS_SRC:-$(cd "$dir/../.." && pwd)}
export TS_SRC=$src
fail=0
ok() { echo "ok $1"; }
bad() { echo "FAIL $1${2:+: $2}"; fail=1; }

command -v node >/dev/null || { echo "FAIL jsclient: node missing"; exit 1; }
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 20 ] || { echo "FAIL jsclient: node $major, need 20 or later"; exit 1; }

client="$src/clients/js/turnstone.js"
if out=$(node --input-type=module -e "
const m = await import(process.argv[1]);
for (const n of ['getIceServers', 'createPeerConnection', 'TurnstoneError'])
  if (typeof m[n] !== 'function') throw new Error(n + ' not exported');
" "$(node -p 'require("url").pathToFileURL(process.argv[1]).href' "$client")" 2>&1); then
	ok "jsclient: ES module loads and exports its API"
else
	bad "jsclient: ES module loads and exports its API" "$out"
fi

tmp=$(mktemp -d /tmp/ts_jsclient.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# The inline <script type="module"> of the demo page, checked for syntax.
sed -n '/<script type="module">/,/<\/script>/p' "$src/src/api/www/demo.html" |
	sed '1d;$d' >"$tmp/demo.mjs"
if [ -s "$tmp/demo.mjs" ] && out=$(node --check "$tmp/demo.mjs" 2>&1); then
	ok "jsclient: demo page script parses"
else
	bad "jsclient: demo page script parses" "${out:-no inline module script found}"
fi
if grep -Eq '(src|href)="(https?:)?//' "$src/src/api/www/demo.html"; then
	bad "jsclient: demo page loads nothing from the network" "$(grep -Eo '(src|href)="(https?:)?//[^"]*' "$src/src/api/www/demo.html")"
else
	ok "jsclient: demo page loads nothing from the network"
fi

if timeout -k 5 120 node --test-reporter=spec "$dir/jsclient.test.mjs" >"$tmp/out" 2>&1; then
	cat "$tmp/out"
	ok "jsclient: node:test suite"
else
	cat "$tmp/out"
	bad "jsclient: node:test suite" "see the failures above"
fi
[ "$fail" = 0 ] && echo "jsclient: all checks passed" || echo "jsclient: FAILED"
exit "$fail"
