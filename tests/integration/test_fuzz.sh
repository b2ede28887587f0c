#!/usr/bin/env bash
# Builds the libFuzzer targets (the STUN/ChannelData decoder; JWTs and the
# API request body; the TURN core, fuzz_turn.c; the ice-servers body, the
# admin API's JSON, the config file, TCP/TLS stream framing and ICE URLs)
# with clang and runs the first three for FUZZ_SECONDS (60 by default, as
# CI does) and the others for FUZZ_SHORT (5), so that none rots. A crash,
# leak, timeout or sanitizer report fails the test.
set -euo pipefail
src=${TS_SRC:?TS_SRC must point at the source tree}
cd "$src"
make -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-60}" FUZZ_SHORT="${FUZZ_SHORT:-5}" 2>&1 | tail -n 25
