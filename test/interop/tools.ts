// Finds the real programs the interop tests drive. A missing one fails the test, naming the
// Debian package that provides it: an interop test that skips when its tool is absent can never
// fail, and would hide a CI machine that lost the package.
import fs from 'node:fs';
import path from 'node:path';

/** The programs, and the Debian package each comes from (.ci/apt/*.txt lists them). */
export const TOOLS = {
  curl: 'curl',
  nginx: 'nginx-light',
  haproxy: 'haproxy',
  python3: 'python3',
  // test/lingering/abortive-close-after-fins: packet loss in a network namespace of its own.
  nft: 'nftables',
  ip: 'iproute2',
  unshare: 'util-linux',
  // test/lingering/first-look: which calls the lingerer made on a connection; ss (iproute2) too.
  strace: 'strace',
  ss: 'iproute2',
} as const;

export type Tool = keyof typeof TOOLS;

// nginx and haproxy live in /usr/sbin, which a normal user's PATH on Debian does not include.
const EXTRA_DIRS = ['/usr/sbin', '/sbin'];

/** The absolute path of `tool`; throws, naming its Debian package, when it is not installed. */
export function requireTool(tool: Tool): string {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, tool);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(
    `${tool} is not installed (looked in ${dirs.join(', ')}): install the Debian package ${TOOLS[tool]} ` +
      '(.ci/apt/*.txt lists it; `bash .ci/install-apt.sh` installs what is missing)',
  );
}
