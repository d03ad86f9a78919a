// A revoked Proxy throws at every trap, `instanceof` included. Given as a target it is simply not a
// socket: Node's own TypeError (ERR_INVALID_ARG_TYPE, with a code), never the engine's code-less
// "Cannot perform 'getPrototypeOf' on a proxy that has been revoked".
import net from 'node:net';

import { describe, expect, it } from 'vitest';

import { sockclose } from '../helpers/sockclose.js';

function revoked(): net.Socket {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy as net.Socket;
}

const SYNC = ['socketFd', 'getLinger', 'peekSocketError', 'takeSocketError', 'inspectSocket', 'closeWouldReset', 'hardReset'] as const;
const NOT_A_SOCKET = { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE', message: expect.stringMatching(/Received <Revoked Proxy>$/) };

describe('a revoked Proxy as the target', () => {
  it.each(SYNC)('%s() throws ERR_INVALID_ARG_TYPE', (name) => {
    expect(() => (sockclose[name] as (target: net.Socket) => unknown)(revoked())).toThrow(expect.objectContaining(NOT_A_SOCKET));
  });

  it('setLinger() throws it, shutdownWrite() and lingeringClose() reject with it', async () => {
    expect(() => sockclose.setLinger(revoked(), 0)).toThrow(expect.objectContaining(NOT_A_SOCKET));
    await expect(sockclose.shutdownWrite(revoked())).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
    await expect(sockclose.lingeringClose(revoked())).rejects.toMatchObject({ code: 'ERR_INVALID_ARG_TYPE' });
  });
});

// The same for a revoked Proxy given as a server or as an options object: the argument is named.
describe('a revoked Proxy as a server or as options', () => {
  const notA = (argument: string) => ({ ...NOT_A_SOCKET, message: expect.stringMatching(new RegExp(`^The "${argument}" argument .*Received <Revoked Proxy>$`)) });
  const server = () => new net.Server();

  it('enableLingeringClose() and auditCloses() name the server', () => {
    expect(() => sockclose.enableLingeringClose(revoked() as never)).toThrow(expect.objectContaining(notA('server')));
    expect(() => sockclose.auditCloses(revoked() as never)).toThrow(expect.objectContaining(notA('server')));
  });

  it('every function taking options names them', () => {
    const options = revoked() as never;
    expect(() => sockclose.enableLingeringClose(server(), options)).toThrow(expect.objectContaining(notA('options')));
    expect(() => sockclose.auditCloses(server(), options)).toThrow(expect.objectContaining(notA('options')));
    expect(() => sockclose.protectCluster(options)).toThrow(expect.objectContaining(notA('options')));
    expect(() => sockclose.setLinger(new net.Socket(), false, options)).toThrow(expect.objectContaining(notA('options')));
  });
});
