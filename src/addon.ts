// Typed view of the native addon (addon/*.cc). Every function returns >= 0 on success or
// -errno; none throws for a failed syscall. Loaded once, from build/Release.
import { createRequire } from 'node:module';

export interface Watcher {
  stop(): void;
}
export interface PipePool {
  /** Data bytes sent, or -(stage << 12 | errno); see SpliceStage. */
  spliceReply(
    index: number,
    devfd: number,
    unique: number,
    filefd: number,
    offset: number,
    size: number,
    strategy: 0 | 1,
    expected: number,
  ): number;
  close(): void;
  readonly count: number;
  readonly pipeBytes: number;
  readonly sizeError: number;
}

/** Native worker threads: READ plans executed end to end, the rest forwarded (addon/workers.cc). */
export interface Workers {
  /**
   * path: 0 splice, 1 copy, 2 copy standing in for splice (counted as a fallback);
   * spliceMin: under path 0, READs asking for fewer bytes go by copy (counted as smallCopies).
   */
  register(fh: number, fd: number, path: 0 | 1 | 2, strategy: 0 | 1, spliceMin: number): void;
  unregister(fh: number): void;
  /** Next forwarded request into buf (0 = none left); meta = [reply fd, failure code or 0]. */
  take(buf: Uint8Array, meta: Float64Array): number;
  /** spliceReplies, spliceBytes, copyReplies, copyBytes, interrupted, forwarded, fallbackCopies, smallCopies, spinHits, spinMisses */
  counters(out: Float64Array): void;
  stop(): void;
  readonly threads: number;
  readonly pipeBytes: number;
}

export interface Addon {
  openDevice(): number;
  cloneDevice(fd: number): number;
  mount(source: string, target: string, fstype: string, flags: number, data: string): number;
  umount(target: string, flags: number): number;
  read(fd: number, buf: Uint8Array): number;
  write(fd: number, buf: Uint8Array, length: number): number;
  writev(fd: number, head: Uint8Array, headLength: number, body: Uint8Array, bodyLength: number): number;
  close(fd: number): number;
  Watcher: new (fd: number, callback: (status: number) => void) => Watcher;

  PipePool: new (count: number, bytes: number) => PipePool;
  copyReply(devfd: number, unique: number, filefd: number, offset: number, size: number, buf: Uint8Array): number;
  probeVmspliceAlias(): number;
  Workers: new (
    masterFd: number,
    threads: number,
    pipeBytes: number,
    maxRead: number,
    requestBufferSize: number,
    onWake: (ended: boolean) => void,
    spinUs: number,
  ) => Workers;

  openat(dirfd: number, name: string | Uint8Array, flags: number, mode: number): number;
  openProc(fd: number, flags: number): number;
  fstatat(dirfd: number, name: string | Uint8Array, flags: number, out: Float64Array): number;
  readlinkat(dirfd: number, name: string | Uint8Array, buf: Uint8Array): number;
  getdents(fd: number, buf: Uint8Array): number;
  lseek(fd: number, offset: number, whence: number): number;
  getxattr(fd: number, name: string | Uint8Array, buf: Uint8Array): number;
  listxattr(fd: number, buf: Uint8Array): number;
  fstatvfs(fd: number, out: Float64Array): number;
  access(fd: number, mode: number): number;

  /**
   * Test hook (addon/faults.h): after the next `skip` runs of `site`, the `count` that follow
   * fail with `errno` (count 0 disarms). Returns how many runs were still to count before (0:
   * every armed fault was used). Also armed at load by the environment variable
   * SPLICEFS_FAULTS=site:ERRNO:count[:skip][,...]. Unarmed, nothing changes.
   */
  injectFault(site: FaultSite, errno: number, count: number, skip?: number): number;
  /** -errno when this run of a TypeScript-owned `site` is to fail (one fewer left), else 0. */
  takeFault(site: FaultSite): number;
}

/**
 * Where a fault can be injected (addon/faults.h): header = the reply header into the pipe;
 * data = the splice from the backing file into the pipe (EAGAIN: pipe full); pread = the copy
 * path's read; drain = emptying a pipe after a failure; pipe = pipe2() of a new pipe;
 * device = a READ reply into /dev/fuse (made, then reported refused); clone =
 * FUSE_DEV_IOC_CLONE of a worker fd; init = the INIT reply write.
 */
export type FaultSite = 'header' | 'data' | 'pread' | 'drain' | 'pipe' | 'device' | 'clone' | 'init';

/** Stages of a failed READ reply, encoded by the addon as -(stage << 12 | errno). */
export const SpliceStage = {
  FILE: 1,
  DEVICE: 2,
  SHORT: 3,
  PIPE_FULL: 4,
  HEADER: 5,
  PIPE: 6,
  /** from a worker: the reply needs more pipe slots than the pipe has (nothing attempted) */
  PIPE_TOO_SMALL: 7,
} as const;
export function decodeFailure(r: number): { stage: number; errno: number } {
  const code = -r;
  return { stage: code >> 12, errno: code & 0xfff };
}

const require = createRequire(import.meta.url);
export const addon: Addon = require('../build/Release/splicefs.node') as Addon;
