// sockclose/audit: `node --require sockclose/audit server.js` (or `--import sockclose/audit`)
// audits every net, http, https and tls server the process creates, without changing the code or
// how any connection ends. It prints the summary on SIGUSR2 and at exit: to stderr, or as JSON to
// the file SOCKCLOSE_AUDIT_FILE names ('%p' in it becomes the pid). Main thread only.
//
// Servers are found when they listen (net.Server.prototype.listen, which http, https, tls and
// cluster workers all use, is wrapped: the wrapper only starts the audit, then calls it), and,
// for a server that was listening before this module loaded, at its first connection through
// Node's own `net.server.socket` diagnostics channel.
//
// One audit per process: the first copy of this module to load (two installs of sockclose, each
// preloaded, or an application's own under `sockclose audit`) registers itself; a later one starts
// nothing, and its processAuditReport() is the first one's.
import diagnosticsChannel from 'node:diagnostics_channel';
import fs from 'node:fs';
import net from 'node:net';
import { isMainThread } from 'node:worker_threads';

import { lingeringInThread } from '../lingering/pool.js';

import { installCloseLook } from './close-look.js';
import { Recorder, watchServer, type ServerWatch } from './recorder.js';
import { formatReport, type ProcessAuditReport } from './report.js';

export type { ProcessAuditReport } from './report.js';

const RECENT = 100;
const recorder = new Recorder(RECENT);
const watched = new WeakMap<net.Server, ServerWatch>();
// The same servers, for counting their open connections at a report; weakly, as a server dropped
// by the application must not be kept alive by its audit.
let serverRefs: WeakRef<net.Server>[] = [];
// The list is pruned of collected servers once it doubles: a process that makes many short-lived
// servers (a test suite) keeps it as long as its live ones.
let pruneAt = 64;
let servers = 0;
let started = false;
let finalDone = false;

/**
 * What the copy that owns the process's audit registers, for copies loaded after it. `version`
 * says the format (a later one keeps `processAuditReport`).
 */
interface AuditRegistration {
  readonly version: 1;
  readonly processAuditReport: (reason?: string) => ProcessAuditReport;
}

// A registered symbol, on `process`: the same for every copy of this module in the main thread.
const AUDIT = Symbol.for('sockclose.audit');
// This copy's report, or, once another copy owns the audit, that copy's.
let reportOf: (reason: string) => ProcessAuditReport = auditReport;

function watch(server: net.Server): ServerWatch {
  let found = watched.get(server);
  if (!found) {
    found = watchServer(server, recorder);
    watched.set(server, found);
    serverRefs.push(new WeakRef(server));
    if (serverRefs.length >= pruneAt) {
      serverRefs = serverRefs.filter((ref) => ref.deref() !== undefined);
      pruneAt = Math.max(64, serverRefs.length * 2);
    }
    if (servers++ === 0) watchTerminatingSignals();
  }
  return found;
}

function onServerSocket(message: unknown): void {
  const server = (message as { socket?: net.Socket & { server?: net.Server } }).socket?.server;
  // Node publishes after the 'connection' event; this socket's close is recorded too, unless the
  // application already closed it.
  if (server && !watched.has(server)) watch(server);
}

function wrapListen(): void {
  const proto = net.Server.prototype as { listen: (...args: unknown[]) => unknown };
  const listen = proto.listen;
  proto.listen = function auditedListen(this: net.Server, ...args: unknown[]) {
    try {
      watch(this);
    } catch (error) {
      process.emitWarning(error as Error, { code: 'SOCKCLOSE_AUDIT' });
    }
    return listen.apply(this, args);
  };
}

/**
 * The process-wide audit `sockclose/audit` runs: its report now (what SIGUSR2 prints).
 *
 * Importing `sockclose/audit` (for this function or otherwise) is what starts that audit, in the
 * main thread: every server that listens from then on is audited, the report is printed at exit
 * and on SIGUSR2, and, once a server exists and nothing else handles them, before SIGINT, SIGTERM
 * and SIGHUP end the process. For the types alone, `import type`. One audit per process: where two
 * copies of sockclose are loaded (two installs), the first to load runs it; the other starts
 * nothing, and its `processAuditReport()` returns the first one's report.
 *
 * @param reason - Why the report is made (recorded in it). Default `'call'`.
 * @returns A {@link ProcessAuditReport}.
 * @example
 * ```ts
 * // node --require sockclose/audit server.js
 * const { processAuditReport } = require('sockclose/audit');
 * console.log(processAuditReport().summary);
 * ```
 */
export function processAuditReport(reason = 'call'): ProcessAuditReport {
  return reportOf(reason);
}

