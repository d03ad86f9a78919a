// Fresh projects that install the packed tarball with no compiler reachable and use it: from
// CommonJS, from an ES module (named imports), and from TypeScript type-checking under the
// moduleResolution modes people use (nodenext, node16, bundler; node10 with TypeScript 5).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const { checkLinuxBinary } = require('./elf.js');
const { noCompilerEnv } = require('./no-compiler.js');
const { prebuildPath } = require('./prebuilds.js');
const { repoRoot } = require('./stage.js');
const { run } = require('./run.js');

const TEMPLATES = path.join(__dirname, 'consumer');

/** The @types/node the repository itself uses, so the install is served from npm's cache. */
function typesNodeVersion() {
  return JSON.parse(fs.readFileSync(path.join(repoRoot, 'node_modules', '@types', 'node', 'package.json'), 'utf8')).version;
}

/**
 * Creates `<parent>/<name>` with a package.json depending on the tarball (plus `devDependencies`),
 * installs it under `env` (no compiler) and returns { dir, installEnv, seconds, log }. The project's
 * preinstall records what build tools npm's scripts could reach (install-env.json). `npmArgs` are
 * added to `npm install` (such as --ignore-scripts).
 */
function installConsumer(parent, name, tarball, { env, type = 'commonjs', devDependencies = {}, npmArgs = [], timeoutMs = 180_000 } = {}) {
  const dir = path.join(parent, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const file of ['probe-env.cjs', 'exercise.cjs', 'use-require.cjs', 'use-import.mjs', 'check-exports.cjs']) {
    fs.copyFileSync(path.join(TEMPLATES, file), path.join(dir, file));
  }
  const manifest = {
    name: `sockclose-consumer-${name}`,
    version: '1.0.0',
    private: true,
    type,
    scripts: { preinstall: 'node probe-env.cjs' },
    dependencies: { sockclose: `file:${tarball}` },
    devDependencies,
  };
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const started = process.hrtime.bigint();
  const { stdout, stderr } = run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', '--foreground-scripts', '--loglevel=warn', ...npmArgs],
    { cwd: dir, env, timeoutMs },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  // With --ignore-scripts not even the preinstall probe runs: nothing was run, nothing reached.
  const probe = path.join(dir, 'install-env.json');
  const installEnv = fs.existsSync(probe) ? JSON.parse(fs.readFileSync(probe, 'utf8')) : { path: [], reachable: {}, CC: env.CC ?? null, CXX: env.CXX ?? null, scripts: false };
  return { dir, installEnv, seconds, log: `${stdout}${stderr}` };
}

/** Problems with an installed consumer: a reachable compiler, a local build, a wrong prebuild. */
function checkInstall(consumer, { arch }) {
  const problems = [];
  const reachable = Object.entries(consumer.installEnv.reachable);
  if (reachable.length > 0) problems.push(`build tools reachable during install: ${reachable.map(([tool, file]) => `${tool}=${file}`).join(', ')}`);
  const installed = path.join(consumer.dir, 'node_modules', 'sockclose');
  // The install script found the prebuild, so it compiled nothing: there is no build/ at all.
  if (fs.existsSync(path.join(installed, 'build'))) problems.push('node_modules/sockclose/build exists: the install compiled instead of using the prebuild');
  const prebuild = path.join(installed, prebuildPath(arch));
  if (!fs.existsSync(prebuild)) problems.push(`${path.relative(consumer.dir, prebuild)} missing`);
  else problems.push(...checkLinuxBinary(prebuild, arch));
  return problems;
}

/**
 * What a musl system (Alpine) gets from the installed package, simulated on this glibc machine
 * with node-gyp-build's own override (LIBC=musl, what it sets when /etc/alpine-release exists):
 * the glibc prebuild must not be picked; the install script must try to compile instead (and,
 * with no compiler, leave the package in JavaScript-only mode, failing only when
 * SOCKCLOSE_REQUIRE_NATIVE=1); and capabilities() must say why there is no binary.
 * Runs on a copy of the installed package, so the consumer stays as installed.
 */
