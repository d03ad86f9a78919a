#!/usr/bin/env bash
# The core benchmarks in their quick form (`npm run bench -- --quick`): proves they still build and
# run end to end. Figures from a CI machine are printed for the log, never asserted. About 20 s.
set -euo pipefail
if node bench/core/run.mjs --quick --json="$CI_OUT/88-bench-core.results.txt"; then
  echo '{"passed": 1, "failed": 0}' > "$CI_OUT/88-bench-core.json"
else
  echo '{"passed": 0, "failed": 1}' > "$CI_OUT/88-bench-core.json"
  exit 1
fi
