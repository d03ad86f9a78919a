// A canary connection for robustness tests: a live TCP pair in a distinctive kernel state (a timed
// kernel linger of 7 s, 6 unread bytes, 5 bytes sent to the peer) whose every observable detail
// is snapshotted, so a test can prove that a call aimed at something else (a bad descriptor, a
// destroyed socket, a number that used to be a socket) did not touch it.
import net from 'node:net';

import { expect } from 'vitest';

import { closeServer, listen, portOf } from '../helpers/net.js';
import { sockclose } from '../helpers/sockclose.js';
import { nextEvent, until, within } from '../helpers/wait.js';

/** Everything the canary's two ends show, kernel and Node. */
export interface CanarySnapshot {
  fd: number;
  linger: unknown;
  state: string | null;
  unreadBytes: number | null;
  bytesReceived: number | null;
  bytesSent: number | null;
  pendingError: unknown;
  closeWouldReset: boolean;
  peerState: string | null;
  peerUnread: number | null;
  peerEvents: string[];
  destroyed: [boolean, boolean];
}

export interface Canary {
  /** The server-side socket: paused (never reads), kernel linger {1, 7}. */
  readonly socket: net.Socket;
  /** Its peer, which sent 6 bytes and received 5. */
  readonly peer: net.Socket;
  readonly fd: number;
  snapshot(): CanarySnapshot;
  /** Fails the test unless the canary looks exactly as it did when created. */
  expectUntouched(context: string): void;
  close(): Promise<void>;
}

const SENT_TO_PEER = 'hello';
const SENT_BY_PEER = 'canary';

/** A listener for {@link createCanary}, made ahead when the canary's descriptors must be the next ones. */
export function canaryListener(): Promise<net.Server> {
  // pauseOnConnect: Node never reads the accepted socket, so the peer's bytes stay in the kernel.
  return listen(net.createServer({ pauseOnConnect: true }));
}

/**
 * Makes a canary. With `listener` made earlier by {@link canaryListener}, the next descriptor this
 * process opens is the canary's peer (its client end).
 */
export async function createCanary(listener?: net.Server): Promise<Canary> {
  listener ??= await canaryListener();
  const accepted = nextEvent<[net.Socket]>(listener, 'connection');
  const server = listener;
  const peer = net.connect(portOf(listener), '127.0.0.1');
  const peerEvents: string[] = [];
  await nextEvent(peer, 'connect');
  const [socket] = await accepted;
  socket.on('error', () => undefined); // only ever reset at cleanup

  sockclose.setLinger(socket, 7, { blocking: true });
  const received = nextEvent(peer, 'data');
  socket.write(SENT_TO_PEER);
  await received;
  for (const event of ['data', 'end', 'error', 'close']) peer.on(event, () => peerEvents.push(event));
  peer.write(SENT_BY_PEER);
  await until(() => sockclose.inspectSocket(socket).unreadBytes === SENT_BY_PEER.length, 5000, 'the canary to hold 6 unread bytes');

  const snapshot = (): CanarySnapshot => {
    const own = sockclose.inspectSocket(socket);
    const other = sockclose.inspectSocket(peer);
    return {
      fd: sockclose.socketFd(socket),
      linger: sockclose.getLinger(socket),
      state: own.state,
      unreadBytes: own.unreadBytes,
      bytesReceived: own.tcp?.bytesReceived ?? null,
      bytesSent: own.tcp?.bytesSent ?? null,
      pendingError: own.pendingError,
      closeWouldReset: own.closeWouldReset,
      peerState: other.state,
      peerUnread: other.unreadBytes,
      peerEvents: [...peerEvents],
      destroyed: [socket.destroyed, peer.destroyed],
    };
  };
  const initial = snapshot();
  // The state the canary is meant to be in, so a broken setup cannot make every check vacuous.
  expect(initial).toMatchObject({
    linger: { enabled: true, seconds: 7, emulated: false },
    state: 'ESTABLISHED',
    unreadBytes: 6,
    pendingError: null,
    closeWouldReset: true,
    peerState: 'ESTABLISHED',
    peerUnread: 0,
    peerEvents: [],
    destroyed: [false, false],
  });

  return {
    socket,
    peer,
    fd: initial.fd,
    snapshot,
    expectUntouched(context: string) {
      expect(snapshot(), `canary after ${context}`).toEqual(initial);
    },
    async close() {
      peer.on('error', () => undefined);
      const closed = Promise.all([socket, peer].map((end) => new Promise((resolve) => end.once('close', resolve))));
      sockclose.hardReset(socket); // {1, 7} would be a blocking close; reset instead
      peer.destroy();
      await within(closed, 5000, 'the canary to close');
      await closeServer(server);
    },
  };
}
