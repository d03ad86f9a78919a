#!/usr/bin/env bash
# AddressSanitizer + UBSan: builds the addon into build-asan/ (cmake-js), proves the chain reports a
# deliberate overflow, then runs the native-touching tests (smoke, core, robustness, lingering)
# against the instrumented binary with gcc's libasan preloaded. Fails on any test failure or any
# sanitizer report. About 3 minutes on 2 cores.
set -euo pipefail
node scripts/asan/run.js --json="$CI_OUT/80-asan.json" --verdict="$CI_OUT/80-asan-sanitizers.json"
