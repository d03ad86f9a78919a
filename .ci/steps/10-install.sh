#!/usr/bin/env bash
# The README's first command's install half: everything npm needs, the addon built from source.
set -euo pipefail
npm ci --no-audit --no-fund
