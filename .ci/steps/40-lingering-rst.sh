#!/usr/bin/env bash
# bench:rst at its full N = 200 attempts per cell (10 cells per server mode, two judges): every
# lingering-close cell must be all clean; the plain-Node cells show the failures. Records one
# result per lingering cell. Measured: 16 s on the 2-core machine, under 40 s with it loaded;
# LINGERING_RST_RUNS lowers N if a slower machine needs it.
set -euo pipefail
node bench/lingering/rst.mjs --runs "${LINGERING_RST_RUNS:-200}" --json-out "$CI_OUT/40-lingering-rst.json"
