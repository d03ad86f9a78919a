#!/usr/bin/env bash
# The Node version matrix (scripts/dist/node-versions.json): official Node binaries from the npm
# registry (cached in ${XDG_CACHE_HOME:-~/.cache}/sockclose-node between runs on one machine),
# each loading the same build/Release binary, the node:test compatibility suite on every line's
# first LTS and newest release, the vitest suite on the newest 26 (on the newest 22 and 24, the
# tests of what reads Node's handles: node-versions.json says which), and package.json engines
# checked against what this proves. Reads this checkout; writes nothing into it.
set -euo pipefail
node scripts/dist/node-matrix.js --report "$CI_OUT/71-node-matrix.json"
