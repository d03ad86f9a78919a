// What the kernel says about a lingering socket while the native lingerer has it: the epoll entries
// that name it (any epoll descriptor of this process: the lingerer's own with the epoll poller,
// libuv's with the uv one), each with its target number and event mask; its receive and send
// queues.
// Linux only (/proc); the tests that use it run only there.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

import { root, sockclose } from '../helpers/sockclose.js';

const { binding } = createRequire(import.meta.url)(path.join(root, 'lib', 'native', 'binding.js'));

/** The lingerer's poller is the epoll one (native/poller_epoll.cc: one-shot entries of its own). */
export const epollPoller = process.platform === 'linux' && binding()?.lingerPrepareCall === 'epoll_create1';

export const EPOLLIN = 0x1;
export const EPOLLONESHOT = 1 << 30;

export interface Entry {
  /** The epoll descriptor holding it. */
  epfd: number;
  /** The descriptor number it was added under (it may be closed since). */
  tfd: number;
  mask: number;
  /** What the poller keyed it with (epoll_event.data, hex: the lingerer's slot << 32 | token). */
  data: string;
  inode: number;
}

/** Every epoll entry of this process naming a socket. */
export function epollEntries(): Entry[] {
  const entries: Entry[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile (the listing's own descriptor)
    }
    if (target !== 'anon_inode:[eventpoll]') continue;
    let info: string;
    try {
      info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of info.split('\n')) {
      const entry = /^tfd:\s*(\d+)\s+events:\s*([0-9a-f]+)\s+data:\s*([0-9a-f]+).*\bino:([0-9a-f]+)/.exec(line);
      if (entry) {
        entries.push({ epfd: Number(fd), tfd: Number(entry[1]), mask: Number.parseInt(entry[2]!, 16), data: entry[3]!, inode: Number.parseInt(entry[4]!, 16) });
      }
    }
  }
  return entries;
}

/** The entries naming the socket of `inode`. */
export function entriesFor(inode: number, all = epollEntries()): Entry[] {
  return all.filter((entry) => entry.inode === inode);
}

/** Watched for input now: an entry armed for EPOLLIN (a fired one-shot entry has only EPOLLONESHOT left). */
export function armed(inode: number, all = epollEntries()): boolean {
  return entriesFor(inode, all).some((entry) => (entry.mask & EPOLLIN) !== 0);
}

export function inodeOf(fd: number): number {
  const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
  if (!match) throw new Error(`descriptor ${fd} is no socket`);
  return Number(match[1]);
}

/**
 * Bytes waiting in the receive queue of the socket of `inode`, read through the descriptor its
 * epoll entry was added under (the lingerer's own, while it lingers), once that number is seen to
 * name the socket still: a few syscalls, where /proc/net/tcp lists every TCP socket of the host
 * (tens of milliseconds to read once the suite has left thousands in TIME-WAIT). Null if no
 * entry's number names it.
 */
export function unreadViaEntry(inode: number, all = epollEntries()): number | null {
  for (const entry of entriesFor(inode, all)) {
    let named: number;
    try {
      named = inodeOf(entry.tfd);
    } catch {
      continue; // closed since the entry was made, or now a descriptor of another kind
    }
    // Nothing else runs on this thread until the look below: the number cannot change meanwhile.
    if (named === inode) return sockclose.inspectSocket(entry.tfd).unreadBytes;
  }
  return null;
}

/** Bytes of ours not yet acknowledged by the peer of the TCP socket of `inode`, null if none has it. */
export function sendQueue(inode: number): number | null {
  return queues(inode)?.send ?? null;
}

function queues(inode: number): { send: number; receive: number } | null {
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || Number(fields[9]) !== inode) continue;
      const [send, receive] = fields[4]!.split(':').map((hex) => Number.parseInt(hex, 16));
      return { send: send!, receive: receive! };
    }
  }
  return null;
}
