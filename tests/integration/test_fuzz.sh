#!/usr/bin/env bash
# Builds the libFuzzer targets (the STUN/ChannelData decoder; JWTs and the
# API request body; the TURN core, fuzz_turn.c) with clang
# and runs each for FUZZ_SECONDS (60 by default, as CI does). A crash, leak
# or sanitizer report fails the test.
set -euo pipefail
src=${TS_SRC:?TS_SRC must point at the source tree}
cd "$src"
make -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-60}" 2>&1 | tail -n 25
