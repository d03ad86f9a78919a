// The package as users import it: by name, from CommonJS and from ES modules, with the same API.
import { execFileSync } from 'node:child_process';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';

function run(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
}

describe('entry points', () => {
  it("require('sockclose') and import 'sockclose' export the same functions", () => {
    const cjs = JSON.parse(run(['-p', "JSON.stringify(Object.keys(require('sockclose')).sort())"])) as string[];
    const esm = JSON.parse(
      run(['--input-type=module', '-e', "import * as m from 'sockclose'; console.log(JSON.stringify(Object.keys(m).filter((k) => k !== 'default').sort()))"]),
    ) as string[];
    expect(esm).toEqual(cjs.filter((name) => name !== '__esModule'));
    expect(cjs).toEqual(expect.arrayContaining(['hardReset', 'peekSocketError', 'takeSocketError', 'setLinger', 'getLinger', 'shutdownWrite', 'inspectSocket', 'closeWouldReset', 'socketFd', 'capabilities', 'ErrorCodes']));
  });

  it('import loads the lingering close, the cluster guard and the audit on first use, as require does, with the same functions', () => {
    const script = [
      "import * as m from 'sockclose';",
      "import { createRequire } from 'node:module';",
      'const require = createRequire(import.meta.url);',
      "const loaded = () => Object.keys(require.cache).filter((file) => /[\\/]lib[\\/](lingering|cluster|audit)[\\/]/.test(file)).length;",
      'const atImport = loaded();',
      "const cjs = require('sockclose');",
      'const sameAtImport = m.lingeringCloseStats === cjs.lingeringCloseStats && m.enableLingeringClose === cjs.enableLingeringClose;',
      'const stats = m.lingeringCloseStats();',
      'console.log(JSON.stringify({ atImport, sameAtImport, afterUse: loaded(), lingering: stats.lingering, same: m.lingeringCloseStats === cjs.lingeringCloseStats, name: m.enableLingeringClose.name }));',
    ].join('\n');
    const out = JSON.parse(run(['--input-type=module', '-e', script])) as Record<string, unknown>;
    expect(out).toEqual({ atImport: 0, sameAtImport: true, afterUse: expect.any(Number), lingering: 0, same: true, name: 'enableLingeringClose' });
    expect(out.afterUse).toBeGreaterThan(0);
  });

  it('the ES module default export is the CommonJS module', () => {
    const out = run(['--input-type=module', '-e', "import d, { hardReset } from 'sockclose'; console.log(d.hardReset === hardReset)"]);
    expect(out.trim()).toBe('true');
  });
});
