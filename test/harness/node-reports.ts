// What Node itself reports when a peer resets, which depends on the libuv it ships; the wire does
// not. Tests assert the wire (observeClose's peer/local/kernelError) as fixed facts, and Node's
// report (its 'end'/'error', hiddenReset) through these helpers: exact where the running libuv
// makes it deterministic, consistent with what Node emitted where it does not.
//
// libuv up to 1.51 (here: Node 18.x, 20.x, 22.x and 24.11 ship 1.43 to 1.51) reads an RST that
// follows data as a clean EOF: epoll reports IN|ERR|HUP, a short read returns the data, and the
// POLLHUP shortcut in uv__stream_io reports EOF without reading the error. libuv 1.52 (commit
// 2e2114ed8, "unix: fix partial read handling after POLLHUP", #4997) takes the shortcut only
// without POLLIN, which an RST always sets on Linux: the next read returns ECONNRESET. Measured
// here: Node 20.20 (libuv 1.46) and 22.23 (1.51) emit 'end' (the error still pending) when data
// and the RST are read in one wakeup, 'error' when the RST comes alone; 24.21 and 26.10 (1.52.1)
// emit 'error' ECONNRESET (syscall read) either way, never 'end'. A FIN then RST is
// 'end' everywhere: once the FIN is in, read() returns 0 before any error. The helpers key on
// process.versions.uv, not on Node's major.
import { expect } from 'vitest';

import type { CloseObservation } from '../../lib/harness/index.js';

const [major = 0, minor = 0] = process.versions.uv.split('.').map(Number);

/** The running libuv reports every RST without a FIN before it as a read error, never as 'end'. */
export const libuvReadsResetAsError = major > 1 || (major === 1 && minor >= 52);

/**
 * Checks `hiddenReset` against what Node emitted: true exactly when the wire had a reset, Node
 * said 'end', and Node emitted no reset error.
 */
export function expectHiddenResetConsistent(o: CloseObservation): void {
  const reset = o.peer === 'rst' || o.peer === 'fin-rst';
  const nodeReportedReset = ['ECONNRESET', 'EPIPE', 'ECONNREFUSED', 'ECONNABORTED'].includes(o.node.error?.code ?? '');
  expect(o.hiddenReset, `hiddenReset for peer ${o.peer}, Node ${JSON.stringify(o.node)}`).toBe(reset && o.node.sawEnd && !nodeReportedReset);
}

/**
 * A client that reads until the end met an RST with no FIN before it (the wire is asserted
 * separately): with libuv 1.52+ Node reports it as 'error' ECONNRESET and never as 'end';
 * before, as either ('end' when data came with the RST, the error staying pending).
 */
export function expectNodeReportOfReset(o: CloseObservation): void {
  if (libuvReadsResetAsError) {
    expect(o.node).toMatchObject({ sawEnd: false, error: { code: 'ECONNRESET' } });
    expect(o.node.error!.syscall).toMatch(/^(read|write|connect)$/);
  } else {
    expect(o.node.error?.code === 'ECONNRESET' || o.node.sawEnd, `Node ${JSON.stringify(o.node)}`).toBe(true);
  }
  expectHiddenResetConsistent(o);
}
