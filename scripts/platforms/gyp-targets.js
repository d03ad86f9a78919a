// What node-gyp would compile for another OS: runs the real `node-gyp configure` with gyp's
// make generator for that OS (`-f make-mac -DOS=mac`, `-f make -DOS=freebsd`, ...) in a scratch
// copy of binding.gyp, then reads the generated <target>.target.mk. Sources, defines, include
// directories and flags therefore come from binding.gyp's conditions and node-gyp's own
// common.gypi / addon.gypi, never from a list kept here: a file added to binding.gyp (for every
// Unix or through an OS condition) is compiled by the check without anyone touching it.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..', '..');
const { localNodeDir } = require('../node-gyp.js');

/** Splits a make value into words, dropping the single quotes gyp puts around some. */
function words(value) {
  return value
    .split(/\s+/)
    .filter(Boolean)
    .map((word) => (/^'.*'$/.test(word) ? word.slice(1, -1) : word));
}

/** `NAME := value \` continued over lines, for every variable assigned with := in a makefile. */
function makeVariables(text) {
  const variables = new Map();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const match = /^([A-Za-z_][A-Za-z0-9_]*) := ?(.*)$/.exec(lines[i]);
    if (!match) continue;
    let value = match[2];
    while (value.endsWith('\\') && i + 1 < lines.length) value = value.slice(0, -1) + ' ' + lines[++i];
    variables.set(match[1], words(value));
  }
  return variables;
}

/** Runs a command; resolves with its output, rejects with it (and the command) on failure. */
function run(command, args, options) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(output);
      else reject(new Error(`${command} ${args.join(' ')} failed (${signal ?? code}):\n${output}`));
    });
  });
}

/**
 * The addon's targets as node-gyp would build them for `os` (gyp's OS name: mac, freebsd,
 * openbsd, netbsd, aix, os400) and `arch` (x64, arm64, ppc64); `gypDefines` are extra `-Dname=value`
 * for gyp (what node-gyp itself adds only on that OS, such as AIX's node_exp_file).
 * @returns {Promise<Array<{name, sources, defines, includes, cflags, cflagsCC, ldflags}>>} one
 *   entry per compiled target; paths absolute (into the repository, through symlinks).
 */
async function gypTargets(os, arch, scratch, gypDefines = []) {
  const work = fs.mkdtempSync(path.join(scratch, `gyp-${os}-${arch}-`));
  fs.mkdirSync(work, { recursive: true });
  fs.copyFileSync(path.join(root, 'binding.gyp'), path.join(work, 'binding.gyp'));
  // Symlinks, not copies: every top-level directory binding.gyp may name (native/, and whatever a
  // later edit adds) resolves to the repository itself.
  for (const entry of fs.readdirSync(root, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.') || /^build/.test(entry.name)) continue;
    fs.symlinkSync(path.join(root, entry.name), path.join(work, entry.name));
  }
  const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js', { paths: [root] });
  const env = { ...process.env };
  const nodeDir = env.npm_config_nodedir || localNodeDir();
  if (nodeDir) env.npm_config_nodedir = nodeDir;
  const format = os === 'mac' ? 'make-mac' : 'make';
  if (os === 'mac') {
    // gyp's Xcode emulation asks `xcodebuild -version` for the default architectures (and fails
    // without an answer even when ARCHS is set): answer as an Xcode 14 does. Nothing else runs it.
    const bin = path.join(scratch, 'fake-xcode-bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(path.join(bin, 'xcodebuild'), '#!/bin/sh\necho "Xcode 14.3"\necho "Build version 14E222b"\n', { mode: 0o755 });
    env.PATH = `${bin}${path.delimiter}${env.PATH}`;
  }
  await run(
    process.execPath,
    [nodeGyp, 'configure', `--arch=${arch}`, '--', '-f', format, `-DOS=${os}`, '-Dsockclose_werror=true', ...gypDefines],
    { cwd: work, env },
  );

  const build = path.join(work, 'build');
  const targets = [];
  for (const file of fs.readdirSync(build).filter((name) => name.endsWith('.target.mk')).sort()) {
    const vars = makeVariables(fs.readFileSync(path.join(build, file), 'utf8'));
    const objects = vars.get('OBJS') ?? [];
    if (objects.length === 0) continue; // a target of type none (Windows' condition, or an action)
    const resolvePath = (p) => path.resolve(build, p.replace(/^\$\(srcdir\)/, '..'));
    const sources = objects.map((object) => {
      const stem = object.replace(/^\$\(obj\)\.target\/\$\(TARGET\)\//, '').replace(/\.o$/, '');
      const found = ['.cc', '.cpp', '.cxx', '.c'].map((ext) => path.join(work, stem + ext)).find((p) => fs.existsSync(p));
      if (!found) throw new Error(`${file}: no source for ${object}`);
      return found;
    });
    targets.push({
      name: file.replace(/\.target\.mk$/, ''),
      sources,
      defines: (vars.get('DEFS_Release') ?? []).filter((flag) => flag.startsWith('-D')).map((flag) => flag.slice(2)),
      includes: (vars.get('INCS_Release') ?? []).map((flag) => resolvePath(flag.replace(/^-I/, ''))),
      cflags: vars.get('CFLAGS_Release') ?? [],
      cflagsCC: vars.get('CFLAGS_CC_Release') ?? [],
      ldflags: vars.get('LDFLAGS_Release') ?? [],
    });
  }
  if (targets.length === 0) throw new Error(`node-gyp configure for OS=${os} produced no compiled target`);
  return targets;
}

module.exports = { gypTargets, makeVariables, run };
