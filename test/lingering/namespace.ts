// Runs a fixture inside a network namespace of its own (`unshare -n`): packet loss and TCP settings
// (nftables, sysctls) that touch nothing outside it. Needs root; the fixture's side is
// test/lingering/fixtures/namespace.cjs.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { requireTool } from '../interop/tools.js';

/** Whether this process may make network namespaces (Linux, as root). */
export const canMakeNetworkNamespaces = process.platform === 'linux' && process.getuid?.() === 0;

/** Runs `fixture` in `mode` in a namespace of its own (30 s at most); its one JSON line, parsed. */
export async function runInNetworkNamespace<T>(fixture: string, mode: string): Promise<T> {
  const [unshare, ip, nft] = [requireTool('unshare'), requireTool('ip'), requireTool('nft')];
  const { stdout } = await promisify(execFile)(unshare, ['-n', process.execPath, fixture, mode, ip, nft], { timeout: 30_000 });
  return JSON.parse(stdout) as T;
}
