#!/usr/bin/env bash
# valgrind memcheck over a script that calls every native function on every path (normal build):
# no memcheck error, no definite leak, after a self-test that proves the check catches both. About
# 1 minute on 2 cores.
set -euo pipefail
if node scripts/asan/valgrind.js 50; then
  echo '{"passed": 1, "failed": 0}' > "$CI_OUT/85-valgrind.json"
else
  echo '{"passed": 0, "failed": 1}' > "$CI_OUT/85-valgrind.json"
  exit 1
fi
