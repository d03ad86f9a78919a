#!/usr/bin/env bash
# The cmake-js build of the same sources, on the probes' tests (test/core). The rest is covered
# without another run: both builds compile the same sources with the same flags
# (test/platforms/build-equivalence, step 20), the whole suite ran on the node-gyp build (step 20),
# and the ASan step runs every test that reaches the native layer (the lingerer's, on both pollers)
# on cmake-js builds of its own. The portable poller (native/poller_uv.cc: macOS, the BSDs, AIX) is
# compiled here too, optimised and with -Werror, as the release build would be: its tests run in
# the ASan step, at -O1, where some of gcc's warnings are not computed.
set -euo pipefail
npm run build:cmake
node node_modules/cmake-js/bin/cmake-js compile --out build-uv --CDSOCKCLOSE_WERROR=ON --CDSOCKCLOSE_POLLER=uv >/dev/null
SOCKCLOSE_BINARY="$PWD/build-cmake/Release/sockclose.node" \
  npx vitest run test/smoke.test.ts test/core --reporter=default --reporter=json --outputFile.json="$CI_OUT/30-test-cmake.json"
