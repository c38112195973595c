// The steps of a mount that decide something on their own: the paths (checked, as bytes), the
// header strategy (probed), the event loop's executor and the max_pages its pipe allows, and
// the INIT flags wanted, the mount's readahead window. (The device is src/mnt/connection.ts's.)
// api/mount.ts puts them together.
import { accessSync, constants as fsc, realpathSync, statSync } from 'node:fs';
import { constants as osc } from 'node:os';
import type { Logger } from 'pino';
import { addon, type ReadCounters, type ReadExecutor } from '../addon.js';
import { chooseMaxPages, largestRequest, pipeBytesWanted, type PipeSizingInput } from '../datapath/pipe-sizing.js';
import { requestSplicing, type ResolvedWriteMode } from '../datapath/write.js';
import { errnoName, OptionError, SplicefsError } from '../errors.js';
import { InitFlag, PAGE_SIZE } from '../kernel/abi.js';
import { readSysctl, writeReadahead } from '../mnt/mountinfo.js';
import { pathBytes, showPath, type PathArg } from '../paths.js';
import * as D from './options.js';
import type { MountOptions, ReadMode } from './options.js';

/**
 * A directory path as bytes, resolved by the kernel (realpath(3): relative to the working
 * directory, symlinks followed), never decoded; a one-line SplicefsError (the path shown
 * escaped) if it is missing, stale or not a directory.
 */
export function checkDir(path: PathArg, what: string): Buffer {
  const bytes = pathBytes(path);
  const shown = showPath(bytes);
  let st;
  try {
    st = statSync(bytes);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SplicefsError(`${what} ${shown} does not exist`);
    if (code === 'ENOTCONN')
      throw new SplicefsError(`${what} ${shown} is a stale FUSE mount (ENOTCONN): run 'splicefs umount ${shown}'`);
    if (code === 'EACCES') throw new SplicefsError(`${what} ${shown}: permission denied`);
    throw new SplicefsError(`${what} ${shown}: ${code ?? String(err)}`);
  }
  if (!st.isDirectory()) throw new SplicefsError(`${what} ${shown} is not a directory`);
  return realpathSync.native(bytes, { encoding: 'buffer' });
}

/** Header strategy: `patch` is only correct where vmsplice references our memory (probed now). */
export function chooseHeader(opts: MountOptions): { header: 'patch' | 'write'; vmspliceAliases: boolean } {
  const vmspliceAliases = addon.probeVmspliceAlias() === 1;
  const wanted = opts.headerMode ?? 'auto';
  if (wanted === 'patch' && !vmspliceAliases)
    throw new OptionError('headerMode', wanted, (name, v) => `${name} takes auto or write on this kernel, not ${v}: patch needs vmsplice to reference memory, and it copies here`, 1);
  return { header: wanted === 'auto' ? (vmspliceAliases ? 'patch' : 'write') : wanted, vmspliceAliases };
}

/**
 * The event loop's executor, the max_pages its pipe allows, and how the workers read requests
 * (datapath/write.ts requestSplicing). writeMode: the write mode, or null where no request is
 * ever spliced (a read-only mount, no worker threads). Write mode splice reads every request by
 * splice, so max_pages is fitted to the pipe (pipe-sizing.ts); auto splices only streams of large
 * WRITEs, and only where the pipe holds the largest request, so it leaves max_pages alone.
 */
