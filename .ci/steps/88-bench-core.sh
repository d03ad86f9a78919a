#!/usr/bin/env bash
# The core benchmarks in their quick form (`npm run bench -- --quick`), and the per-call section
# pinned to one CPU (`--pin`): proves they still build and run end to end. Figures from a CI machine
# are printed for the log, never asserted. About 25 s.
set -euo pipefail
passed=0
failed=0
if node bench/core/run.mjs --quick --json="$CI_OUT/88-bench-core.results.txt"; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
if node bench/core/run.mjs --quick --only=per-call --pin; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
echo "{\"passed\": $passed, \"failed\": $failed}" > "$CI_OUT/88-bench-core.json"
[ "$failed" -eq 0 ]
