#!/usr/bin/env bash
# docs/api/ must be what the TSDoc in lib/*.d.ts renders to (npm run docs:api regenerates it).
set -euo pipefail
if node scripts/dist/api-docs.js --check; then
  echo '{"passed":1,"failed":0}' > "$CI_OUT/72-api-docs.json"
else
  echo '{"passed":0,"failed":1}' > "$CI_OUT/72-api-docs.json"
  exit 1
fi
