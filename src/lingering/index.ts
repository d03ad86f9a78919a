// Lingering close for Node servers: flush, FIN, drain the peer's input until its FIN (or a
// bound), then close, so that no response is lost to an RST. See docs/lingering.md.
export { enableLingeringClose } from './enable.js';
export { lingeringClose } from './lingering-close.js';
export { lingeringCloseStats } from './stats.js';
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
} from './types.js';
