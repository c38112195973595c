// The programmatic API: mount a source directory on a mountpoint, get a handle with the
// negotiated facts, live counters and an unmount that resolves when the server is done.
// The CLI (cli.ts) is a thin layer over this.
import { realpathSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { addon, type PipePool } from './addon.js';
import { errnoName, SplicefsError } from './errors.js';
import { InitFlag, PAGE_SIZE } from './kernel/abi.js';
import { Reply, requestBufferSize } from './kernel/codec.js';
import { createLogger } from './log.js';
import { MNT_DETACH, unmountPath } from './mnt/kernel.js';
import { abortConnection, findMount, readReadahead, readSysctl, writeReadahead } from './mnt/mountinfo.js';
import type { MountInfo, MountOptions, ReadMode, HeaderMode, Stats } from './options.js';
import { PassthroughFs } from './passthrough/fs.js';
import { ReadPath } from './read-path.js';
import { Session } from './session.js';

const E = constants.errno;
const MS_RDONLY = 1;
const MS_NOSUID = 2;
const MS_NODEV = 4;
const DEFAULT_MAX_READ = 1024 * 1024;
/** Measured on 2 cores, one run each with `node benchmarks/bench.js --workloads c` (and
 * `--workloads a,d,e --runs 3 --runtime 5 --file-gib 1`) `--systems splicefs-splice[,bindfs]
 * --splicefs-args="--threads N"`: 2 against 1 gave c 2216 vs 972 MiB/s (bindfs in the same runs
 * 1691 and 1013), a 2504 vs 1819, d 155 vs 131, e 587 vs 560. Buffered readers need the copy into
 * their fresh page-cache pages, which the splice into /dev/fuse does on the worker, on both cores;
 * since the spin adapts, the second worker no longer costs the 4 KiB QD1 case. */
const DEFAULT_THREADS = 2;
const DEFAULT_READAHEAD_KB = 1024;
/** Measured: a worker that waits 50 µs awake before sleeping answers the next request without a
 * wake-up (tens of µs on this VM): 4 KiB QD1 reads 3x, 128 KiB O_DIRECT 1.5x, measured with
 * `npm run bench -- --workloads d,b128k --systems splicefs-splice --splicefs-args="--spin-us N"` for N = 0, 50. */
const DEFAULT_SPIN_US = 50;
/** Measured: with the kernel's 12, four buffered readers (workload c) wait on the background
 * limit; 64 gave splice 1.17x (2202-2333 against 2496-2622 MiB/s, 3 runs each, 4 x 512 MiB
 * files, the fio arguments of `npm run bench -- --workloads c`, the limit set through fusectl). */
const DEFAULT_MAX_BACKGROUND = 64;
/** Measured: a one-page READ costs splice three syscalls (header, data, device) against
 * copy's two, and saves nothing worth it; by copy, 4 KiB QD16 reads (e) went 428-468 to
 * 524-649 MiB/s and QD1 (d) stayed at 130-134 (`npm run bench -- --workloads b1M,b128k,d,e
 * --systems splicefs-copy,splicefs-splice --runs 3 --runtime 5 --file-gib 1
 * --splicefs-args="--splice-min N"`, N = 0, 8192, 65536, twice each for 0 and 8192). */
const DEFAULT_SPLICE_MIN = 8192;
const DEFAULT_INIT_TIMEOUT_MS = 10_000;
/** How long unmount() lets a busy, detached mount finish its open files before aborting. */
const BUSY_GRACE_MS = 5_000;

export interface MountHandle {
  readonly info: MountInfo;
  /** A snapshot of the counters. */
  stats(): Stats;
  /**
   * Unmount and wait until the server is done. A busy mount is detached, given `graceMs` for
   * its open files, then its connection is aborted. Idempotent.
   */
  unmount(opts?: { graceMs?: number }): Promise<void>;
  /** Resolves when the server has stopped (unmount(), external umount, or a device error). */
  readonly closed: Promise<{ reason: string }>;
}

const READ_MODES: readonly ReadMode[] = ['auto', 'splice', 'copy'];
const HEADER_MODES: readonly HeaderMode[] = ['auto', 'patch', 'write'];

function checkDir(path: string, what: string): string {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SplicefsError(`${what} ${path} does not exist`);
    if (code === 'ENOTCONN')
      throw new SplicefsError(`${what} ${path} is a stale FUSE mount (ENOTCONN): run 'splicefs umount ${path}'`);
    if (code === 'EACCES') throw new SplicefsError(`${what} ${path}: permission denied`);
    throw new SplicefsError(`${what} ${path}: ${code ?? String(err)}`);
  }
  if (!st.isDirectory()) throw new SplicefsError(`${what} ${path} is not a directory`);
  return realpathSync(path);
}