function auditReport(reason: string): ProcessAuditReport {
  return {
    pid: process.pid,
    at: Date.now(),
    reason,
    servers,
    open: openConnections(),
    lingering: lingeringInThread(),
    summary: recorder.summary(),
    counts: recorder.snapshot(),
    recent: recorder.recent(),
  };
}

/**
 * Connections the audited servers still hold: net.Server's own count (`_connections`, what
 * getConnections() reports; synchronous, as the 'exit' report must be). 0 where it is missing.
 */
function openConnections(): number {
  let open = 0;
  for (const ref of serverRefs) {
    const connections = (ref.deref() as { _connections?: unknown } | undefined)?._connections;
    if (typeof connections === 'number' && connections > 0) open += connections;
  }
  return open;
}

/**
 * Writes the report where SOCKCLOSE_AUDIT_FILE says, or to stderr; a file that cannot be written
 * says why on stderr, followed by the report itself. Never throws.
 */
function emit(reason: string): void {
  let report: ProcessAuditReport | null = null;
  try {
    report = processAuditReport(reason);
    const file = process.env.SOCKCLOSE_AUDIT_FILE;
    if (file) writeReportFile(file.replace(/%p/g, String(process.pid)), `${JSON.stringify(report)}\n`);
    else fs.writeSync(2, formatReport(report));
  } catch (error) {
    try {
      fs.writeSync(2, `sockclose audit: could not write the report: ${(error as Error).message}\n`);
      if (report !== null && process.env.SOCKCLOSE_AUDIT_FILE) fs.writeSync(2, formatReport(report));
    } catch {
      // stderr is gone: nothing left to tell.
    }
  }
}

// O_NOFOLLOW where the platform has it (not Windows, whose links this module does not plant).
const IN_PLACE = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_TRUNC | (fs.constants.O_NOFOLLOW ?? 0);

/**
 * Replaces the report file whole: written beside it, then renamed over it. Written in place
 * (truncated, then written), it was empty to a reader while the report was written, and two
 * processes writing the same name (a cluster, a name without `%p`) left a short report over the
 * tail of a longer one. A name that is no regular file (/dev/stderr, a pipe) is written as it is;
 * so is one whose directory takes no new file, or whose file's mode or owner the new one cannot
 * take (see writeLike()).
 */
function writeReportFile(name: string, text: string): void {
  let target = name;
  let stats: fs.Stats | undefined;
  try {
    stats = fs.lstatSync(name);
  } catch {
    // Not there yet: made by the rename.
  }
  if (stats?.isSymbolicLink()) {
    // The link stays: its target is replaced (written through, if it is missing or no file).
    try {
      target = fs.realpathSync.native(name);
      stats = fs.statSync(target);
      if (!stats.isFile()) return fs.writeFileSync(name, text);
    } catch {
      return fs.writeFileSync(name, text);
    }
  } else if (stats !== undefined && !stats.isFile()) {
    return fs.writeFileSync(name, text);
  }
  const temporary = `${target}.${process.pid}.tmp`;
  try {
    writeLike(temporary, text, stats);
  } catch {
    // Ours half written, or whatever was already at the name (EEXIST): removed either way.
    removeQuietly(temporary);
    // In place, at a name just seen as a regular file or as nothing: a symlink put there since is
    // not followed (ELOOP: the report goes to stderr instead). Else a link planted at the report's
    // own name once the temporary was blocked had the file it names truncated and written.
    const fd = fs.openSync(target, IN_PLACE, 0o666);
    try {
      return fs.writeFileSync(fd, text);
    } finally {
      fs.closeSync(fd);
    }
  }
  try {
    fs.renameSync(temporary, target);
  } catch (error) {
    removeQuietly(temporary);
    throw error;
  }
}

/**
 * Writes `text` to the file `name`, with the permission bits and, where permitted, the owner and
 * group of `like` (the file it is to replace: an operator's 0640 report file owned by another user
 * or group stays so, where the new file would otherwise take the umask's mode and the writer's
 * owner). Only root may give a file away: a writer that may not (EPERM) writes its own file, with
 * `like`'s permission bits and its group if the writer is in it. Any other failure throws, `name`
 * already existing (EEXIST) included.
 */
