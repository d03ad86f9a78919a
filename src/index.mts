// ES module entry: the CommonJS build's exports, as named exports.
import sockclose from './index.js';

export const {
  capabilities,
  closeWouldReset,
  ErrorCodes,
  getLinger,
  hardReset,
  inspectSocket,
  peekSocketError,
  setLinger,
  shutdownWrite,
  socketFd,
  takeSocketError,
} = sockclose;

export type * from './index.js';
export default sockclose;
