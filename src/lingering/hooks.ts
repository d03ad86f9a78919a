// Where lingering close meets Node's sockets: the prototype's destroy() and _final(), wrapped once
// (the first time lingering close is used in this thread), and the close hook's first step. A
// socket of no lingering server pays a property read at its end() and destroy(); nothing is added
// to any socket, so sockets keep Node's hidden classes and nothing is allocated per connection.
import net from 'node:net';

import { closeBypassed, setFirstStep } from '../close-hook.js';
import { nodeResetInProgress, type SocketInternals } from '../node-handle.js';
import { countCopy } from './claims.js';
import { abandonClose, afterOurFin, destroyLingering, lingerStep, resetWhileFlushing, type Destroy } from './managed.js';
import { serverEntryOf } from './servers.js';

type Final = (this: SocketInternals, callback: (error?: Error | null) => void) => void;

let installed = false;

/** Installs the hooks (once per thread: each worker has its own net module). */
export function installLingeringHooks(): void {
  if (installed) return;
  installed = true;
  // Another copy of sockclose wraps the same prototype: from then on server closes are claimed.
  countCopy();
  const proto = net.Socket.prototype as unknown as { destroy: Destroy; _final: Final };
  const destroy = proto.destroy;
  const final = proto._final;

  proto.destroy = function destroyUnderLingeringClose(this: SocketInternals, error?: Error | null, callback?: (error: Error | null) => void) {
    const handle = this._handle;
    if (this.destroyed || handle === null) {
      // resetAndDestroy() of a socket whose close still holds its handle (a flush): reset now.
      if (handle !== null && nodeResetInProgress(this)) resetWhileFlushing(this);
      return destroy.call(this, error, callback);
    }
    // hardReset() asked for an immediate close: nothing to prepare (no end(), no close_notify).
    if (closeBypassed(this)) {
      abandonClose(this);
      return destroy.call(this, error, callback);
    }
    return destroyLingering(this, handle, destroy, error, callback);
  };

  // Our half-close, on a lingering server's socket: once the shutdown completed and 'finish' was
  // emitted (its listeners may destroy the socket at once, as http's destroySoon() does), a socket
  // still open is half-closed and its close has begun.
  proto._final = function finalUnderLingeringClose(this: SocketInternals, callback: (error?: Error | null) => void) {
    if (serverEntryOf(this) === undefined) return final.call(this, callback);
    return final.call(this, (error) => {
      callback(error);
      if (!error) process.nextTick(afterOurFin, this);
    });
  };

  setFirstStep(lingerStep);
}
