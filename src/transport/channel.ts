// The transport seam. A channel receives requests from the kernel and sends replies; whether it
// is the event loop reading /dev/fuse itself (devfuse.ts), native worker threads on cloned fds
// (workers.ts) or, later, an io_uring ring, the dispatch code above it does not know. A channel
// that executes READs on its own threads takes each open handle's READ plan (register); the
// plan is made by datapath/read.ts, never by the channel.
import type { PlanArray } from '../addon.js';

/**
 * Receives one request: `length` bytes at the start of `buf` (valid only during the call), the
 * fd its reply must go back on (each cloned fd has its own processing list), and `prior`, the
 * failure code of a READ plan the channel already tried for it (0 if none).
 */
export type RequestSink = (buf: Buffer, length: number, replyFd: number, prior: number) => void;

/** A READ a channel's own threads answered without the event loop (reported for the debug log). */
export interface ServedRead {
  unique: bigint;
  nodeid: number;
  fh: number;
  offset: bigint;
  /** bytes asked for */
  size: number;
  /** data bytes sent, or the device's failure code -(stage << 12 | errno) (ENOENT: interrupted) */
  result: number;
  path: 'splice' | 'copy';
  /** the index of the thread that answered */
  thread: number;
}

/** One short step of housekeeping while no request waits: true if it did any. */
export type IdleWork = () => boolean;

/** Where a channel reports the READs its threads answered; `dropped`: records the log lost. */
export interface ServedSink {
  read(r: ServedRead): void;
  dropped(n: number): void;
}

export interface Channel {
  /** "event loop" or "worker threads", for the mount line. */
  readonly name: string;
  /**
   * Start delivering requests; onEnd(why) once the connection is gone (ENODEV) or failed. With
   * `served` (the debug log), every READ the channel answers on its own threads is reported.
   * `idle`, where the event loop reads the device itself: called when it finds the device empty,
   * to do one short step of housekeeping; true if it did some (the device is read again first).
   */
  start(sink: RequestSink, onEnd: (why: string) => void, served?: ServedSink, idle?: IdleWork): void;
  /** Write one reply; bytes written or -errno (ENOENT: interrupted, ENODEV: unmounted). */
  send(fd: number, buf: Uint8Array, length: number): number;
  /**
   * Take (or replace) the READ plan of file handle fh; a no-op where the event loop serves READs.
   * nodeid (0: none): fh's fd may also answer that node's GETXATTR of security.capability.
   */
  register(fh: number, plan: PlanArray, nodeid?: number): void;
  unregister(fh: number): void;
  /** The channel's own counters by name (forwarded, spinHits, ...); {} when it has none. */
  counters(): Record<string, number>;
  /** Stop receiving; joins any threads, so none touches an fd after this. Idempotent. */
  stop(): void;
}
