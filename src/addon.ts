// Typed view of the native addon (addon/*.cc), the syscall layer. Every function returns >= 0
// on success or -errno; none throws for a failed syscall. Loaded once, from build/Release.
//
// The addon decides nothing: TypeScript hands it a READ plan (datapath/read.ts) and it executes
// the plan's numbers and reports what happened. Its enumerations (plan fields, failure stages,
// counter names) are exported by the addon itself in `addon.constants`, so nothing on this side
// mirrors them by hand.
import { createRequire } from 'node:module';

/** A uv_poll watcher on an fd: callback(status) on the event loop when it is readable. */
export interface Watcher {
  stop(): void;
}

/**
 * A READ plan as the executor reads it: an Int32Array whose fields are named by
 * `constants.planFields` (fd, path, header, spliceMin, maxSize, countAs). Built by
 * datapath/read.ts only.
 */
export type PlanArray = Int32Array;

/**
 * Counters shared by every READ executor of a session (the event loop's and the workers'),
 * named by `constants.readCounters`. Counted just before a reply goes into /dev/fuse, so a
 * reader that looks right after its read sees its own reply counted.
 */
export interface ReadCounters {
  /** Copy the current values into out, in the order of constants.readCounters. */
  snapshot(out: Float64Array): void;
}

/**
 * The READ executor of the thread that calls it (the event loop): owns one pipe (with its native
 * header page), /dev/null for draining, and a copy buffer of 16 + maxRead bytes. The same C++
 * routine (addon/reply.cc ExecuteRead) runs inside every worker thread.
 */
export interface ReadExecutor {
  /**
   * Answer READ `unique` on `devfd` by `plan`: at most plan.maxSize bytes at `offset`.
   * Returns the data bytes sent (>= 0), or a failure code -(stage << 12 | errno) (see
   * decodeFailure); on every failure but stage DEVICE nothing reached the device and the pipe
   * is clean (drained or replaced).
   */
  read(devfd: number, unique: bigint, plan: PlanArray, offset: bigint, size: number): number;
  /** Bytes the executor's pipe holds (F_GETPIPE_SZ), 0 when it has none (copy only). */
  readonly pipeBytes: number;
  /** errno of a refused F_SETPIPE_SZ (the pipe kept its default size), else 0. */
  readonly sizeError: number;
  /** The path (constants.readPath) the last read() took: SPLICE, or COPY (small READs too). */
  readonly lastPath: number;
  close(): void;
}

/**
 * Native worker threads on cloned /dev/fuse fds (addon/workers.cc): each reads requests into a
 * slot of a fixed set of request buffers, executes a READ whose fh has a registered plan, and
 * hands every other request to the event loop by slot, with no copy.
 */
export interface Workers {
  /** Register or replace the plan for file handle fh (a copy of the array is kept). */
  /** nodeid != 0: fh's fd may answer that node's GETXATTR of security.capability (addon/plans.h). */
  register(fh: number, plan: PlanArray, nodeid?: number): void;
  unregister(fh: number): void;
  /**
   * The next handed-over request: its slot index, or -1 when none is left. meta receives
   * [length, reply fd, failure code of the plan a worker tried or 0]. The slot belongs to the
   * caller until release(slot).
   */
  take(meta: Float64Array): number;
  /** Give a slot back to the workers (after the request in it has been dispatched). */
  release(slot: number): void;
  /** The request buffers, one per slot (external Buffers over native memory; made once). */
  readonly slots: Buffer[];
  /**
   * Records of READs the threads served themselves (only when made with servedCapacity > 0):
   * moves up to out.length / servedFields.length of them into out, fields in the order of
   * constants.servedFields, and returns how many; dropped[0] = records lost since the last call.
   */
  takeServed(out: BigInt64Array, dropped: Float64Array): number;
  /**
   * park(true): the threads stop reading the device (the event loop reads it and passes them
   * requests by submit); park(false): they read it again.
   */
  park(on: boolean): void;
  /**
   * Pass a parked worker the request in buf[0, length) (copied): it executes it as if it had
   * read it, answering on the master fd, or hands it back by take() with the failure code.
   * False (nothing done) when no slot is free or it does not fit one.
   */
  submit(buf: Uint8Array, length: number): boolean;
  /** Copy the transport counters into out, in the order of constants.workerCounters. */
  counters(out: Float64Array): void;
  /** Stop and join every thread, close the cloned fds. Idempotent. */
  stop(): void;
  readonly threads: number;
  readonly pipeBytes: number;
}