export function makeExecutor(opts: MountOptions, readMode: ReadMode, counters: ReadCounters, writeMode: ResolvedWriteMode | null) {
  const spliceRequests = writeMode === 'splice';
  const sizing: PipeSizingInput = {
    spliceRequests,
    pipePages: opts.pipePages,
    maxRead: opts.maxRead ?? D.DEFAULT_MAX_READ,
    pipeMaxSize: readSysctl('/proc/sys/fs/pipe-max-size', 1024 * 1024),
    maxPagesLimit: readSysctl('/proc/sys/fs/fuse/max_pages_limit', 256),
  };
  const wanted = pipeBytesWanted(sizing);
  // A generous copy buffer now; max_pages is settled once the pipe's real size is known.
  const executor: ReadExecutor = new addon.ReadExecutor(counters, readMode === 'copy' ? 0 : wanted, sizing.maxPagesLimit * PAGE_SIZE);
  if (executor.sizeError !== 0 && opts.pipePages !== undefined) {
    executor.close();
    throw pipeRefused(opts.pipePages, executor.sizeError, sizing.pipeMaxSize);
  }
  const pipeBytes = executor.pipeBytes || wanted;
  const maxPages = chooseMaxPages(sizing, pipeBytes);
  // Requests spliced into a pipe must all fit it, the largest SETXATTR (17 pages) included:
  // chooseMaxPages fitted the WRITEs. A smaller pipe asked for by hand is a usage error; one the
  // system granted means reading requests by read(2) (the caller logs why).
  const need = largestRequest(maxPages * PAGE_SIZE);
  let noSpliceRequests: string | undefined;
  if (writeMode !== null && writeMode !== 'copy' && pipeBytes < need) {
    if (spliceRequests && opts.pipePages !== undefined) {
      executor.close();
      const pages = Math.ceil(need / PAGE_SIZE);
      throw new OptionError(
        'pipePages',
        opts.pipePages,
        (name, v) =>
          `${name} takes at least ${pages} with write mode splice, not ${v}: every request is spliced through the pipe, ` +
          `and the largest (a 64 KiB extended attribute) takes ${pages} pages; or use write mode copy`,
      );
    }
    noSpliceRequests = `the pipe granted (${pipeBytes} bytes) cannot hold the largest request (${need} bytes)`;
  }
  const splicing = requestSplicing(writeMode ?? 'copy', writeMode !== null && !noSpliceRequests);
  return { executor, pipeBytes, wanted, maxPages, splicing, noSpliceRequests };
}

/**
 * The error of a pipe of `pages` pages that F_SETPIPE_SZ refused with `errno` (exit code 1: the
 * value is in range, the system says no). Above /proc/sys/fs/pipe-max-size only a process with
 * CAP_SYS_RESOURCE may go, others get EPERM: then it says the most pages this system allows and
 * the sysctl that raises the limit. The static range (options.ts RULES) cannot know either.
 */
export function pipeRefused(pages: number, errno: number, pipeMaxSize: number): OptionError {
  const most = Math.floor(pipeMaxSize / PAGE_SIZE);
  const why = errnoName(errno);
  if (errno === osc.errno.EPERM && pages > most)
    return new OptionError(
      'pipePages',
      pages,
      (name, v) =>
        `${name} takes at most ${most} on this system, not ${v}: pipes stop at /proc/sys/fs/pipe-max-size (${pipeMaxSize} bytes) ` +
        `without CAP_SYS_RESOURCE (${why}); raise it with sysctl fs.pipe-max-size=${pages * PAGE_SIZE}`,
      1,
    );
  return new OptionError('pipePages', pages, (name, v) => `${name} takes a pipe size the kernel grants, not ${v}: it refused ${pages} pages (${why})`, 1);
}

/**
 * INIT flags the server wants (each also needs the kernel's offer); permissionFlags adds to them.
 * DONT_MASK: the kernel leaves the umask to us, so the source applies it, or the parent's
 * default ACL instead, as it would for the caller (passthrough/creds.ts). Not wanted:
 * ATOMIC_O_TRUNC (the kernel's own truncate SETATTR keeps the caller's set-user-ID rules),
 * POSIX_LOCKS and FLOCK_LOCKS (the kernel keeps locks itself, per lock owner: the backing fds
 * all belong to this one process, which would merge every owner into one).
 * HANDLE_KILLPRIV_V2: the kernel tells us when a write or truncate must drop set-user-ID and
 * set-group-ID bits (its caller lacks CAP_FSETID) instead of asking for the file's mode and
 * security.capability around every write and chown: two round trips fewer per file written
 * (ops/files.ts killSuidgid does the kill). PASSTHROUGH: wanted on every mount without the
 * writeback cache, used only by the opens the read mode sends through the kernel; not asked for
 * by a server without CAP_SYS_ADMIN (`passthrough: false`), which could register no backing file.
 */
