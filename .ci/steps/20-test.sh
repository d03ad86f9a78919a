#!/usr/bin/env bash
# The README's test command, against the node-gyp build.
set -euo pipefail
npm test -- --reporter=default --reporter=json --outputFile.json="$CI_OUT/20-test.json"
