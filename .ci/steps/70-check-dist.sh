#!/usr/bin/env bash
# npm run check:dist: prebuilds (linux-x64 native, linux-arm64 cross-compiled, ELF headers checked),
# npm pack (contents and size), installs into fresh projects with no compiler reachable (require,
# import, --ignore-scripts, TypeScript 7 and 5 under nodenext/node16/bundler), and the arm64
# package installed and used under qemu-user on every pinned arm64 Node.
# Works in a temporary copy of the repository: build/, lib/ and prebuilds/ here are untouched.
set -euo pipefail
node scripts/dist/check-dist.js --report "$CI_OUT/70-check-dist.json"
