#!/usr/bin/env bash
# The same suite against the cmake-js build of the same sources.
set -euo pipefail
npm run build:cmake
SOCKCLOSE_BINARY="$PWD/build-cmake/Release/sockclose.node" \
  npx vitest run --reporter=default --reporter=json --outputFile.json="$CI_OUT/30-test-cmake.json"
