// Where lingering close meets Node's sockets: the prototype's destroy(), _final() and destroySoon(),
// wrapped once (the first time lingering close is used in this thread), and the close hook's first
// step. A socket of no lingering server pays a property read at its end() and destroy() (and a
// variable's save and restore in destroySoon()); nothing is added to any socket, so sockets keep
// Node's hidden classes and nothing is allocated per connection.
import net from 'node:net';

import { closeBypassed, setFirstStep } from '../close-hook.js';
import { nodeResetInProgress, type SocketInternals } from '../node-handle.js';
import { countCopy } from './claims.js';
import { finNow } from './fin-now.js';
import { abandonClose, afterOurFin, destroyLingering, lingerStep, resetWhileFlushing, type Destroy } from './managed.js';
import { serverEntryOf } from './servers.js';

type Final = (this: SocketInternals, callback: (error?: Error | null) => void) => void;

let installed = false;
// The socket whose destroySoon() is running (its end() calls _final() synchronously), if any.
let endingSoon: SocketInternals | null = null;

/** Installs the hooks (once per thread: each worker has its own net module). */
export function installLingeringHooks(): void {
  if (installed) return;
  installed = true;
  // Another copy of sockclose wraps the same prototype: from then on server closes are claimed.
  countCopy();
  const proto = net.Socket.prototype as unknown as { destroy: Destroy; _final: Final; destroySoon: (this: SocketInternals) => void };
  const destroy = proto.destroy;
  const destroySoon = proto.destroySoon;
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
  // Inside destroySoon()'s end() the FIN goes out in this call instead, where nothing is left to
  // write (fin-now.ts): destroySoon() destroys the socket at that 'finish', so no half-close
  // follows. Not in mode 'as-needed': the socket would be destroyed a loop iteration sooner,
  // before http clears the request it answered (at the request's 'end'), and the close would look
  // unfinished and linger.
  proto._final = function finalUnderLingeringClose(this: SocketInternals, callback: (error?: Error | null) => void) {
    const entry = serverEntryOf(this);
    if (entry === undefined) return final.call(this, callback);
    if (endingSoon === this && entry.owner.active && !entry.owner.asNeeded && finNow(this)) return callback();
    return final.call(this, (error) => {
      callback(error);
      if (!error) process.nextTick(afterOurFin, this);
    });
  };

  // Only in destroySoon(), whose socket is destroyed at 'finish' in any case. After a plain end(),
  // Node's FIN leaves on the loop's next iteration, and a reset asked for meanwhile
  // (resetAndDestroy() in the same tick) goes out with no FIN before it: kept so. In destroySoon()
  // only a reset asked for before that 'finish' (in the response's own 'finish' listener, say) now
  // follows our FIN instead of replacing it; the peer is reset all the same.
  proto.destroySoon = function destroySoonUnderLingeringClose(this: SocketInternals) {
    const outer = endingSoon;
    endingSoon = this;
    try {
      destroySoon.call(this);
    } finally {
      endingSoon = outer;
    }
  };

  setFirstStep(lingerStep);
}
