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

  it('loads a deferred module on the first call of one of its functions, each a plain property, the same function every time', () => {
    const result = inFreshProcess<{ accessed: string[]; called: string[]; same: boolean; kind: string; name: string; lingering: number; descriptor: { get: boolean; writable: boolean } }>(
      `const s = require('sockclose');
       const first = s.lingeringCloseStats;
       const accessed = ${LOADED};
       const lingering = first().lingering;
       const called = ${LOADED};
       const d = Object.getOwnPropertyDescriptor(s, 'lingeringCloseStats');
       console.log(JSON.stringify({ accessed, called, same: first === s.lingeringCloseStats, kind: typeof first, name: first.name, lingering,
         descriptor: { get: typeof d.get === 'function', writable: d.writable } }));`,
    );
    // Taken (as the ES module entry takes it at import), nothing loads; called, its module does.
    expect(result.accessed.filter((file) => file.startsWith('lingering/'))).toEqual([]);
    expect(result.called).toContain('lingering/index.js');
    expect(result.called.filter((file) => file.startsWith('cluster/'))).toEqual([]);
    expect(result).toMatchObject({ kind: 'function', name: 'lingeringCloseStats', lingering: 0, same: true });
    // A plain data property: no getter on any call.
    expect(result.descriptor).toEqual({ get: false, writable: false });
  });

  it('gives each deferred function the name and length of the function it loads', () => {
    const seen = inFreshProcess<{ before: Record<string, [string, number]>; loaded: Record<string, [string, number]> }>(
      `const s = require('sockclose');
       const modules = { clusterHangExposure: 'cluster/index.js', protectCluster: 'cluster/index.js', enableLingeringClose: 'lingering/index.js',
         lingeringClose: 'lingering/index.js', lingeringCloseStats: 'lingering/index.js', auditCloses: 'audit/audit-closes.js' };
       const before = {}, loaded = {};
       for (const name of Object.keys(modules)) before[name] = [s[name].name, s[name].length];
       for (const [name, file] of Object.entries(modules)) { const f = require('./lib/' + file)[name]; loaded[name] = [f.name, f.length]; }
       console.log(JSON.stringify({ before, loaded }));`,
    );
    // Read before anything loaded, compared with the real functions loaded afterwards.
    expect(Object.keys(seen.before)).toHaveLength(6);
    expect(seen.before).toEqual(seen.loaded);
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

describe('the bundled entry (scripts/bundle-entry.js)', () => {
  it('keeps one instance of each module: its own file, required later, is the bundled one', () => {
    const result = inFreshProcess<{ bundled: boolean; same: boolean[]; loaded: boolean; filenames: boolean }>(
      `const s = require('sockclose');
       const fs = require('fs'); const path = require('path');
       const lib = path.join(process.cwd(), 'lib');
       const bundled = fs.readFileSync(path.join(lib, 'index.js'), 'utf8').startsWith('// Generated by scripts/bundle-entry.js');
       const same = [
         require('./lib/linger.js').getLinger === s.getLinger,
         require('./lib/socket-error.js').peekSocketError === s.peekSocketError,
         require('./lib/inspect-socket.js').closeWouldReset === s.closeWouldReset,
         require('./lib/hard-reset.js').hardReset === s.hardReset,
       ];
       const own = Object.keys(require.cache).filter((f) => f.startsWith(lib + path.sep));
       const loaded = own.every((f) => require.cache[f].loaded);
       const filenames = own.every((f) => require.cache[f].filename === f);
       console.log(JSON.stringify({ bundled, same, loaded, filenames }));`,
    );
    expect(result).toEqual({ bundled: true, same: [true, true, true, true], loaded: true, filenames: true });
  });
});
