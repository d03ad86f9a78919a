// `node --require sockclose/audit` and `--import sockclose/audit` on an application that knows
// nothing of sockclose: it is audited, the summary comes at exit (stderr, or JSON to
// SOCKCLOSE_AUDIT_FILE), on SIGUSR2, and before a SIGTERM that still ends the process as before.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tempDir } from '../helpers/net.js';
import { copyOfPackage } from '../helpers/package-copy.js';
import { root, sockclose } from '../helpers/sockclose.js';
import { within } from '../helpers/wait.js';

const app = path.join(root, 'test', 'audit', 'fixtures', 'seed-app.cjs');
const env = { ...process.env, SOCKCLOSE_LIB: path.join(root, 'lib', 'index.js'), SEED_RUNS: '10' };
const SUMMARY = /^sockclose audit \(pid \d+, exit\): 10 of 10 connections ended with RST while the client had not received [\d.]+ [kM]B of responses(?: \([\d.]+ [kM]?B more sent but not acknowledged, at risk\))?; enable lingering close\.$/m;

function runApp(args: string[], extra: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, [...args, app], { env: { ...env, ...extra }, encoding: 'utf8', timeout: 30_000 });
  return result;
}

/** A child Node process whose output is collected; `ready` resolves once it prints "ready". */
function started(args: string[], childEnv: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, args, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  // Collected first: the listeners below read what these appended.
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output.stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output.stderr += chunk));
  return Object.assign(output, {
    process: child,
    ready: new Promise<void>((resolve) => child.stdout.on('data', () => output.stdout.includes('ready') && resolve())),
    exited: new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (code, signal) => resolve([code, signal]))),
  });
}

// A 413 to uploads it never reads, under lingering close; it says when both lingers began.
const LINGERING_413 = `
  const http = require('node:http');
  const { enableLingeringClose } = require(process.env.SOCKCLOSE_LIB);
  const server = http.createServer((req, res) => res.writeHead(413, { connection: 'close' }).end('too large'));
  const lingering = enableLingeringClose(server, { idleTimeout: 20000 });
  const said = setInterval(() => lingering.stats().lingering === 2 && (clearInterval(said), console.log('lingering 2')), 10);
  server.listen(0, '127.0.0.1', () => console.log('ready ' + server.address().port));`;

/**
 * Waits until `child` (running LINGERING_413) is ready, sends it two uploads whose clients never
 * send their FIN (pushed to `clients`, for the caller to destroy), and resolves once both linger.
 */
async function twoLingering(child: ReturnType<typeof started>, clients: net.Socket[]): Promise<void> {
  await within(child.ready, 20_000, 'the application to be ready');
  const port = Number(/ready (\d+)/.exec(child.stdout)![1]);
  for (let i = 0; i < 2; i++) {
    // Never its FIN: the linger waits for it (20 s idle).
    const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () =>
      client.write(`POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: 400000\r\n\r\n${'u'.repeat(400_000)}`),
    );
    client.on('error', () => {});
    client.resume();
    clients.push(client);
  }
  await within(
    new Promise<void>((resolve) => child.process.stdout!.on('data', () => child.stdout.includes('lingering 2') && resolve())),
    10_000,
    'both closes lingering',
  );
}

