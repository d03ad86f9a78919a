// The last line `npm run check:dist` prints: the counts, and whether a tarball was written (with
// --out) and if not, why. A release script reading only the end of the log must not miss it.
'use strict';
const path = require('node:path');

/**
 * `check:dist: P passed, F failed; …`: with --out, the tarball written, or "NO tarball written"
 * and the first failed checks; without --out, that none was asked for.
 */
function lastLine({ passed, checks, out, verifiedTarball }) {
  const failed = checks.filter((entry) => !entry.ok);
  const counts = `check:dist: ${passed} passed, ${failed.length} failed`;
  if (!out) return `${counts}; no tarball kept (--out DIR keeps the verified one)`;
  if (verifiedTarball) return `${counts}; verified tarball written: ${verifiedTarball}`;
  const why =
    checks.length === 0
      ? 'nothing was checked'
      : failed.length === 0
        ? 'the checks stopped before the end'
        : `failed: ${failed.slice(0, 3).map((entry) => entry.name).join('; ')}${failed.length > 3 ? `; and ${failed.length - 3} more` : ''}`;
  return `${counts}; NO tarball written to ${path.resolve(out)} (${why})`;
}

module.exports = { lastLine };