function writeLike(name: string, text: string, like: fs.Stats | undefined): void {
  // 'wx' (O_EXCL): a new file or nothing. The name is predictable (pid): with 'w', a symlink
  // planted there was followed (the file it names truncated, written, given `like`'s mode and
  // owner, and the link renamed over the report), and a file planted there kept its mode and any
  // reader's descriptor.
  if (like === undefined) return fs.writeFileSync(name, text, { flag: 'wx' });
  // Made no more open than `like` (the umask only narrows it), and given its mode and owner
  // before the report is in it: no reader gets in through a wider mode meanwhile.
  const fd = fs.openSync(name, 'wx', like.mode & 0o777);
  try {
    try {
      fs.fchownSync(fd, like.uid, like.gid);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EPERM') throw error;
      // The group alone, where the writer is in it: else the group bits went to the writer's own
      // group, and the group the file was made for lost it.
      try {
        fs.fchownSync(fd, -1, like.gid);
      } catch (groupError) {
        if ((groupError as NodeJS.ErrnoException).code !== 'EPERM') throw groupError;
      }
    }
    // After the chown, which clears the set-id bits.
    fs.fchmodSync(fd, like.mode & 0o7777);
    fs.writeFileSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}

function removeQuietly(name: string): void {
  try {
    fs.unlinkSync(name);
  } catch {
    // Gone already, or never made.
  }
}

/**
 * SIGUSR2: the report, from a process that has a server. One without (npm, a shell: a wrapper the
 * signal reached instead of the server under it) says so on stderr, and leaves SOCKCLOSE_AUDIT_FILE
 * alone: an empty report there would replace the server's.
 */
function onReportSignal(): void {
  if (servers > 0) return emit('SIGUSR2');
  try {
    fs.writeSync(2, `sockclose audit (pid ${process.pid}, SIGUSR2): no server in this process; send SIGUSR2 to the server's own process (a wrapper such as npm or a shell does not pass it on)\n`);
  } catch {
    // stderr is gone: nothing left to tell.
  }
}

/** At exit: only a process that had a server has something to say (not npm, not a build step). */
function onExit(): void {
  if (servers > 0 && !finalDone) {
    // The process's end closes the connections still lingering: counted as the look saw them.
    recorder.settlePending();
    emit('exit');
  }
}

// SIGINT, SIGTERM and SIGHUP (the terminal closed) kill a process that has no listener, without 'exit'. When nobody else
// listens, print, then let the signal do what it would have done; otherwise the application
// decides, and 'exit' prints if it exits. Every copy of the preload marks its listener (a
// process-wide symbol): two copies that each run an audit (a copy from before the registration
// above, beside a later one) must not each take the other for the application and leave the
// signal without effect.
const PRELOAD_LISTENER = Symbol.for('sockclose.audit.terminatingSignal');

function onTerminatingSignal(signal: NodeJS.Signals): void {
  if (process.listeners(signal).some((listener) => !(PRELOAD_LISTENER in listener))) return;
  if (servers > 0) {
    finalDone = true;
    recorder.settlePending();
    emit(signal);
  }
  process.off(signal, onTerminatingSignal);
  process.kill(process.pid, signal);
}

function start(): void {
  if (started || !isMainThread) return;
  started = true;
  const owner = registeredOwner();
  if (owner !== undefined) {
    // Another copy audits this process: auditing again would count every connection twice and
    // print a second report (or race the first for SOCKCLOSE_AUDIT_FILE).
    reportOf = owner.processAuditReport;
    return;
  }
  const registration: AuditRegistration = { version: 1, processAuditReport };
  // Not enumerable: nothing that lists the process's properties sees it.
  Object.defineProperty(process, AUDIT, { value: Object.freeze(registration), configurable: true });
  installCloseLook();
  wrapListen();
  diagnosticsChannel.subscribe('net.server.socket', onServerSocket);
  // SIGUSR2 has no default action but termination, and Node's inspector uses SIGUSR1: taking it
  // changes nothing an application relies on, unless it used SIGUSR2 to kill itself.
  process.on('SIGUSR2', onReportSignal);
  process.on('exit', onExit);
}

/** The registration of the copy that owns the process's audit, if one has registered. */
function registeredOwner(): AuditRegistration | undefined {
  const registered = (process as { [AUDIT]?: Partial<AuditRegistration> })[AUDIT];
  return typeof registered?.processAuditReport === 'function' ? (registered as AuditRegistration) : undefined;
}

/**
 * Only once a server exists: a process with none is left exactly as it was (a listener would let a
 * signal that arrives while its event loop is ending go unhandled, where it would have killed it).
 */
function watchTerminatingSignals(): void {
  Object.defineProperty(onTerminatingSignal, PRELOAD_LISTENER, { value: true });
  // First in line: an application's `process.once()` listener is removed before it runs, so a
  // listener running after it would find none and take the signal for unhandled (and end the
  // process in the middle of the application's graceful shutdown).
  process.prependListener('SIGINT', onTerminatingSignal);
  process.prependListener('SIGTERM', onTerminatingSignal);
  process.prependListener('SIGHUP', onTerminatingSignal);
}

start();