describe('sockclose/audit preload', () => {
  it('--require: audits the unmodified seed 004 server, summary on stderr at exit, exit code kept', () => {
    const result = runApp(['--require', 'sockclose/audit'], { SEED_EXIT: '7' });
    expect(result.status).toBe(7);
    expect(result.stdout).toBe('complete 0 of 10\n');
    expect(result.stderr).toMatch(SUMMARY);
    expect(result.stderr).toMatch(/10 closes on 1 server: FIN 0, RST 10 \(input left unread 10, asked for 0\)/);
    expect(result.stderr).toMatch(/latest RST closes that had sent data \(10 of 10\):\n(    127\.0\.0\.1:\d+ {2}unread 4 B {2}sent 600,000 B {2}unsent [\d,]+ B {2}unacked [\d,]+ B\n){10}/);
  });

  it('--import: the same', () => {
    const result = runApp(['--import', 'sockclose/audit']);
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(SUMMARY);
  });

  it('the same application calling enableLingeringClose: clean, and the audit says so', () => {
    const result = runApp(['--require', 'sockclose/audit'], { SEED_LINGERING: '1' });
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('complete 10 of 10\n');
    expect(result.stderr).toMatch(/: None of 10 connections ended with an RST that could lose a response \(lingering close handled 10\)\.$/m);
  });

  it('SOCKCLOSE_AUDIT_FILE: the report as JSON, %p naming the pid', () => {
    const dir = tempDir('sockclose-audit-');
    try {
      const result = runApp(['--require', 'sockclose/audit'], { SOCKCLOSE_AUDIT_FILE: path.join(dir, 'audit-%p.json') });
      expect(result.status).toBe(0);
      expect(result.stderr).toBe('');
      const files = fs.readdirSync(dir);
      expect(files).toEqual([expect.stringMatching(/^audit-\d+\.json$/)]);
      const report = JSON.parse(fs.readFileSync(path.join(dir, files[0]!), 'utf8'));
      expect(report).toMatchObject({ reason: 'exit', servers: 1, open: 0, lingering: 0, counts: { closed: 10, resetsWithData: 10, unreadBytes: 40 } });
      expect(report.pid).toBe(Number(/audit-(\d+)/.exec(files[0]!)![1]));
      expect(report.recent).toHaveLength(10);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SOCKCLOSE_AUDIT_FILE replaced whole keeps the mode of the file it replaces (named directly or through a symlink)', () => {
    const dir = tempDir('sockclose-audit-');
    try {
      const file = path.join(dir, 'audit.json');
      const link = path.join(dir, 'link.json');
      fs.symlinkSync(file, link);
      for (const [name, mode] of [[file, 0o600], [link, 0o640]] as const) {
        fs.writeFileSync(file, '{"the operator":"made this"}\n');
        fs.chmodSync(file, mode);
        const before = fs.statSync(file).ino;
        const result = runApp(['--require', 'sockclose/audit'], { SOCKCLOSE_AUDIT_FILE: name });
        expect(result.stderr).toBe('');
        expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ reason: 'exit', counts: { closed: 10 } });
        const after = fs.statSync(file);
        // Still a new file (replaced whole), with the old one's permissions, not the umask's 0644.
        expect({ replaced: after.ino !== before, mode: after.mode & 0o7777 }).toEqual({ replaced: true, mode });
      }
      expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
      expect(fs.readdirSync(dir).sort()).toEqual(['audit.json', 'link.json']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // Only root may give a file to another owner (a writer that may not writes its own file).
  it.skipIf(process.getuid?.() !== 0)('SOCKCLOSE_AUDIT_FILE replaced whole keeps the owner and group of the file it replaces (as root)', () => {
    const dir = tempDir('sockclose-audit-');
    try {
      const file = path.join(dir, 'audit.json');
      fs.writeFileSync(file, '{"the operator":"made this"}\n');
      fs.chmodSync(file, 0o640);
      fs.chownSync(file, 12345, 12345);
      const result = runApp(['--require', 'sockclose/audit'], { SOCKCLOSE_AUDIT_FILE: file });
      expect(result.stderr).toBe('');
      expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ reason: 'exit', counts: { closed: 10 } });
      const { uid, gid, mode } = fs.statSync(file);
      expect({ uid, gid, mode: mode & 0o7777 }).toEqual({ uid: 12345, gid: 12345, mode: 0o640 });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // A writer that is not root but is in the file's group (setpriv: another user, with that group
  // as a supplementary one) keeps the group: the file is its own, the group the one it was made for.
  it.skipIf(process.getuid?.() !== 0 || spawnSync('setpriv', ['--version']).status !== 0)(
    "SOCKCLOSE_AUDIT_FILE replaced whole by a writer that may not give it away keeps its group, if the writer's",
    () => {
      const dir = tempDir('sockclose-audit-');
      try {
        fs.chmodSync(dir, 0o777);
        const file = path.join(dir, 'audit.json');
        fs.writeFileSync(file, '{"the operator":"made this"}\n');
        fs.chmodSync(file, 0o640);
        fs.chownSync(file, 12345, 12345);
        const result = spawnSync('setpriv', ['--reuid', '65534', '--regid', '65534', '--groups', '12345', process.execPath, '--require', 'sockclose/audit', app], {
          env: { ...env, SOCKCLOSE_AUDIT_FILE: file },
          encoding: 'utf8',
          timeout: 30_000,
        });
        expect(result.stderr).toBe('');
        expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ reason: 'exit', counts: { closed: 10 } });
        const { uid, gid, mode } = fs.statSync(file);
        expect({ uid, gid, mode: mode & 0o7777 }).toEqual({ uid: 65534, gid: 12345, mode: 0o640 });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );

  it('SOCKCLOSE_AUDIT_FILE: a symlink or file already at the temporary name (<file>.<pid>.tmp) is not written through', () => {
    const dir = tempDir('sockclose-audit-');
    try {
      const file = path.join(dir, 'audit.json');
      const victim = path.join(dir, 'victim');
      // Planted as another user could in a shared directory: the pid is no secret.
      const plant = path.join(dir, 'plant.cjs');
      fs.writeFileSync(
        plant,
        `const fs = require('node:fs');
         const temporary = process.env.SOCKCLOSE_AUDIT_FILE + '.' + process.pid + '.tmp';
         if (process.env.PLANT === 'link') fs.symlinkSync(${JSON.stringify(victim)}, temporary);
         else { fs.writeFileSync(temporary, ''); fs.chmodSync(temporary, 0o666); }`,
      );
      for (const [existing, planted] of [[false, 'link'], [true, 'link'], [true, 'file']] as const) {
        fs.rmSync(file, { force: true });
        fs.writeFileSync(victim, 'not the report\n');
        if (existing) fs.writeFileSync(file, '{"the operator":"made this"}\n', { mode: 0o600 });
        const result = runApp(['--require', 'sockclose/audit', '--require', plant], { SOCKCLOSE_AUDIT_FILE: file, PLANT: planted });
        const where = `report file there before: ${existing}, planted: ${planted}`;
        expect(fs.readFileSync(victim, 'utf8'), where).toBe('not the report\n');
        expect(fs.lstatSync(file).isFile(), where).toBe(true);
        expect(JSON.parse(fs.readFileSync(file, 'utf8')), where).toMatchObject({ reason: 'exit', counts: { closed: 10 } });
        if (existing) expect(fs.statSync(file).mode & 0o777, where).toBe(0o600);
        expect(result.stderr, where).toBe('');
        expect(fs.readdirSync(dir).sort(), where).toEqual(['audit.json', 'plant.cjs', 'victim']);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SOCKCLOSE_AUDIT_FILE: with the temporary blocked, a symlink planted at the report name after the audit looked is not written through', () => {
    const dir = tempDir('sockclose-audit-');
    try {
      const file = path.join(dir, 'audit.json');
      const victim = path.join(dir, 'victim');
      fs.writeFileSync(victim, 'not the report\n');
      // The race, made certain: the temporary's name is taken from the start (the pid is no
      // secret), and the link appears right after the audit's lstat() found nothing at the name.
      const plant = path.join(dir, 'plant.cjs');
      fs.writeFileSync(
        plant,
        `const fs = require('node:fs');
         const name = process.env.SOCKCLOSE_AUDIT_FILE;
         fs.writeFileSync(name + '.' + process.pid + '.tmp', '');
         const lstat = fs.lstatSync;
         fs.lstatSync = function (target, ...rest) {
           try {
             return lstat.call(this, target, ...rest);
           } finally {
             if (target === name && !fs.existsSync(name)) fs.symlinkSync(${JSON.stringify(victim)}, name);
           }
         };`,
      );
      const result = runApp(['--require', plant, '--require', 'sockclose/audit'], { SOCKCLOSE_AUDIT_FILE: file });
      expect(result.status).toBe(0);
      expect(fs.readFileSync(victim, 'utf8')).toBe('not the report\n');
      expect(fs.lstatSync(file).isSymbolicLink()).toBe(true);
      // Not lost: the reason, then the report, on stderr.
      expect(result.stderr).toMatch(/^sockclose audit: could not write the report: ELOOP/m);
      expect(result.stderr).toMatch(SUMMARY);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SOCKCLOSE_AUDIT_FILE that cannot be written: the reason on stderr, then the report itself (it was lost)', () => {
    const dir = tempDir('sockclose-audit-');
    try {
      const result = runApp(['--require', 'sockclose/audit'], { SOCKCLOSE_AUDIT_FILE: path.join(dir, 'no', 'such', 'dir', 'a.json') });
      expect(result.status).toBe(0);
      expect(result.stderr).toMatch(/^sockclose audit: could not write the report: ENOENT/m);
      expect(result.stderr).toMatch(SUMMARY);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('SIGUSR2 to a process with no server (npm, a shell in front of the server): one line saying so, and the file left alone', async () => {
    const dir = tempDir('sockclose-audit-');
    try {
      const file = path.join(dir, 'audit.json');
      fs.writeFileSync(file, '{"the server":"wrote this"}\n');
      const child = started(['--require', 'sockclose/audit', '-e', "console.log('ready'); setTimeout(() => {}, 20000)"], { ...env, SOCKCLOSE_AUDIT_FILE: file });
      await within(child.ready, 10_000, 'the process to start');
      child.process.kill('SIGUSR2');
      await within(
        new Promise<void>((resolve) => child.process.stderr!.on('data', () => child.stderr.endsWith('\n') && resolve())),
        10_000,
        'the SIGUSR2 answer',
      );
      child.process.kill('SIGTERM');
      await within(child.exited, 10_000, 'the process to end');
      expect(child.stderr).toMatch(/^sockclose audit \(pid \d+, SIGUSR2\): no server in this process; send SIGUSR2 to the server's own process/);
      expect(fs.readFileSync(file, 'utf8')).toBe('{"the server":"wrote this"}\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('connections still open at exit are named (the exit closes them unaudited), in the text and the JSON report', async () => {
    // Answers, then exits with the connection open: its close is the process's end, no look first.
    const server = "const s = require('net').createServer((c) => c.once('data', () => c.write('bye', () => process.exit(0)))); s.listen(0, '127.0.0.1', () => console.log('ready', s.address().port));";
    const dir = tempDir('sockclose-audit-');
    try {
      for (const file of [null, path.join(dir, 'audit.json')]) {
        const child = started(['--require', 'sockclose/audit', '-e', server], file ? { ...env, SOCKCLOSE_AUDIT_FILE: file } : env);
        await within(child.ready, 10_000, 'the server to listen');
        const port = Number(/ready (\d+)/.exec(child.stdout)![1]);
        const client = net.connect({ port, host: '127.0.0.1' });
        client.on('error', () => {});
        client.resume();
        client.write('hello');
        expect(await within(child.exited, 10_000, 'the server to exit')).toEqual([0, null]);
        client.destroy();
        if (file) {
          expect(JSON.parse(fs.readFileSync(file, 'utf8'))).toMatchObject({ reason: 'exit', open: 1, counts: { closed: 0 } });
        } else {
          expect(child.stderr).toMatch(/^sockclose audit \(pid \d+, exit\): No connection has closed yet\.\n {2}1 connection was still open: the process's end closes it unaudited/);
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a process with no server says nothing', () => {
    const result = spawnSync(process.execPath, ['--require', 'sockclose/audit', '-e', 'process.exitCode = 3'], { env, encoding: 'utf8' });
    expect(result.status).toBe(3);
    expect(result.stderr).toBe('');
  });

  it('SIGUSR2 prints the summary and the process runs on; SIGTERM prints it, then still ends the process', async () => {
    const child = started(['--require', 'sockclose/audit', app], { ...env, SEED_WAIT: '1' });
    try {
      await within(child.ready, 20_000, 'the application to be ready');
      child.process.kill('SIGUSR2');
      await within(
        new Promise<void>((resolve) => child.process.stderr!.on('data', () => child.stderr.includes('SIGUSR2') && child.stderr.endsWith('\n') && resolve())),
        10_000,
        'the SIGUSR2 report',
      );
      expect(child.stderr).toMatch(/^sockclose audit \(pid \d+, SIGUSR2\): 10 of 10 connections ended with RST/m);
      expect(child.process.exitCode).toBeNull();
      child.process.kill('SIGTERM');
      const [code, signal] = await within(child.exited, 10_000, 'the application to end');
      expect([code, signal]).toEqual([null, 'SIGTERM']);
      expect(child.stderr).toMatch(/^sockclose audit \(pid \d+, SIGTERM\): 10 of 10 connections ended with RST/m);
      expect(child.stderr).not.toMatch(/, exit\)/);
    } finally {
      child.process.kill('SIGKILL');
    }
  });

  it('connections still lingering are not reported as ended on SIGUSR2; SIGTERM counts them as the process\'s end closes them', async () => {
    const child = started(['--require', 'sockclose/audit', '-e', LINGERING_413], env);
    const clients: net.Socket[] = [];
    try {
      await twoLingering(child, clients);
      child.process.kill('SIGUSR2');
      await within(
        new Promise<void>((resolve) => child.process.stderr!.on('data', () => child.stderr.includes('SIGUSR2') && child.stderr.endsWith('\n') && resolve())),
        10_000,
        'the SIGUSR2 report',
      );
      // Before: "2 of 2 connections ended with RST …; enable lingering close." while both lingered.
      expect(child.stderr).toMatch(/^sockclose audit \(pid \d+, SIGUSR2\): No connection has closed yet\.$/m);
      // Neither in Node's count of open connections nor closed: named as lingering (before: nothing).
      expect(child.stderr).toMatch(/^ {2}2 lingering closes are still under way$/m);
      child.process.kill('SIGTERM');
      const [code, signal] = await within(child.exited, 10_000, 'the application to end');
      expect([code, signal]).toEqual([null, 'SIGTERM']);
      // The process's end closes both with the upload unread: RST, as the look at their close saw.
      expect(child.stderr).toMatch(/^sockclose audit \(pid \d+, SIGTERM\): 2 of 2 connections ended with RST/m);
      expect(child.stderr).toMatch(/^ {2}2 lingering closes were still under way: the process's end cuts them short \(RST under onTimeout 'reset'\); wait for control\.drained\(\) before exiting$/m);
    } finally {
      for (const client of clients) client.destroy();
      child.process.kill('SIGKILL');
    }
  });

  it('SIGHUP (the terminal closed) prints it, then still ends the process by that signal', async () => {
    const child = started(['--require', 'sockclose/audit', app], { ...env, SEED_WAIT: '1' });
    try {
      await within(child.ready, 20_000, 'the application to be ready');
      child.process.kill('SIGHUP');
      const [code, signal] = await within(child.exited, 10_000, 'the application to end');
      expect([code, signal]).toEqual([null, 'SIGHUP']);
      expect(child.stderr).toMatch(/^sockclose audit \(pid \d+, SIGHUP\): 10 of 10 connections ended with RST/m);
    } finally {
      child.process.kill('SIGKILL');
    }
  });
});

describe("sockclose/audit preload and the application's own signal handling", () => {
  it.each(['before', 'after'])(
    "a process.once('SIGTERM') graceful shutdown registered %s listen() runs to its end (the audit's listener must not end the process under it)",
    async (order) => {
      // Before, with the application's listener registered first, the preload's ran after it, found
      // no other listener (a once() listener is removed before it runs) and re-raised the signal:
      // exit by SIGTERM in the middle of the shutdown.
      const script = `
        const net = require('node:net');
        const shutdown = () => setTimeout(() => { process.stdout.write('shut down\\n'); process.exit(0); }, 200);
        if (${JSON.stringify(order)} === 'before') process.once('SIGTERM', shutdown);
        net.createServer().listen(0, '127.0.0.1', () => {
          if (${JSON.stringify(order)} === 'after') process.once('SIGTERM', shutdown);
          process.stdout.write('ready\\n');
        });`;
      const child = started(['--require', 'sockclose/audit', '-e', script], env);
      try {
        await within(child.ready, 20_000, 'the server to listen');
        child.process.kill('SIGTERM');
        expect(await within(child.exited, 10_000, 'the application to shut down')).toEqual([0, null]);
        expect(child.stdout).toContain('shut down');
        expect(child.stderr).toMatch(/^sockclose audit \(pid \d+, exit\): No connection has closed yet\.$/m);
      } finally {
        child.process.kill('SIGKILL');
      }
    },
    30_000,
  );
});

describe('sockclose/audit preload loaded twice', () => {
  // A second install: its own lib/ (other module instances) and its own binary.
  let copyDir: string;
  beforeAll(() => {
    copyDir = copyOfPackage('sockclose-audit-copy-', sockclose.capabilities().binary!);
  });
  afterAll(() => fs.rmSync(copyDir, { recursive: true, force: true }));
  const preload = () => path.join(root, 'lib', 'audit', 'preload.js');
  const copyPreload = () => path.join(copyDir, 'lib', 'audit', 'preload.js');
  const EXIT_REPORT = /^sockclose audit \(pid \d+, exit\): /gm;

  it('two installs preloaded (--require one --require the other): one report, by the first', () => {
    const result = spawnSync(process.execPath, ['--require', preload(), '--require', copyPreload(), app], { env, encoding: 'utf8', timeout: 30_000 });
    expect(result.status).toBe(0);
    expect(result.stderr.match(EXIT_REPORT)).toHaveLength(1);
    expect(result.stderr).toMatch(SUMMARY);
    // Each close audited once: 10 closes, not 20 (nor 10 in each of two reports).
    expect(result.stderr).toMatch(/^ {2}10 closes on 1 server: /m);
  });

  it('an application that loads its own copy after the preload: that copy reports what the first audits', () => {
    // Three connections before the application's copy loads, two after: a copy auditing on its own
    // would see only the last two (it finds the server at its first connection after loading).
    const script = `
      const net = require('node:net');
      const server = net.createServer((socket) => socket.end('x'));
      const connect = () => new Promise((resolve) => net.connect(server.address().port, '127.0.0.1').on('error', () => {}).resume().on('close', resolve));
      server.listen(0, '127.0.0.1', async () => {
        for (let i = 0; i < 3; i++) await connect();
        const own = require(${JSON.stringify(copyPreload())});
        for (let i = 0; i < 2; i++) await connect();
        await new Promise((resolve) => server.close(resolve));
        const first = require(${JSON.stringify(preload())}).processAuditReport();
        const second = own.processAuditReport('asked');
        process.stdout.write(JSON.stringify({ first, second, distinct: own !== require(${JSON.stringify(preload())}) }));
      });`;
    const result = spawnSync(process.execPath, ['--require', preload(), '-e', script], { env, encoding: 'utf8', timeout: 30_000 });
    expect(result.status).toBe(0);
    const { first, second, distinct } = JSON.parse(result.stdout);
    expect(distinct).toBe(true);
    expect(first).toMatchObject({ reason: 'call', servers: 1, counts: { closed: 5 } });
    expect(second).toMatchObject({ reason: 'asked', servers: 1, counts: first.counts, summary: first.summary });
    expect(result.stderr.match(EXIT_REPORT)).toHaveLength(1);
  });

  it("the lingering closes of another install's lingering close are counted (sockclose audit's copy over the application's own)", async () => {
    // The application's lingering close is its own install's; the audit is the preloaded one's.
    const child = started(['--require', preload(), '-e', LINGERING_413], { ...env, SOCKCLOSE_LIB: path.join(copyDir, 'lib', 'index.js') });
    const clients: net.Socket[] = [];
    try {
      await twoLingering(child, clients);
      child.process.kill('SIGTERM');
      const [code, signal] = await within(child.exited, 10_000, 'the application to end');
      expect([code, signal]).toEqual([null, 'SIGTERM']);
      expect(child.stderr).toMatch(/^ {2}2 lingering closes were still under way: the process's end cuts them short/m);
    } finally {
      for (const client of clients) client.destroy();
      child.process.kill('SIGKILL');
    }
  });

  it('two copies of the preload (sockclose audit over an app that preloads its own): SIGTERM still ends the process, after one report', async () => {
    const child = started(['--require', preload(), '--require', copyPreload(), '-e', "require('node:net').createServer().listen(0, '127.0.0.1', () => process.stdout.write('ready\\n'));"], env);
    try {
      await within(child.ready, 20_000, 'the server to listen');
      child.process.kill('SIGTERM');
      expect(await within(child.exited, 10_000, 'SIGTERM to end the process')).toEqual([null, 'SIGTERM']);
      expect(child.stderr.match(/^sockclose audit \(pid \d+, SIGTERM\): No connection has closed yet\.$/gm)).toHaveLength(1);
    } finally {
      child.process.kill('SIGKILL');
    }
  });
});

describe('sockclose/audit preload: servers found when they listen', () => {
  it('a handler that closes at once (hardReset) is audited from the first connection, as a reset asked for', () => {
    const script = `
      const net = require('node:net');
      const { hardReset } = require(process.env.SOCKCLOSE_LIB);
      const server = net.createServer((socket) => { socket.on('error', () => {}); socket.write('x'); hardReset(socket); });
      server.listen(0, '127.0.0.1', async () => {
        for (let i = 0; i < 3; i++) await new Promise((resolve) => net.connect(server.address().port, '127.0.0.1').on('error', () => {}).on('close', resolve));
        server.close();
      });`;
    const result = spawnSync(process.execPath, ['--require', 'sockclose/audit', '-e', script], { env, encoding: 'utf8', timeout: 30_000 });
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/: None of 3 connections ended with an RST that could lose a response\.\n {2}3 closes on 1 server: FIN 0, RST 3 \(input left unread 0, asked for 3\)/);
  });
});

describe('sockclose/audit entry point', () => {
  it('require and import give the same names; the ES module default is the CommonJS module', () => {
    const cjs = spawnSync(process.execPath, ['-p', "JSON.stringify(Object.keys(require('sockclose/audit')).filter((k) => k !== '__esModule').sort())"], { encoding: 'utf8', cwd: root });
    const esm = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', "import * as m from 'sockclose/audit'; console.log(JSON.stringify(Object.keys(m).filter((k) => k !== 'default').sort()), m.default.processAuditReport === m.processAuditReport)"],
      { encoding: 'utf8', cwd: root },
    );
    expect(JSON.parse(cjs.stdout)).toEqual(['processAuditReport']);
    expect(esm.stdout.trim()).toBe('["processAuditReport"] true');
  });
});
