// The platform's errno numbers (`os.constants.errno`), loaded at first use: they are needed only
// once a call has failed, and `node:os` would cost every require('sockclose') ~0.3 ms (issue 11).
import type os from 'node:os';

let numbers: typeof os.constants.errno | undefined;

/** `os.constants.errno`, loaded on first call. */
export function errno(): typeof os.constants.errno {
  return (numbers ??= (require('node:os') as typeof os).constants.errno);
}
