// require('sockclose') loads only what the per-call functions need (issue 11): the lingering close,
// the cluster guard, the harness and the other platforms' modules load on first use. Checked in
// fresh processes, from Node's own module cache.
import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';

/** Runs `code` in a fresh Node process in the package root; returns what it printed, parsed. */
function inFreshProcess<T>(code: string): T {
  return JSON.parse(execFileSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8' })) as T;
}

// The package's own files in require.cache, relative to lib/.
const LOADED = "Object.keys(require.cache).filter((f) => f.startsWith(require('path').join(process.cwd(), 'lib'))).map((f) => require('path').relative(require('path').join(process.cwd(), 'lib'), f))";
const DEFERRED = /^(lingering|cluster|harness|cli|demo)\/|^platform\/(aix|bsd|windows)\.js$/;

describe("require('sockclose')", () => {
  it('does not load the lingering close, the cluster guard, the harness or other platforms', () => {
    const loaded = inFreshProcess<string[]>(`require('sockclose'); console.log(JSON.stringify(${LOADED}))`);
    expect(loaded).toContain('index.js');
    expect(loaded).toContain('linger.js');
    expect(loaded.filter((file) => DEFERRED.test(file))).toEqual([]);
  });

  it('still does not after the per-call functions ran (a probe loads only the running platform)', () => {
    const loaded = inFreshProcess<string[]>(
      `const s = require('sockclose'); const net = require('net');
       const server = net.createServer().listen(0, '127.0.0.1', () => {
         const client = net.connect(server.address().port, '127.0.0.1', () => {
           s.getLinger(client); s.inspectSocket(client); s.peekSocketError(client); s.closeWouldReset(client); s.capabilities();
           client.destroy(); server.close();
           console.log(JSON.stringify(${LOADED}));
         });
       });`,
    );
    expect(loaded).toContain('platform/linux.js');
    expect(loaded.filter((file) => DEFERRED.test(file))).toEqual([]);
  });

  it('loads a deferred module on first access, then serves the same function every time', () => {
    const result = inFreshProcess<{ before: string[]; after: string[]; same: boolean; kind: string; descriptor: { get: boolean; writable: boolean } }>(
      `const s = require('sockclose');
       const before = ${LOADED};
       const first = s.lingeringClose;
       const after = ${LOADED};
       const d = Object.getOwnPropertyDescriptor(s, 'lingeringClose');
       console.log(JSON.stringify({ before, after, same: first === s.lingeringClose && first === require('./lib/lingering/index.js').lingeringClose,
         kind: typeof first, descriptor: { get: typeof d.get === 'function', writable: d.writable } }));`,
    );
    expect(result.before.filter((file) => file.startsWith('lingering/'))).toEqual([]);
    expect(result.after).toContain('lingering/index.js');
    expect(result.after.filter((file) => file.startsWith('cluster/'))).toEqual([]);
    expect(result.kind).toBe('function');
    expect(result.same).toBe(true);
    // After the first access it is a plain data property: no getter on later calls.
    expect(result.descriptor).toEqual({ get: false, writable: false });
  });

  it('exports the per-call functions as plain data properties (a getter would cost every call)', () => {
    const kinds = inFreshProcess<Record<string, string>>(
      `const s = require('sockclose'); const out = {};
       for (const name of ['getLinger', 'setLinger', 'peekSocketError', 'takeSocketError', 'inspectSocket', 'closeWouldReset', 'hardReset', 'socketFd', 'shutdownWrite', 'capabilities'])
         out[name] = 'value' in Object.getOwnPropertyDescriptor(s, name) ? typeof s[name] : 'getter';
       console.log(JSON.stringify(out));`,
    );
    expect(Object.values(kinds)).toEqual(Array(10).fill('function'));
  });
});
