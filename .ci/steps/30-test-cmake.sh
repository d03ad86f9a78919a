#!/usr/bin/env bash
# The cmake-js build of the same sources, on the tests of the native layer's two halves: the probes
# (test/core) and the lingerer (test/lingering). The rest is covered without a third full run:
# both builds compile the same sources with the same flags (test/platforms/build-equivalence, step
# 20), the whole suite ran on the node-gyp build (step 20), and the ASan step runs every test that
# reaches the native layer on a cmake-js build of its own.
set -euo pipefail
npm run build:cmake
SOCKCLOSE_BINARY="$PWD/build-cmake/Release/sockclose.node" \
  npx vitest run test/core test/lingering --reporter=default --reporter=json --outputFile.json="$CI_OUT/30-test-cmake.json"
