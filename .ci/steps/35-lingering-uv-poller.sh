#!/usr/bin/env bash
# The lingerer's portable poller (native/poller_uv.cc: a uv_poll_t per connection, what macOS, the
# BSDs and AIX use) run on Linux: the cmake-js build with SOCKCLOSE_POLLER=uv, and the lingering
# tests against it. About 1 minute.
set -euo pipefail
node node_modules/cmake-js/bin/cmake-js compile --out build-uv --CDSOCKCLOSE_WERROR=ON --CDSOCKCLOSE_POLLER=uv >/dev/null
SOCKCLOSE_BINARY="$PWD/build-uv/Release/sockclose.node" \
  npx vitest run test/lingering --reporter=default --reporter=json --outputFile.json="$CI_OUT/35-lingering-uv-poller.json"
