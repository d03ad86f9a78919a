// The checkout's guards around packing (scripts/dist/verify-prebuilds.js): `npm publish` refuses a
// checkout whose prebuilds are not the shipped ones ("prepublishOnly"); a plain `npm pack`
// ("prepack") only warns that the tarball would compile at install. A checkout has no prebuilds
// until prebuildify runs (prebuilds/ holds its README), so both are seen here as they are.
import fs from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { runNode } from '../helpers/run-node.js';
import { root } from '../helpers/sockclose.js';

const script = path.join(root, 'scripts', 'dist', 'verify-prebuilds.js');
const shipped = ['linux-x64', 'linux-arm64'].every((folder) => fs.existsSync(path.join(root, 'prebuilds', folder, 'sockclose.glibc.node')));

describe.skipIf(shipped)('a checkout without the shipped prebuilds', () => {
  it('npm publish (prepublishOnly): refused, naming what is missing (exit 1)', async () => {
    const { code, stdout, stderr } = await runNode([script], { cwd: root, timeoutMs: 20_000 });
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^sockclose: refusing to publish this checkout:\n {2}prebuilds\/linux-x64\/sockclose\.glibc\.node is missing/);
  });

  it('npm pack (prepack, --warn): packs (exit 0), saying the tarball would compile at install', async () => {
    const { code, stdout, stderr } = await runNode([script, '--warn'], { cwd: root, timeoutMs: 20_000 });
    expect(code).toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^sockclose: warning: this checkout's prebuilds are not the ones sockclose ships:\n {2}prebuilds\/linux-x64\/sockclose\.glibc\.node is missing/);
    expect(stderr).toContain('compiles the addon at install');
  });

  it('package.json wires them: prepack warns, prepublishOnly refuses', () => {
    const { scripts } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(scripts.prepack).toBe('node scripts/dist/verify-prebuilds.js --warn');
    expect(scripts.prepublishOnly).toBe('node scripts/dist/verify-prebuilds.js');
  });
});