/** Enumerations owned by the addon (addon/reply.h, addon/workers.cc). */
export interface AddonConstants {
  /** Names of a PlanArray's fields, in order. */
  readonly planFields: readonly string[];
  /** plan.path */
  readonly readPath: { readonly SPLICE: number; readonly COPY: number };
  /** plan.header: how a spliced reply's header gets its length */
  readonly header: { readonly PATCH: number; readonly WRITE: number };
  /** plan.countAs: NO_SPLICE = a copy plan standing in for splice (counted as noSpliceCopies) */
  readonly countAs: { readonly NONE: number; readonly NO_SPLICE: number };
  /** Failure stages of a READ reply (the code is -(stage << 12 | errno)). */
  readonly stage: {
    readonly FILE: number;
    readonly DEVICE: number;
    readonly SHORT: number;
    readonly PIPE_FULL: number;
    readonly HEADER: number;
    readonly PIPE: number;
    readonly PIPE_TOO_SMALL: number;
  };
  /** Names of the ReadCounters values, in order. */
  readonly readCounters: readonly string[];
  /** Names of the Workers.counters values, in order. */
  readonly workerCounters: readonly string[];
  /** Fields of a Workers.takeServed record, in order (addon/served.h). */
  readonly servedFields: readonly string[];
}

export interface Addon {
  readonly constants: AddonConstants;

  openDevice(): number;
  mount(source: string | Uint8Array, target: string | Uint8Array, fstype: string, flags: number, data: string): number;
  umount(target: string | Uint8Array, flags: number): number;
  read(fd: number, buf: Uint8Array): number;
  write(fd: number, buf: Uint8Array, length: number): number;
  close(fd: number): number;
  /**
   * close(2) on the addon's closer thread, in order (addon/closer.cc): for files whose close may
   * wait on their filesystem (NFS, FUSE). The fd number stays taken until it has run.
   */
  closeLater(fd: number): void;
  /** A FLUSH's close(dup(fd)): the backing file's flush without closing fd (addon/write.h FlushFd). 0 or -errno. */
  flushFd(fd: number): number;
  /** closeLater calls not finished yet. */
  closesPending(): number;
  Watcher: new (fd: number, callback: (status: number) => void) => Watcher;

  ReadCounters: new () => ReadCounters;
  /** pipeBytes 0: no pipe (copy only); else what F_SETPIPE_SZ is asked for. maxRead: copy buffer. */
  ReadExecutor: new (counters: ReadCounters, pipeBytes: number, maxRead: number) => ReadExecutor;
  /** 1 when vmsplice hands the pipe a reference to user memory (the `patch` header works), 0 when it copies, or -errno. */
  probeVmspliceAlias(): number;
  Workers: new (
    masterFd: number,
    threads: number,
    pipeBytes: number,
    maxRead: number,
    requestBufferSize: number,
    slots: number,
    counters: ReadCounters,
    /** ended: every worker left; endErrno: the device read error that made one leave (0: ENODEV, the unmount) */
    onWake: (ended: boolean, endErrno: number) => void,
    spinUs: number,
    /** > 0: keep up to this many records of READs served by the threads (takeServed) */
    servedCapacity?: number,
    /**
     * > 0: requests may be read by splice through the worker's pipe (a WRITE's payload then goes
     * on by splice) while that pipe holds this many bytes (the largest request: pipe-sizing.ts)
     */
    spliceRequestBytes?: number,
    /**
     * When they are (addon/write.h RequestSplicing): [mode (0 never, 1 always, 2 streams),
     * largeWrite bytes, enter, cap]; absent: always (with spliceRequestBytes > 0).
     */
    splicing?: Float64Array,
  ) => Workers;

