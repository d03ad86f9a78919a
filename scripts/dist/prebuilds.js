// Builds prebuilds/linux-<arch>/sockclose.glibc.node in a staged copy with the repository's own
// `npm run prebuildify` (prebuildify --napi --strip against local Node headers, plus --tag-libc),
// natively for this machine's arch or cross-compiled for arm64 with Debian's aarch64-linux-gnu
// toolchain, and checks every binary's ELF header against its folder before anything is packed.
//
// --tag-libc names the file for the C library it links against (glibc). Without the tag,
// node-gyp-build would hand a musl system (Alpine) this glibc binary: it fails to load, and the
// install script, seeing a "matching" prebuild, would not compile one that works. A prebuild is only ever
// produced by a compiler that targets its folder's arch: the cross build refuses to run unless
// the aarch64 compiler is there, and nothing is built for platforms this machine cannot target.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { checkLinuxBinary } = require('./elf.js');
const { run } = require('./run.js');

/** The prebuild's file name: prebuildify --napi names it after the package; --tag-libc adds glibc. */
const PREBUILD_FILE = 'sockclose.glibc.node';

/** Where the prebuild for `arch` sits in the package. */
function prebuildPath(arch) {
  return `prebuilds/linux-${arch}/${PREBUILD_FILE}`;
}

/** Debian's cross toolchain for arm64 (packages g++-aarch64-linux-gnu, binutils-aarch64-linux-gnu). */
const CROSS = {
  arm64: { triple: 'aarch64-linux-gnu', packages: ['g++-aarch64-linux-gnu'] },
};

/** The full path of `name` on PATH, or null. */
function which(name, searchPath = process.env.PATH ?? '') {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return null;
}

/** The cross tools for `arch`, or { missing } naming the Debian packages to install. */
function crossToolchain(arch) {
  const cross = CROSS[arch];
  if (!cross) return { missing: `no cross toolchain known for ${arch}` };
  const tools = { cc: `${cross.triple}-gcc`, cxx: `${cross.triple}-g++`, strip: `${cross.triple}-strip`, ar: `${cross.triple}-ar` };
  const found = Object.fromEntries(Object.entries(tools).map(([key, name]) => [key, which(name)]));
  const absent = Object.entries(found).filter(([, file]) => file === null).map(([key]) => tools[key]);
  if (absent.length > 0) return { missing: `${absent.join(', ')} not found (apt-get install ${cross.packages.join(' ')})` };
  return { ...found, triple: cross.triple };
}

/**
 * Runs `npm run prebuildify` (scripts/prebuildify.js) in the staged copy `dir` for `arch`
 * (default: this machine's) and returns { file, arch, folder, seconds }. Throws if the toolchain is
 * missing, the build fails, or the binary's ELF header does not match the folder.
 */
function buildPrebuild(dir, { arch = os.arch(), timeoutMs = 300_000 } = {}) {
  if (process.platform !== 'linux') throw new Error(`prebuilds are made on Linux only (this is ${process.platform})`);
  const env = { ...process.env };
  const args = ['scripts/prebuildify.js', '--tag-libc'];
  if (arch !== os.arch()) {
    const tools = crossToolchain(arch);
    if (tools.missing) throw new Error(`cannot cross-compile for ${arch}: ${tools.missing}`);
    // gyp's make generator reads CC/CXX/LINK/AR (and the .target variants) for the target.
    Object.assign(env, { CC: tools.cc, CXX: tools.cxx, LINK: tools.cxx, AR: tools.ar, CC_target: tools.cc, CXX_target: tools.cxx });
    args.push('--arch', arch, '--strip-bin', tools.strip);
  }
  // A previous build of another arch must not leak object files into this one.
  fs.rmSync(path.join(dir, 'build'), { recursive: true, force: true });
  const started = process.hrtime.bigint();
  run(process.execPath, args, { cwd: dir, env, timeoutMs });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const folder = `linux-${arch}`;
  const file = path.join(dir, prebuildPath(arch));
  if (!fs.existsSync(file)) throw new Error(`prebuildify made no ${path.relative(dir, file)}`);
  const problems = checkLinuxBinary(file, arch);
  if (problems.length > 0) throw new Error(`prebuild ${folder} is wrong:\n${problems.join('\n')}`);
  return { file, arch, folder, seconds, bytes: fs.statSync(file).size };
}

/** Every prebuilds/<folder>/*.node in `dir`, each checked against its folder's arch. */
function checkPrebuildFolders(dir) {
  const root = path.join(dir, 'prebuilds');
  const results = [];
  for (const folder of fs.existsSync(root) ? fs.readdirSync(root) : []) {
    const folderPath = path.join(root, folder);
    if (!fs.statSync(folderPath).isDirectory()) continue;
    const [platform, arch] = folder.split('-');
    for (const name of fs.readdirSync(folderPath).filter((file) => file.endsWith('.node'))) {
      const file = path.join(folderPath, name);
      const problems = platform === 'linux' ? checkLinuxBinary(file, arch) : [`${folder}: only linux prebuilds are made here`];
      results.push({ folder, file, problems });
    }
  }
  return results;
}

module.exports = { PREBUILD_FILE, buildPrebuild, checkPrebuildFolders, crossToolchain, prebuildPath, which };