function validate(opts: MountOptions): void {
  if (opts.readMode !== undefined && !READ_MODES.includes(opts.readMode))
    throw new SplicefsError(`read mode must be one of ${READ_MODES.join(', ')}`, 2);
  if (opts.headerMode !== undefined && !HEADER_MODES.includes(opts.headerMode))
    throw new SplicefsError(`header mode must be one of ${HEADER_MODES.join(', ')}`, 2);
  // Whole numbers in [min, max]; the message names the CLI option.
  const whole = (v: number | undefined, what: string, min: number, max: number) => {
    if (v !== undefined && (!Number.isInteger(v) || v < min || v > max))
      throw new SplicefsError(`${what} must be an integer from ${min} to ${max}`, 2);
  };
  whole(opts.maxRead, 'max-read', 1, 2 ** 30);
  whole(opts.pipePages, 'pipe-pages', 1, 2 ** 18);
  whole(opts.readaheadKb, 'readahead-kb', 1, 2 ** 20);
  whole(opts.maxBackground, 'max-background', 1, 65535);
  whole(opts.spliceMin, 'splice-min', 0, 2 ** 30);
  whole(opts.initTimeoutMs, 'initTimeoutMs', 1, 2 ** 31 - 1);
  whole(opts.spinUs, 'spin-us', 0, 1_000_000);
  whole(opts.threads, 'threads', 0, 64);
  if (opts.timeout !== undefined && !(opts.timeout >= 0 && opts.timeout < 2 ** 31))
    throw new SplicefsError('timeout must be a number of seconds >= 0', 2);
}

