// Every module `require('sockclose')` loads keeps its exports object in V8's fast mode. One in
// dictionary mode (tsc's `export { x } from` redefines `exports.x = void 0` as an accessor, which
// does that) makes every call through it from another module a generic property load: ~110
// instructions on each platform() call, measured under callgrind (issue 11).
import { execFileSync } from 'node:child_process';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';

describe("the exports objects of sockclose's modules", () => {
  it('are all in fast mode after require("sockclose") and a call of each per-call function', () => {
    const lib = path.join(root, 'lib');
    const script = `
      const net = require('node:net');
      const sockclose = require(${JSON.stringify(path.join(lib, 'index.js'))});
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const client = net.connect(server.address().port, '127.0.0.1', () => {
          sockclose.getLinger(client); sockclose.setLinger(client, false); sockclose.peekSocketError(client);
          sockclose.closeWouldReset(client); sockclose.inspectSocket(client); sockclose.takeSocketError(client);
          const modules = Object.keys(require.cache).filter((file) => file.startsWith(${JSON.stringify(lib + path.sep)}));
          const slow = modules.filter((file) => !%HasFastProperties(require.cache[file].exports));
          console.log(JSON.stringify({ count: modules.length, slow }));
          client.destroy(); server.close();
        });
      });`;
    const output = execFileSync(process.execPath, ['--allow-natives-syntax', '-e', script], { encoding: 'utf8', timeout: 20_000 });
    const { count, slow } = JSON.parse(output) as { count: number; slow: string[] };
    expect(count).toBeGreaterThan(10);
    expect(slow).toEqual([]);
  });
});