function checkMusl(consumer, { env, npm }) {
  const installed = path.join(consumer.dir, 'node_modules', 'sockclose');
  const muslEnv = { ...env, LIBC: 'musl', npm_config_node_gyp: path.join(path.dirname(npm), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js') };
  const problems = [];

  const picked = run(process.execPath, ['-e', `try { console.log(require('node-gyp-build').path(${JSON.stringify(installed)})) } catch { console.log('none') }`], { cwd: consumer.dir, env: muslEnv, timeoutMs: 30_000 }).stdout.trim();
  if (picked !== 'none') problems.push(`node-gyp-build picked ${picked} for musl`);

  const copyRoot = path.join(consumer.dir, 'musl-copy', 'node_modules');
  fs.mkdirSync(copyRoot, { recursive: true });
  fs.cpSync(installed, path.join(copyRoot, 'sockclose'), { recursive: true });
  fs.symlinkSync(path.join(consumer.dir, 'node_modules', 'node-gyp-build'), path.join(copyRoot, 'node-gyp-build'));
  const lenient = run(process.execPath, ['scripts/install.js'], { cwd: path.join(copyRoot, 'sockclose'), env: muslEnv, timeoutMs: 120_000, allowFailure: true });
  const said = `${lenient.stdout}${lenient.stderr}`;
  if (lenient.status !== 0) problems.push(`install script failed the install (status ${lenient.status}): ${said.trim().split('\n').pop()}`);
  if (!/could not build the native binary/.test(said)) problems.push(`install script did not try to compile: ${said.trim() || '(silent)'}`);
  const strict = run(process.execPath, ['scripts/install.js'], { cwd: path.join(copyRoot, 'sockclose'), env: { ...muslEnv, SOCKCLOSE_REQUIRE_NATIVE: '1' }, timeoutMs: 120_000, allowFailure: true });
  if (strict.status === 0) problems.push('SOCKCLOSE_REQUIRE_NATIVE=1 did not fail the install');

  const reason = run(process.execPath, ['-p', "JSON.stringify(require('sockclose').capabilities())"], { cwd: consumer.dir, env: muslEnv, timeoutMs: 30_000 }).stdout.trim();
  const capabilities = JSON.parse(reason);
  if (capabilities.native !== false || !/libc=musl/.test(capabilities.reason ?? '')) problems.push(`capabilities() under musl: ${reason}`);
  fs.rmSync(path.join(consumer.dir, 'musl-copy'), { recursive: true, force: true });
  return { problems, reason: capabilities.reason };
}

/** Runs a consumer program with `node`; returns its JSON report line. */
function runProgram(consumer, program, { env, node = process.execPath, expectBinary, timeoutMs = 60_000 }) {
  const { stdout } = run(node, [program], {
    cwd: consumer.dir,
    env: { ...env, EXPECT_BINARY: expectBinary ?? '' },
    timeoutMs,
  });
  const line = stdout.trim().split('\n').pop();
  return JSON.parse(line);
}

/**
 * The TypeScript settings per moduleResolution mode, and which template files each checks.
 * `upTo`: the newest TypeScript major that has the mode (TypeScript 7 removed node10 and
 * esModuleInterop off).
 */
const TS_MODES = {
  nodenext: { compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' }, files: ['api.mts', 'api-require.cts'] },
  node16: { compilerOptions: { module: 'node16', moduleResolution: 'node16' }, files: ['api.mts', 'api-require.cts'] },
  bundler: { compilerOptions: { module: 'esnext', moduleResolution: 'bundler' }, files: ['api.ts'] },
  // bundler turns allowSyntheticDefaultImports on by default; projects that turn it off must not
  // trip over sockclose's ES module declarations.
  'bundler-strict-imports': {
    compilerOptions: { module: 'esnext', moduleResolution: 'bundler', allowSyntheticDefaultImports: false, esModuleInterop: false },
    files: ['api.ts'],
    upTo: 5,
  },
  node10: { compilerOptions: { module: 'commonjs', moduleResolution: 'node10' }, files: ['api-node10.ts'], upTo: 5 },
};

/**
 * Writes the TypeScript consumer files into an installed project: the API use (as .mts and .ts),
 * the CommonJS view (.cts), and one import per extra subpath of the package's "exports".
 */
function writeTypeScriptSources(dir, subpaths) {
  const api = fs.readFileSync(path.join(TEMPLATES, 'types', 'api.ts.txt'), 'utf8');
  const extra = subpaths
    .filter((subpath) => subpath !== '.' && !subpath.endsWith('.json'))
    .map((subpath, index) => {
      const specifier = path.posix.join('sockclose', subpath);
      return [
        `import * as subpath${index} from '${specifier}';`,
        `// @ts-expect-error ${specifier} has real types, so an unknown member is an error`,
        `void subpath${index}.__notExportedBySockclose;`,
      ].join('\n');
    })
    .join('\n');
  const source = extra ? `${api}\n${extra}\n` : api;
  fs.writeFileSync(path.join(dir, 'api.mts'), source);
  fs.writeFileSync(path.join(dir, 'api.ts'), source);
  fs.copyFileSync(path.join(TEMPLATES, 'types', 'api-require.cts.txt'), path.join(dir, 'api-require.cts'));
  const node10 = fs.readFileSync(path.join(TEMPLATES, 'types', 'api-node10.ts.txt'), 'utf8');
  fs.writeFileSync(path.join(dir, 'api-node10.ts'), extra ? `${node10}\n${extra}\n` : node10);
}

/** The TS_MODES the TypeScript whose tsc is at `tscBin` (its package's bin/tsc) has. */
function typeCheckModes(tscBin) {
  const { version } = JSON.parse(fs.readFileSync(path.join(path.dirname(tscBin), '..', 'package.json'), 'utf8'));
  const major = Number(version.split('.')[0]);
  return Object.entries(TS_MODES)
    .filter(([, { upTo = Infinity }]) => major <= upTo)
    .map(([mode]) => mode);
}

/**
 * Type-checks the consumer `dir` under every mode with the tsc at `tscBin` (a JavaScript entry
 * run by `node`). Strict, and skipLibCheck off: sockclose's own declarations are checked too.
 * Returns { mode: seconds }; throws with tsc's output on the first failure.
 */
function typeCheck(dir, tscBin, { env, label }) {
  const timings = {};
  for (const mode of typeCheckModes(tscBin)) {
    const { compilerOptions, files } = TS_MODES[mode];
    const config = {
      compilerOptions: {
        target: 'es2022',
        lib: ['es2022'],
        strict: true,
        exactOptionalPropertyTypes: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
        ...compilerOptions,
      },
      files,
    };
    const configFile = `tsconfig.${mode}.json`;
    fs.writeFileSync(path.join(dir, configFile), `${JSON.stringify(config, null, 2)}\n`);
    const started = process.hrtime.bigint();
    try {
      run(process.execPath, [tscBin, '-p', configFile], { cwd: dir, env, timeoutMs: 180_000 });
    } catch (error) {
      throw new Error(`${label}, moduleResolution ${mode}: type check failed\n${error.message}`);
    }
    timings[mode] = Number(process.hrtime.bigint() - started) / 1e9;
  }
  return timings;
}

module.exports = {
  TS_MODES,
  checkInstall,
  checkMusl,
  installConsumer,
  noCompilerEnv,
  runProgram,
  typeCheck,
  typeCheckModes,
  typesNodeVersion,
  writeTypeScriptSources,
};
