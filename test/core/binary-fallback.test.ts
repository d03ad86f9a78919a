// A local build that cannot work here (build/Release cut short by an interrupted build, stale
// against this JavaScript, for another machine) gives way to the prebuild for this platform that
// ships beside it, and capabilities() says which file was skipped and why (node-gyp-build offers
// only the local build: sockclose ran in JavaScript-only mode). SOCKCLOSE_BINARY names one exact
// file and never falls back. Each case runs the real loader of a copy of the package in a fresh
// process.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { copyOfPackage } from '../helpers/package-copy.js';
import { sockclose } from '../helpers/sockclose.js';

interface Seen {
  native: boolean;
  reason: string | null;
  binary: string | null;
  skipped: string | null;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

// The binary this suite runs on (SOCKCLOSE_BINARY's, or the checkout's build).
const good = sockclose.capabilities().binary!;
const whole = fs.readFileSync(good);

/** The prebuild's name as the package ships it (prebuildify --napi --tag-libc), per node-gyp-build's libc. */
function prebuildName(): string {
  if (process.platform !== 'linux') return 'sockclose.node';
  const libc = process.env.LIBC || (fs.existsSync('/etc/alpine-release') ? 'musl' : 'glibc');
  return `sockclose.${libc}.node`;
}

/** A copy of the package whose build/Release/sockclose.node holds `build`, and a prebuild if `prebuild`. */
function packageWith(build: Buffer, prebuild: boolean): { copy: string; built: string; prebuilt: string } {
  const copy = copyOfPackage('sockclose-fallback-');
  cleanups.push(() => fs.rmSync(copy, { recursive: true, force: true }));
  const built = path.join(copy, 'build', 'Release', 'sockclose.node');
  fs.mkdirSync(path.dirname(built), { recursive: true });
  fs.writeFileSync(built, build);
  const prebuilt = path.join(copy, 'prebuilds', `${process.platform}-${process.arch}`, prebuildName());
  if (prebuild) {
    fs.mkdirSync(path.dirname(prebuilt), { recursive: true });
    fs.copyFileSync(good, prebuilt);
  }
  return { copy, built, prebuilt };
}

/** capabilities() of `copy` in a fresh process, after one native call; SOCKCLOSE_BINARY as given. */
function capabilitiesOf(copy: string, explicit?: string): Seen {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SOCKCLOSE_BINARY;
  delete env.SOCKCLOSE_PREBUILD;
  delete env.PREBUILDS_ONLY;
  if (explicit !== undefined) env.SOCKCLOSE_BINARY = explicit;
  const code = `const s = require(${JSON.stringify(path.join(copy, 'lib', 'index.js'))});
    const net = require('net');
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const client = net.connect(server.address().port, '127.0.0.1', () => {
        // A native call (it throws in JavaScript-only mode), then what capabilities() says.
        let linger = null;
        try { linger = s.getLinger(client); } catch (error) { linger = error.code; }
        const { native, reason, binary, skipped } = s.capabilities();
        client.destroy(); server.close();
        console.log(JSON.stringify({ native, reason, binary, skipped, linger }));
      });
    });`;
  const seen = JSON.parse(execFileSync(process.execPath, ['-e', code], { env, encoding: 'utf8' })) as Seen & { linger: unknown };
  // The native layer works exactly when capabilities() says it loaded.
  expect(seen.linger).toEqual(seen.native ? expect.objectContaining({ enabled: false, seconds: 0 }) : 'ERR_SOCKCLOSE_UNSUPPORTED');
  return { native: seen.native, reason: seen.reason, binary: seen.binary, skipped: seen.skipped };
}

/** The binary with one probe slot named otherwise, as a build from older or newer sources exports it. */
function staleBinary(): Buffer {
  const stale = Buffer.from(whole);
  // The slot name's string in .rodata (native/probe.h), once: renamed at the same length.
  const name = Buffer.from('\0socknameErrno\0');
  const at = stale.indexOf(name);
  expect(at, 'the slot name in the binary').toBeGreaterThanOrEqual(0);
  expect(stale.indexOf(name, at + 1), 'the slot name only once').toBe(-1);
  stale.write('socknameError', at + 1, 'latin1');
  return stale;
}

/** The binary with its ELF machine swapped for another architecture's. */
function foreignBinary(): Buffer {
  const other = Buffer.from(whole);
  other.writeUInt16LE(process.arch === 'arm64' ? 62 : 183, 18); // e_machine: x86-64 or AArch64
  return other;
}

describe('a local build that cannot work here', () => {
  it('cut short: the prebuild is loaded instead, and capabilities() names the skipped build and why', () => {
    const { copy, built, prebuilt } = packageWith(whole.subarray(0, 20_000), true);
    const seen = capabilitiesOf(copy);
    expect(seen).toMatchObject({ native: true, reason: null, binary: prebuilt });
    expect(seen.skipped).toBe(`${built}: truncated: 20000 bytes, its ELF headers need ${whole.length}`);
  });

  it('stale (its probe layout differs from this JavaScript): the prebuild is loaded instead', () => {
    const { copy, built, prebuilt } = packageWith(staleBinary(), true);
    const seen = capabilitiesOf(copy);
    expect(seen).toMatchObject({ native: true, reason: null, binary: prebuilt });
    expect(seen.skipped).toBe(
      `${built}: probe layout differs from this JavaScript (a stale build? run npm run build in a checkout, npm rebuild sockclose (or delete build/) in an installed package)`,
    );
  });

  it('for another machine: the prebuild is loaded instead', () => {
    const { copy, built, prebuilt } = packageWith(foreignBinary(), true);
    const seen = capabilitiesOf(copy);
    expect(seen).toMatchObject({ native: true, reason: null, binary: prebuilt });
    expect(seen.skipped).toMatch(new RegExp(`^${escape(built)}: built for (x64|arm64), this process is ${process.arch}$`));
  });

  it('not a loadable library (dlopen() fails): the prebuild is loaded instead', () => {
    const { copy, built, prebuilt } = packageWith(Buffer.from('not a shared object\n'), true);
    const seen = capabilitiesOf(copy);
    expect(seen).toMatchObject({ native: true, reason: null, binary: prebuilt });
    expect(seen.skipped).toContain(built);
  });

  it('and no prebuild: JavaScript-only mode, the reason names the build and says there is no prebuild', () => {
    const { copy, built } = packageWith(whole.subarray(0, 20_000), false);
    const seen = capabilitiesOf(copy);
    expect(seen).toMatchObject({ native: false, binary: null, skipped: null });
    expect(seen.reason).toBe(
      `no usable native binary (${built}: truncated: 20000 bytes, its ELF headers need ${whole.length}; no prebuild for ${process.platform}-${process.arch} either)`,
    );
  });

  it('and a prebuild that cannot work either: JavaScript-only mode, the reason names both', () => {
    const { copy, built, prebuilt } = packageWith(whole.subarray(0, 20_000), true);
    fs.writeFileSync(prebuilt, whole.subarray(0, 10_000));
    const seen = capabilitiesOf(copy);
    expect(seen).toMatchObject({ native: false, binary: null, skipped: null });
    expect(seen.reason).toBe(
      `no usable native binary (${built}: truncated: 20000 bytes, its ELF headers need ${whole.length}; ` +
        `nor the prebuild: ${prebuilt}: truncated: 10000 bytes, its ELF headers need ${whole.length})`,
    );
  });

  it('a good local build is still preferred to the prebuild, and nothing is reported skipped', () => {
    const { copy, built } = packageWith(whole, true);
    expect(capabilitiesOf(copy)).toEqual({ native: true, reason: null, binary: built, skipped: null });
  });
});

describe('SOCKCLOSE_BINARY', () => {
  it('names one exact file: a bad one is refused, with no fallback to the build or the prebuild', () => {
    const { copy, prebuilt } = packageWith(whole, true);
    const bad = path.join(copy, 'cut.node');
    fs.writeFileSync(bad, whole.subarray(0, 20_000));
    expect(capabilitiesOf(copy, bad)).toEqual({
      native: false,
      reason: `no usable native binary (${bad}: truncated: 20000 bytes, its ELF headers need ${whole.length})`,
      binary: null,
      skipped: null,
    });
    expect(fs.existsSync(prebuilt)).toBe(true);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