export async function mount(source: string, mountpoint: string, opts: MountOptions = {}): Promise<MountHandle> {
  validate(opts);
  const logger: Logger = opts.logger ?? createLogger(opts.logLevel ?? 'info');
  const src = checkDir(resolve(source), 'source');
  const mnt = checkDir(resolve(mountpoint), 'mountpoint');
  if (findMount(mnt)) throw new SplicefsError(`mountpoint ${mnt} is already a mount point`);

  const readMode = opts.readMode ?? 'auto';
  const threads = opts.threads ?? DEFAULT_THREADS;
  const maxBackground = opts.maxBackground ?? DEFAULT_MAX_BACKGROUND;
  const spliceMin = opts.spliceMin ?? DEFAULT_SPLICE_MIN;
  // The kernel marks the connection congested (readahead backs off) at this many.
  const congestionThreshold = Math.max(1, Math.floor((maxBackground * 3) / 4));
  const directIo = opts.directIo ?? false;

  // Header strategy: `patch` is only correct where vmsplice references our memory.
  const alias = addon.probeVmspliceAlias();
  const vmspliceAliases = alias === 1;
  const wanted = opts.headerMode ?? 'auto';
  if (wanted === 'patch' && !vmspliceAliases)
    throw new SplicefsError('header mode patch needs vmsplice to reference memory, and it copies on this kernel', 1);
  const headerStrategy: 'patch' | 'write' = wanted === 'auto' ? (vmspliceAliases ? 'patch' : 'write') : wanted;

  // The pipe, and a max_pages whose replies fit it. A reply takes one slot for the header and
  // one per page of data, so a pipe of S slots carries S-1 aligned pages: with the largest pipe
  // the system grants (pipe-max-size, 1 MiB = 256 slots here) that is 255 pages. An explicit
  // --pipe-pages keeps max_pages as asked, and replies that do not fit go by copy (counted).
  const pipeMax = readSysctl('/proc/sys/fs/pipe-max-size', 1024 * 1024);
  const pipeBytesWanted = opts.pipePages !== undefined ? opts.pipePages * PAGE_SIZE : pipeMax;
  let pool: PipePool | null = null;
  let pipeBytes = pipeBytesWanted;
  if (readMode !== 'copy') {
    pool = new addon.PipePool(1, pipeBytesWanted);
    if (pool.sizeError !== 0 && opts.pipePages !== undefined) {
      pool.close();
      throw new SplicefsError(
        `a pipe of ${opts.pipePages} pages was refused (${errnoName(pool.sizeError)}): /proc/sys/fs/pipe-max-size is ${pipeMax} bytes`,
      );
    }
    pipeBytes = pool.pipeBytes;
  }
  const pipeSlots = Math.floor(pipeBytes / PAGE_SIZE);
  const maxPagesLimit = readSysctl('/proc/sys/fs/fuse/max_pages_limit', 256);
  const wantPages = Math.ceil((opts.maxRead ?? DEFAULT_MAX_READ) / PAGE_SIZE);
  const fitPipe = opts.pipePages === undefined ? pipeSlots - 1 : Infinity;
  const maxPages = Math.max(1, Math.min(wantPages, maxPagesLimit, fitPipe));

  const closeOnFail: Array<() => void> = [() => pool?.close()];
  const fail = (err: unknown): never => {
    for (const f of closeOnFail.reverse()) f();
    throw err;
  };

  const devfd = addon.openDevice();
  if (devfd < 0) {
    if (devfd === -E.ENOENT) fail(new SplicefsError('/dev/fuse does not exist (is the fuse module loaded?)'));
    if (devfd === -E.EACCES || devfd === -E.EPERM)
      fail(new SplicefsError('cannot open /dev/fuse: permission denied (splicefs mounts with mount(2) and needs root)'));
    fail(new SplicefsError(`cannot open /dev/fuse: ${errnoName(devfd)}`));
  }
  closeOnFail.push(() => addon.close(devfd));

  const timeout = opts.timeout ?? 1;
  const reqBufSize = requestBufferSize(maxPages * PAGE_SIZE);
  const reply = new Reply(Math.max(64 * 1024, maxPages * PAGE_SIZE) + PAGE_SIZE);
  let fs: PassthroughFs;
  try {
    fs = new PassthroughFs(
      {
        source: src,
        timeout,
        directIo,
        // The worker threads serve READs of a handle by the plan the read path gives them.
        onFileOpened: (h) => readPath.registerWith(session.threads, h),
        onFileReleased: (h) => session.threads?.unregister(h.fh),
      },
      reply,
    );
  } catch (errno) {
    return fail(new SplicefsError(`cannot open source ${src}: ${errnoName(Number(errno))}`));
  }
  closeOnFail.push(() => fs.closeAll());

  let session!: Session;
  const readPath = new ReadPath({
    mode: readMode,
    headerStrategy,
    pool,
    maxRead: maxPages * PAGE_SIZE,
    spliceMin,
    logger,
    onDeviceError: (errno) => session.onDeviceError(errno),
    onPlanChange: (t) => readPath.registerWith(session.threads, t),
  });

  let wantFlags =
    InitFlag.ASYNC_READ +
    InitFlag.BIG_WRITES +
    InitFlag.MAX_PAGES +
    InitFlag.AUTO_INVAL_DATA +
    InitFlag.DO_READDIRPLUS +
    InitFlag.READDIRPLUS_AUTO +
    InitFlag.ASYNC_DIO +
    InitFlag.PARALLEL_DIROPS +
    InitFlag.CACHE_SYMLINKS +
    InitFlag.INIT_EXT;
  // mmap of FOPEN_DIRECT_IO files (shared mappings need the kernel's consent, 6.6+).
  if (directIo) wantFlags += InitFlag.DIRECT_IO_ALLOW_MMAP;

  session = new Session(
    {
      devfd,
      fs,
      readPath,
      logger,
      maxPages,
      wantFlags,
      maxBackground,
      congestionThreshold,
      reqBufSize,
      threads,
      spinUs: opts.spinUs ?? DEFAULT_SPIN_US,
      pipeBytes: pipeBytesWanted,
    },
    reply,
  );

  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const data = [
    `fd=${devfd}`,
    'rootmode=40000',
    `user_id=${uid}`,
    `group_id=${gid}`,
    `max_read=${maxPages * PAGE_SIZE}`,
    ...(opts.allowOther ? ['allow_other'] : []),
    ...(opts.defaultPermissions ? ['default_permissions'] : []),
  ].join(',');
  const fsname = opts.fsname ?? src;
  if (/[,\s]/.test(fsname) && opts.fsname !== undefined)
    fail(new SplicefsError('fsname must not contain commas or white space', 2));
  const r = addon.mount(fsname, mnt, 'fuse.splicefs', MS_RDONLY | MS_NOSUID | MS_NODEV, data);
  if (r < 0) {
    if (r === -E.EPERM) fail(new SplicefsError(`cannot mount on ${mnt}: permission denied (mounting needs root)`));
    fail(new SplicefsError(`cannot mount on ${mnt}: ${errnoName(r)}`));
  }
  const entry = findMount(mnt);
  const connection = entry?.minor ?? -1;
  try {
    session.start();
  } catch (err) {
    addon.umount(mnt, MNT_DETACH); // never leave the mount behind a server that did not start
    fail(new SplicefsError(`cannot start serving ${mnt}: ${(err as Error).message}`));
  }

  let finished = false;
  const closed = session.closed.then((reason) => {
    // Never leave a stale mount: if the session ended while our connection is still mounted
    // (a device error, or an abort through fusectl, which reads as ENODEV like an unmount),
    // detach it before closing the device.
    if (findMount(mnt)?.minor === connection) addon.umount(mnt, MNT_DETACH);
    fs.closeAll();
    pool?.close();
    addon.close(devfd);
    finished = true;
    logger.info({ mountpoint: mnt, reason }, 'stopped');
    return { reason };
  });

  const handleOnFail = async () => {
    addon.umount(mnt, MNT_DETACH);
    session.end('mount setup failed');
    await closed;
  };

  const timer = setTimeout(() => session.end('INIT timeout'), opts.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS);
  let neg;
  try {
    neg = await session.waitInit();
  } catch (err) {
    await closed;
    throw new SplicefsError(`mount on ${mnt} failed: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }

  // Buffered reads reach the server in readahead-window-sized READs (128 KiB by default,
  // whatever max_pages says): a larger window means fewer, larger requests (measured
  // with `npm run bench -- --workloads a --splicefs-args="--readahead-kb N"`, N = 128, 1024, 2048).
  // An explicit value must take; the default is best effort.
  if (connection >= 0) {
    try {
      writeReadahead(connection, opts.readaheadKb ?? DEFAULT_READAHEAD_KB);
    } catch (err) {
      if (opts.readaheadKb !== undefined) {
        await handleOnFail();
        throw err;
      }
      logger.warn({ err: (err as Error).message }, 'readahead left at the kernel default');
    }
  }

  const info: MountInfo = {
    source: src,
    mountpoint: mnt,
    protocol: neg.protocol,
    maxRead: neg.maxRead,
    maxPages: neg.maxPages,
    maxReadahead: neg.maxReadahead,
    readaheadKb: connection >= 0 ? readReadahead(connection) : null,
    maxBackground,
    congestionThreshold,
    spliceMin,
    pipeBytes: pool ? pipeBytes : 0,
    pipeSlots: pool ? pipeSlots : 0,
    readMode,
    headerMode: headerStrategy,
    vmspliceAliases,
    directIo,
    threads,
    flags: neg.flagNames,
  };
  logger.info(info, 'mounted');

  let unmounting: Promise<void> | null = null;
  const handle: MountHandle = {
    info,
    closed,
    stats: () => {
      // The read path's own counts plus what the worker threads did on their own.
      const rs = readPath.stats;
      const w = session.workerCounters();
      const requests = session.requestCounts();
      const nativeReads = w[0] + w[2] + w[4];
      if (nativeReads > 0) requests.READ = (requests.READ ?? 0) + nativeReads;
      return {
        requests,
        read: {
          ...rs,
          spliceReplies: rs.spliceReplies + w[0],
          spliceBytes: rs.spliceBytes + w[1],
          copyReplies: rs.copyReplies + w[2],
          copyBytes: rs.copyBytes + w[3],
          smallCopies: rs.smallCopies + w[7],
          fallbacks: { ...rs.fallbacks, noSpliceRead: rs.fallbacks.noSpliceRead + w[6] },
        },
        interrupted: session.interrupted + w[4],
        forwarded: w[5],
        spin: { hits: w[8], misses: w[9] },
        nodes: fs.inodes.size,
        openFiles: fs.files.size,
        openDirs: fs.dirs.size,
      };
    },
    unmount: ({ graceMs = BUSY_GRACE_MS } = {}) => {
      if (finished) return Promise.resolve();
      unmounting ??= (async () => {
        let how: string;
        try {
          how = unmountPath(mnt);
        } catch (err) {
          // Already gone (external umount racing us): the session is ending on its own.
          logger.debug({ err: (err as Error).message }, 'umount');
          how = 'gone';
        }
        if (how === 'detached') logger.warn({ mountpoint: mnt, graceMs }, 'mount busy: detached, open files have until the grace period ends');
        const t = setTimeout(() => {
          if (!abortConnection(connection)) session.end('aborted');
        }, how === 'detached' ? graceMs : 2_000);
        await closed;
        clearTimeout(t);
      })();
      return unmounting;
    },
  };
  return handle;
}
