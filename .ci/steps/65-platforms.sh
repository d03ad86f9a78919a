#!/usr/bin/env bash
# npm run check:platforms: the native code of macOS (x86_64, arm64: compiled with -Werror, linked,
# imports audited), FreeBSD, NetBSD, OpenBSD, DragonFly (against stand-in headers), AIX and IBM i
# (-D_AIX, -D__PASE__), every source taken from binding.gyp for that OS. First run downloads zig
# (~72 MB) into ~/.cache/sockclose-zig.
set -euo pipefail
node scripts/platforms/check.js --report "$CI_OUT/65-platforms.json"