export function wantedFlags(o: { writebackCache: boolean; passthrough?: boolean } = { writebackCache: false }): bigint {
  return (
    InitFlag.DONT_MASK | InitFlag.HANDLE_KILLPRIV_V2 | (o.writebackCache ? InitFlag.WRITEBACK_CACHE : 0n) |
    InitFlag.ASYNC_READ | InitFlag.BIG_WRITES | InitFlag.MAX_PAGES | InitFlag.AUTO_INVAL_DATA |
    InitFlag.DO_READDIRPLUS | InitFlag.READDIRPLUS_AUTO | InitFlag.ASYNC_DIO | InitFlag.PARALLEL_DIROPS |
    InitFlag.CACHE_SYMLINKS | InitFlag.INIT_EXT |
    // Always: some files get FOPEN_DIRECT_IO even without --direct-io (passthrough/direct-io.ts),
    // and a shared mmap of one fails with ENODEV unless the kernel was told it may (6.6+).
    InitFlag.DIRECT_IO_ALLOW_MMAP |
    // Kernel passthrough (--read-mode passthrough or auto; `splicefs set` may turn it on later),
    // which the kernel does not grant together with its writeback cache.
    (o.writebackCache || o.passthrough === false ? 0n : InitFlag.PASSTHROUGH)
  );
}

/**
 * The worker threads that can run: each opens /dev/fuse to clone the connection
 * (FUSE_DEV_IOC_CLONE), so where this process may not open it (a user where /dev/fuse is 0600,
 * its fd having come from fusermount3) the event loop serves alone: 0, and why (an errno name;
 * logged once mounted, so that a mount that fails says one thing only).
 */
export function workerThreads(wanted: number): { threads: number; noThreads: string | null } {
  if (wanted === 0) return { threads: 0, noThreads: null };
  try {
    accessSync('/dev/fuse', fsc.R_OK | fsc.W_OK);
    return { threads: wanted, noThreads: null };
  } catch (err) {
    return { threads: 0, noThreads: (err as NodeJS.ErrnoException).code ?? String(err) };
  }
}

/** Whether `inner` is strictly below `outer` (both resolved, as bytes). */
export function isInside(inner: Buffer, outer: Buffer): boolean {
  const prefix = outer.at(-1) === 0x2f ? outer : Buffer.concat([outer, Buffer.from('/')]);
  return inner.length > prefix.length && inner.subarray(0, prefix.length).equals(prefix);
}

/** Releases what setup made, last first (awaiting each), if a later step fails. */
export class Undo {
  private readonly steps: Array<() => unknown> = [];
  push(step: () => unknown): void {
    this.steps.push(step);
  }
  async run(): Promise<void> {
    for (const step of this.steps.reverse()) await step();
    this.steps.length = 0;
  }
}

/**
 * Buffered reads reach the server in readahead-window-sized READs (128 KiB by default, whatever
 * max_pages says): a larger window means fewer, larger requests (measured with `npm run bench --
 * --workloads a --splicefs-args="--readahead-kb N"`, N = 128, 1024, 2048). An explicit value
 * must take (throws); the default is best effort.
 */
export function setReadahead(connection: number, kb: number | undefined, logger: Logger): void {
  if (connection < 0) return;
  // The bdi's sysfs file is root's: a user's mount keeps the kernel's window unless one is asked for.
  if (kb === undefined && (process.geteuid?.() ?? 0) !== 0) return;
  try {
    writeReadahead(connection, kb ?? D.DEFAULT_READAHEAD_KB);
  } catch (err) {
    if (kb !== undefined) throw err;
    logger.warn({ err: (err as Error).message }, 'readahead left at the kernel default');
  }
}