  openat(dirfd: number, name: string | Uint8Array, flags: number, mode: number): number;
  openProc(fd: number, flags: number): number;
  /** out: BigUint64Array(16), raw 64-bit values in the order of passthrough/stat.ts. */
  fstatat(dirfd: number, name: string | Uint8Array, flags: number, out: BigUint64Array): number;
  /**
   * A lookup's open and stat in one call: `name` under dirfd opened with `flags` (openat2 with
   * the RESOLVE_* bits `resolve` when non-zero, else openat), then the new fd's own stat into
   * out (as fstatat). The fd, or -errno (the fd closed when the stat failed); -EXDEV with
   * RESOLVE_NO_XDEV: the name crosses onto another mount; -ENOSYS: no openat2.
   */
  openStat(dirfd: number, name: string | Uint8Array, flags: number, resolve: number, out: BigUint64Array): number;
  readlinkat(dirfd: number, name: string | Uint8Array, buf: Uint8Array): number;
  getdents(fd: number, buf: Uint8Array): number;
  /** 0 or -errno; the resulting offset in out[0] (exact 64-bit). */
  lseek(fd: number, offset: bigint, whence: number, out: BigInt64Array): number;
  getxattr(fd: number, name: string | Uint8Array, buf: Uint8Array): number;
  listxattr(fd: number, buf: Uint8Array): number;
  /** out: BigUint64Array(8): bsize, frsize, blocks, bfree, bavail, files, ffree, namemax. */
  fstatvfs(fd: number, out: BigUint64Array): number;
  access(fd: number, mode: number): number;
  /**
   * statx(2). out: BigUint64Array(25), raw 64-bit values: [0, 16) in the order of
   * passthrough/stat.ts (a StatArray), [16, 25) the statx-only fields (passthrough/statx.ts).
   * flags: AT_* (AT_EMPTY_PATH with name ""; the AT_STATX_* sync bits); mask: STATX_*.
   */
  statx(dirfd: number, name: string | Uint8Array, flags: number, mask: number, out: BigUint64Array): number;
  /** fstatfs(2)'s f_type (the filesystem's magic number, unsigned 32-bit), or -errno. O_PATH fds work. */
  fstatfsType(fd: number): number;

  /** Largest f_handle in bytes (MAX_HANDLE_SZ); a handle buffer needs 4 more (the type). */
  readonly MAX_HANDLE_SZ: number;
  /**
   * name_to_handle_at of the object `fd` names (AT_EMPTY_PATH): writes the handle into `out`
   * (4-byte handle_type, then the f_handle bytes; `out` needs 4 + MAX_HANDLE_SZ bytes) and
   * returns its length, or -errno (EOPNOTSUPP: the filesystem cannot make handles).
   */
  nameToHandle(fd: number, out: Uint8Array): number;
  /**
   * open_by_handle_at: a new fd for the object of `handle` (bytes as nameToHandle wrote them).
   * `mountFd`: an fd opened for real (not O_PATH) on the same filesystem. -ESTALE when the
   * object is gone; -EPERM without CAP_DAC_READ_SEARCH.
   */
  openByHandle(mountFd: number, handle: Uint8Array, flags: number): number;
  /** RLIMIT_NOFILE into out = [soft, hard] (-1: unlimited); 0 or -errno. */
  getrlimitNofile(out: Float64Array): number;
  /** setrlimit(RLIMIT_NOFILE, soft, hard) (-1: unlimited); 0 or -errno. */
  setrlimitNofile(soft: number, hard: number): number;
  /**
   * prctl(PR_SET_PDEATHSIG, sig): the kernel sends `sig` to this process when the thread that
   * started it exits (0 clears it). 0 or -errno. See cli/serve.ts for when the CLI sets it.
   */
  setParentDeathSignal(sig: number): number;

