// sockclose: control how a TCP connection ends.
export { auditCloses } from './audit/audit-closes.js';
export type { AuditClosesOptions, AuditedClose, AuditedEnd, AuditedRequest, CloseAudit, CloseAuditCounts } from './audit/types.js';
export { capabilities, type Capabilities } from './capabilities.js';
export {
  clusterHangExposure,
  protectCluster,
  type ClusterHangExposure,
  type ClusterProtectionReport,
  type ClusterSetting,
  type ClusterSettingReport,
  type ProtectClusterOptions,
} from './cluster/index.js';
export { ChannelNames, type AuditCloseMessage, type HardResetMessage, type LingerEndMessage } from './diagnostics/channels.js';
export {
  ErrorCodes,
  type CodedError,
  type PendingSocketError,
  type SockcloseErrorCode,
  type SystemError,
  type UnsupportedError,
} from './errors.js';
export { hardReset } from './hard-reset.js';
export { closeWouldReset, inspectSocket, type SocketInspection, type TcpCounters } from './inspect-socket.js';
export { getLinger, setLinger, type LingerSetting, type SetLingerOptions } from './linger.js';
export {
  enableLingeringClose,
  lingeringClose,
  lingeringCloseStats,
  type EnableLingeringCloseOptions,
  type LingerEndReason,
  type LingerReport,
  type LingeringCloseControl,
  type LingeringCloseOptions,
  type LingeringCloseStats,
} from './lingering/index.js';
export type { TcpStateName } from './native/layout.js';
export type { PlatformName } from './platform/index.js';
export { shutdownWrite } from './shutdown-write.js';
export { peekSocketError, takeSocketError } from './socket-error.js';
export { socketFd } from './socket-fd.js';
export type { SocketTarget } from './target.js';
