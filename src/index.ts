// sockclose: control how a TCP connection ends.
//
// What `require('sockclose')` loads is kept small (issue 11): the per-call functions are loaded at
// once, as plain data properties (`export import`: tsc's `export { x } from` would make each one a
// getter, ~130 instructions on every `sockclose.fn()` call); the lingering close, the cluster
// guard and the audit are loaded on first use, through a function that forwards to theirs.
// The harness is its own entry point (`sockclose/harness`) and is never loaded from here.
import type * as Audit from './audit/audit-closes.js';
import * as capabilitiesModule from './capabilities.js';
import type * as Cluster from './cluster/index.js';
import * as channels from './diagnostics/channels.js';
import * as errors from './errors.js';
import * as hardResetModule from './hard-reset.js';
import * as inspect from './inspect-socket.js';
import * as linger from './linger.js';
import type * as Lingering from './lingering/index.js';
import * as shutdown from './shutdown-write.js';
import * as socketError from './socket-error.js';
import * as socketFdModule from './socket-fd.js';

export type {
  AuditClosesOptions,
  AuditedClose,
  AuditedCloseFields,
  AuditedEnd,
  AuditedNoRstClose,
  AuditedRequest,
  AuditedRstClose,
  AuditedUnknownClose,
  CloseAudit,
  CloseAuditCounts,
  LingerUnreadResetReasons,
} from './audit/types.js';
export import capabilities = capabilitiesModule.capabilities;
export type { Capabilities } from './capabilities.js';
export type {
  ClusterHangExposure,
  ClusterProtectionReport,
  ClusterSetting,
  ClusterSettingReport,
  ProtectClusterOptions,
} from './cluster/index.js';
export import ChannelNames = channels.ChannelNames;
export type { AuditCloseMessage, HardResetMessage, LingerEndMessage } from './diagnostics/channels.js';
export import ErrorCodes = errors.ErrorCodes;
export type {
  CodedError,
  PendingSocketError,
  SockcloseErrorCode,
  SystemError,
  UnsupportedError,
} from './errors.js';
export import hardReset = hardResetModule.hardReset;
export import closeWouldReset = inspect.closeWouldReset;
export import inspectSocket = inspect.inspectSocket;
export type { SocketInspection, TcpCounters } from './inspect-socket.js';
export import getLinger = linger.getLinger;
export import setLinger = linger.setLinger;
export type { LingerSetting, SetLingerOptions } from './linger.js';
export type {
  EnableLingeringCloseOptions,
  LingerEndReason,
  LingerEofReport,
  LingerErrorReport,
  LingerOverloadReport,
  LingerReport,
  LingerReportFields,
  LingerTimeoutReport,
  LingeringCloseControl,
  LingeringCloseCallOptions,
  LingeringCloseOptions,
  LingeringCloseStats,
} from './lingering/index.js';
export type { TcpStateName } from './native/layout.js';
export type { PlatformName } from './platform/index.js';
export import shutdownWrite = shutdown.shutdownWrite;
export import peekSocketError = socketError.peekSocketError;
export import takeSocketError = socketError.takeSocketError;
export import socketFd = socketFdModule.socketFd;
export type { SocketTarget } from './target.js';

// Loaded on first use. Their documentation is their modules' (docs/api follows `typeof`).
export declare const clusterHangExposure: typeof Cluster.clusterHangExposure;
export declare const protectCluster: typeof Cluster.protectCluster;
export declare const enableLingeringClose: typeof Lingering.enableLingeringClose;
export declare const lingeringClose: typeof Lingering.lingeringClose;
export declare const lingeringCloseStats: typeof Lingering.lingeringCloseStats;
export declare const auditCloses: typeof Audit.auditCloses;

/**
 * Defines `exports[name]`, for each name, as a function that loads its module on the first call
 * and forwards to the function of that name there. A plain data property from the start (not a
 * getter that replaces itself): the ES module entry can take it at import without loading
 * anything, and both entries hand out the same function. `functions` gives each name its
 * function's `length` (the forwarder's own would be 0; test/core/lazy-load.test.ts checks them
 * against the loaded functions).
 */
function lazy(functions: Readonly<Record<string, number>>, load: () => Record<string, unknown>): void {
  for (const [name, length] of Object.entries(functions)) {
    let loaded: ((...args: unknown[]) => unknown) | undefined;
    const forward = function (this: unknown, ...args: unknown[]): unknown {
      if (loaded === undefined) {
        loaded = load()[name] as (...args: unknown[]) => unknown;
        errors.calledThrough(loaded, forward);
      }
      return Reflect.apply(loaded, this, args);
    };
    Object.defineProperty(forward, 'name', { value: name });
    Object.defineProperty(forward, 'length', { value: length });
    Object.defineProperty(exports, name, { value: forward, enumerable: true, writable: false, configurable: false });
  }
}

lazy({ clusterHangExposure: 2, protectCluster: 1 }, () => require('./cluster/index.js') as Record<string, unknown>);
lazy({ enableLingeringClose: 1, lingeringClose: 1, lingeringCloseStats: 0 }, () => require('./lingering/index.js') as Record<string, unknown>);
lazy({ auditCloses: 1 }, () => require('./audit/audit-closes.js') as Record<string, unknown>);
