// The decision that ends a linger, on kernel facts given as they would be read on each platform:
// in particular IBM i, where a read after our shutdown(SHUT_WR) can fail with ECONNRESET although
// the peer simply closed (libuv issue 3494). This project's machines are Linux, so the IBM i case
// is checked on the decision itself, fed the facts IBM i's probe gives (state unknown, the reset
// seen through getsockname()'s EINVAL).
import { createRequire } from 'node:module';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { root } from '../helpers/sockclose.js';

const require = createRequire(import.meta.url);
const { peerEnd } = require(path.join(root, 'lib', 'lingering', 'drain.js')) as typeof import('../../lib/lingering/drain.js');
const { aix } = require(path.join(root, 'lib', 'platform', 'aix.js')) as typeof import('../../lib/platform/aix.js');
const { linux } = require(path.join(root, 'lib', 'platform', 'linux.js')) as typeof import('../../lib/platform/linux.js');

type PeerView = Parameters<typeof peerEnd>[0];
const RESET = { errno: 104, syscall: 'getsockname', inferred: true } as const;

function view(overrides: Partial<PeerView>): PeerView {
  return { unread: 0, peerFinished: false, reset: null, ourFinSent: null, progress: 0, abortive: false, ...overrides };
}

describe('peerEnd: when a linger is over', () => {
  it("IBM i: a reset after our FIN ends the linger as 'eof'", () => {
    const ibmi = aix('os400').resetAfterShutdownIsEnd;
    expect(ibmi).toBe(true);
    expect(peerEnd(view({ reset: RESET }), true, ibmi)).toBe('eof');
    // Before our FIN it is a real reset there too.
    expect(peerEnd(view({ reset: RESET }), false, ibmi)).toBe('error');
  });

  it("AIX and Linux: a reset before the peer's FIN is an error", () => {
    expect(aix('aix').resetAfterShutdownIsEnd).toBe(false);
    expect(linux.resetAfterShutdownIsEnd).toBe(false);
    expect(peerEnd(view({ reset: RESET }), true, false)).toBe('error');
    expect(peerEnd(view({ reset: RESET, ourFinSent: true }), false, false)).toBe('error');
  });

  it("a reset after the peer's FIN (it closed with our data unread) is still the peer's end", () => {
    expect(peerEnd(view({ reset: RESET, peerFinished: true }), true, false)).toBe('eof');
  });

  it('a FIN ends it only once nothing is unread and our FIN is out', () => {
    expect(peerEnd(view({ peerFinished: true, unread: 0 }), true, false)).toBe('eof');
    expect(peerEnd(view({ peerFinished: true, unread: 12 }), true, false)).toBeNull();
    expect(peerEnd(view({ peerFinished: true, unread: null }), true, false)).toBeNull();
    // libuv still writing: closing now would cut our response.
    expect(peerEnd(view({ peerFinished: true, unread: 0 }), false, false)).toBeNull();
    expect(peerEnd(view({ peerFinished: false, unread: 0 }), true, false)).toBeNull();
  });
});