  // ---- changes to the source (addon/writeops.cc); each 0 (or a count) or -errno ----
  /** pwrite(2) of all of `data` at `offset`: bytes written (may be short). */
  pwrite(fd: number, data: Uint8Array, offset: bigint): number;
  /** ftruncate(2); fd open for writing. */
  ftruncate(fd: number, size: bigint): number;
  /** Mode bits of the object an O_PATH fd names (fchmodat2 AT_EMPTY_PATH). */
  chmod(fd: number, mode: number): number;
  /** Owner of the object an O_PATH fd names, never following a symlink; 0xffffffff keeps one. */
  chown(fd: number, uid: number, gid: number): number;
  /** times = [atime s, ns, mtime s, ns]; ns may be UTIME_NOW / UTIME_OMIT. Never follows a symlink. */
  utimens(fd: number, times: BigInt64Array): number;
  mkdirat(dirfd: number, name: Uint8Array, mode: number): number;
  /** rdev in the kernel's new_encode_dev form, as FUSE sends it. */
  mknodat(dirfd: number, name: Uint8Array, mode: number, rdev: number): number;
  symlinkat(target: Uint8Array, dirfd: number, name: Uint8Array): number;
  /** flags: AT_REMOVEDIR for a directory. */
  unlinkat(dirfd: number, name: Uint8Array, flags: number): number;
  /** flags: RENAME_NOREPLACE / RENAME_EXCHANGE / RENAME_WHITEOUT. */
  renameat2(olddirfd: number, oldName: Uint8Array, newdirfd: number, newName: Uint8Array, flags: number): number;
  /** A new name for the object `fd` names (linkat AT_EMPTY_PATH; needs CAP_DAC_READ_SEARCH). */
  linkat(fd: number, newdirfd: number, newName: Uint8Array): number;
  /** fsync(2), or fdatasync(2) when datasync is non-zero. */
  fsync(fd: number, datasync: number): number;
  fallocate(fd: number, mode: number, offset: bigint, length: bigint): number;
  /** copy_file_range(2): bytes copied. */
  copyFileRange(fdIn: number, offIn: bigint, fdOut: number, offOut: bigint, len: number, flags: number): number;
  /** Through /proc/self/fd/N; flags XATTR_CREATE / XATTR_REPLACE. */
  setxattr(fd: number, name: Uint8Array, value: Uint8Array, flags: number): number;
  removexattr(fd: number, name: Uint8Array): number;
  /**
   * FUSE_DEV_IOC_BACKING_OPEN (7.40, addon/backing.cc): register open file `fd` with the
   * connection of `devfd`; the backing id (> 0) for FOPEN_PASSTHROUGH, or -errno (EPERM: no
   * CAP_SYS_ADMIN; ELOOP: a stacked source; EOPNOTSUPP; EINVAL: not negotiated).
   */
  backingOpen(devfd: number, fd: number): number;
  /** FUSE_DEV_IOC_BACKING_CLOSE: 0 or -errno. */
  backingClose(devfd: number, id: number): number;
  /** This thread's fsuid, fsgid and supplementary groups (raw syscalls: this thread only). */
  setCreds(uid: number, gid: number, groups: Uint32Array): number;
  /** Back to this thread's ids from before its first setCreds. */
  restoreCreds(): number;
  /** umask(2): returns the previous mask (never fails). */
  umask(mask: number): number;

  // ---- a mount helper's socket (addon/commfd.cc) ----
  /** socketpair(AF_UNIX, SOCK_STREAM), both ends close-on-exec: out = [ours, theirs]. 0 or -errno. */
  socketpair(out: Int32Array): number;
  /**
   * One non-blocking recvmsg of an SCM_RIGHTS message: the fd received (close-on-exec and
   * O_NONBLOCK), -EAGAIN if nothing came yet, -ECONNRESET if the peer closed without sending
   * one, -EBADMSG for a message that carried no fd, or another -errno.
   */
  recvFd(sock: number): number;

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
 * FUSE_DEV_IOC_CLONE of a worker fd; init = the INIT reply write; backing =
 * FUSE_DEV_IOC_BACKING_OPEN of a passthrough file.
 */
export type FaultSite = 'header' | 'data' | 'pread' | 'drain' | 'pipe' | 'device' | 'clone' | 'init' | 'backing' | 'request' | 'flush';

const require = createRequire(import.meta.url);
export const addon: Addon = require('../build/Release/splicefs.node') as Addon;

/** A READ failure code -(stage << 12 | errno) split into its parts. */
export function decodeFailure(r: number): { stage: number; errno: number } {
  const code = -r;
  return { stage: code >> 12, errno: code & 0xfff };
}

/** Name -> value of a counter block, given its names in order (constants.readCounters, ...). */
export function countersByName(names: readonly string[], values: Float64Array): Record<string, number> {
  const out: Record<string, number> = {};
  names.forEach((name, i) => (out[name] = values[i] ?? 0));
  return out;
}
