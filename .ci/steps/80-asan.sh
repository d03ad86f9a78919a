#!/usr/bin/env bash
# AddressSanitizer + UBSan: builds the addon into build-asan/ (cmake-js), proves the chain reports a
# deliberate overflow, then runs the native-touching tests (smoke, core, robustness, lingering)
# against the instrumented binary with gcc's libasan preloaded. Then the lingering tests again
# against the lingerer's portable poller (native/poller_uv.cc, what macOS, the BSDs and AIX run),
# instrumented the same way, from build-asan-uv/: the only run of that poller's tests in CI (on
# Linux, where epoll is the default). Fails on any test failure or any sanitizer report. About 5
# minutes on 2 cores.
set -euo pipefail
node scripts/asan/run.js --json="$CI_OUT/80-asan.json" --verdict="$CI_OUT/80-asan-sanitizers.json"
node scripts/asan/run.js --poller=uv --no-self-test --json="$CI_OUT/80-asan-uv.json" \
  --verdict="$CI_OUT/80-asan-uv-sanitizers.json" test/lingering
