// The programmatic API: mount a source directory on a mountpoint, get a handle with the
// negotiated facts, live counters and an unmount that resolves when the server is done.
// Wiring only: each piece (options, pipe sizing, the data path, the transport, the session, the
// kernel mount) is decided in its own module; this file puts them together in order and makes
// sure whatever was made is released if a later step fails. The CLI is a thin layer over this.
import { realpathSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { addon, type ReadCounters, type ReadExecutor } from '../addon.js';
import { chooseMaxPages, pipeBytesWanted, type PipeSizingInput } from '../datapath/pipe-sizing.js';
import { ReadPath } from '../datapath/read.js';
import { errnoName, SplicefsError } from '../errors.js';
import { InitFlag, PAGE_SIZE } from '../kernel/abi.js';
import { Reply, requestBufferSize } from '../kernel/reply.js';
import { createLogger } from '../log.js';
import { detach, mountFuse, unmountPath } from '../mnt/kernel.js';
import { abortConnection, findMount, readReadahead, readSysctl, writeReadahead } from '../mnt/mountinfo.js';
import { logFdLimit, nodeFdBudget, raiseFdLimit } from '../passthrough/fd-limit.js';
import { Passthrough } from '../passthrough/fs.js';
import type { InitWants, Negotiated } from '../server/init.js';
import { Session } from '../server/session.js';
import type { Channel } from '../transport/channel.js';
import { DevFuseChannel } from '../transport/devfuse.js';
import { WorkerChannel } from '../transport/workers.js';
import * as D from './options.js';
import type { MountInfo, MountOptions } from './options.js';
import { collectStats, type Stats } from './stats.js';

const E = constants.errno;
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

/** A directory path, resolved; a one-line SplicefsError if it is missing, stale or not a directory. */
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

/** Header strategy: `patch` is only correct where vmsplice references our memory (probed now). */
function chooseHeader(opts: MountOptions): { header: 'patch' | 'write'; vmspliceAliases: boolean } {
  const vmspliceAliases = addon.probeVmspliceAlias() === 1;
  const wanted = opts.headerMode ?? 'auto';
  if (wanted === 'patch' && !vmspliceAliases)
    throw new SplicefsError('header mode patch needs vmsplice to reference memory, and it copies on this kernel', 1);
  return { header: wanted === 'auto' ? (vmspliceAliases ? 'patch' : 'write') : wanted, vmspliceAliases };
}

/** The event loop's executor and the max_pages its pipe allows. */
function makeExecutor(opts: MountOptions, readMode: string, counters: ReadCounters) {
  const sizing: PipeSizingInput = {
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
    throw new SplicefsError(
      `a pipe of ${opts.pipePages} pages was refused (${errnoName(executor.sizeError)}): /proc/sys/fs/pipe-max-size is ${sizing.pipeMaxSize} bytes`,
    );
  }
  const pipeBytes = executor.pipeBytes || wanted;
  return { executor, pipeBytes, wanted, maxPages: chooseMaxPages(sizing, pipeBytes) };
}

/** fd of a fresh /dev/fuse, or a one-line SplicefsError. */
function openDevice(): number {
  const fd = addon.openDevice();
  if (fd === -E.ENOENT) throw new SplicefsError('/dev/fuse does not exist (is the fuse module loaded?)');
  if (fd === -E.EACCES || fd === -E.EPERM)
    throw new SplicefsError('cannot open /dev/fuse: permission denied (splicefs mounts with mount(2) and needs root)');
  if (fd < 0) throw new SplicefsError(`cannot open /dev/fuse: ${errnoName(fd)}`);
  return fd;
}

/** INIT flags the server wants (each also needs the kernel's offer). */
function wantedFlags(directIo: boolean): bigint {
  let flags =
    InitFlag.ASYNC_READ | InitFlag.BIG_WRITES | InitFlag.MAX_PAGES | InitFlag.AUTO_INVAL_DATA |
    InitFlag.DO_READDIRPLUS | InitFlag.READDIRPLUS_AUTO | InitFlag.ASYNC_DIO | InitFlag.PARALLEL_DIROPS |
    InitFlag.CACHE_SYMLINKS | InitFlag.INIT_EXT;
  // mmap of FOPEN_DIRECT_IO files (shared mappings need the kernel's consent, 6.6+).
  if (directIo) flags |= InitFlag.DIRECT_IO_ALLOW_MMAP;
  return flags;
}

/** Releases what setup made, last first, if a later step fails. */
class Undo {
  private readonly steps: Array<() => void> = [];
  push(step: () => void): void {
    this.steps.push(step);
  }
  run(): void {
    for (const step of this.steps.reverse()) step();
    this.steps.length = 0;
  }
}

export async function mount(source: string, mountpoint: string, opts: MountOptions = {}): Promise<MountHandle> {
  D.validate(opts);
  const logger: Logger = opts.logger ?? createLogger(opts.logLevel ?? 'info');
  const src = checkDir(resolve(source), 'source');
  const mnt = checkDir(resolve(mountpoint), 'mountpoint');
  if (findMount(mnt)) throw new SplicefsError(`mountpoint ${mnt} is already a mount point`);

  const readMode = opts.readMode ?? 'auto';
  const threads = opts.threads ?? D.DEFAULT_THREADS;
  const maxBackground = opts.maxBackground ?? D.DEFAULT_MAX_BACKGROUND;
  const spliceMin = opts.spliceMin ?? D.DEFAULT_SPLICE_MIN;
  // The kernel marks the connection congested (readahead backs off) at this many.
  const congestionThreshold = Math.max(1, Math.floor((maxBackground * 3) / 4));
  const directIo = opts.directIo ?? false;
  const { header, vmspliceAliases } = chooseHeader(opts);
  // Before anything opens: the budget for node fds is a share of the (raised) limit.
  const fdLimits = raiseFdLimit();
  const nodeFds = opts.nodeFds ?? nodeFdBudget(fdLimits.soft);

  const undo = new Undo();
  const counters = new addon.ReadCounters();
  const { executor, pipeBytes, wanted, maxPages } = makeExecutor(opts, readMode, counters);
  undo.push(() => executor.close());
  let parts;
  try {
    parts = wire();
  } catch (err) {
    undo.run();
    throw err;
  }
  const { devfd, fs, readPath, channel, session } = parts;

  function wire() {
    const devfd = openDevice();
    undo.push(() => addon.close(devfd));
    const maxRead = maxPages * PAGE_SIZE;
    const reqBytes = requestBufferSize(maxRead);
    const reply = new Reply(Math.max(64 * 1024, maxRead) + PAGE_SIZE);
    const channel: Channel =
      threads > 0
        ? new WorkerChannel({ masterFd: devfd, threads, pipeBytes: wanted, maxRead, requestBytes: reqBytes, spinUs: opts.spinUs ?? D.DEFAULT_SPIN_US, counters })
        : new DevFuseChannel(devfd, reqBytes);
    let fs: Passthrough;
    try {
      fs = new Passthrough({
        source: src,
        timeout: opts.timeout ?? D.DEFAULT_TIMEOUT_S,
        directIo,
        replyRoom: reply.room,
        nodeFdBudget: nodeFds,
        logger,
        // The worker threads serve a handle's READs by the plan the read path makes for it.
        onFileOpened: (h) => channel.register(h.fh, readPath.plan(h)),
        onFileReleased: (h) => channel.unregister(h.fh),
      });
    } catch (errno) {
      throw new SplicefsError(`cannot open source ${src}: ${errnoName(Number(errno))}`);
    }
    undo.push(() => fs.closeAll());
    let session!: Session;
    const readPath = new ReadPath({
      mode: readMode,
      header,
      executor,
      maxRead,
      spliceMin,
      logger,
      onDeviceError: (errno) => session.onDeviceError(errno),
      onPlanChange: (h) => channel.register(h.fh, readPath.plan(h)),
    });
    const wants: InitWants = { flags: wantedFlags(directIo), off: 0n, maxPages, maxBackground, congestionThreshold };
    session = new Session({ channel, fs, readPath, reply, wants, logger });
    mountFuse({
      devfd,
      fsname: opts.fsname ?? src,
      mountpoint: mnt,
      maxRead,
      allowOther: opts.allowOther ?? false,
      defaultPermissions: opts.defaultPermissions ?? false,
    });
    try {
      session.start();
    } catch (err) {
      detach(mnt); // never leave the mount behind a server that did not start
      throw new SplicefsError(`cannot start serving ${mnt}: ${(err as Error).message}`);
    }
    return { devfd, fs, readPath, channel, session };
  }

  const connection = findMount(mnt)?.minor ?? -1;
  let finished = false;
  const closed = session.closed.then((reason) => {
    // Never leave a stale mount: if the session ended while our connection is still mounted
    // (a device error, or an abort through fusectl, which reads as ENODEV like an unmount),
    // detach it before closing the device.
    if (findMount(mnt)?.minor === connection) detach(mnt);
    fs.closeAll();
    executor.close();
    addon.close(devfd);
    finished = true;
    logger.info({ mountpoint: mnt, reason }, 'stopped');
    return { reason };
  });

  const neg = await waitInit(session, closed, mnt, opts.initTimeoutMs ?? D.DEFAULT_INIT_TIMEOUT_MS);
  try {
    setReadahead(connection, opts.readaheadKb, logger);
  } catch (err) {
    detach(mnt);
    session.end('mount setup failed');
    await closed;
    throw err;
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
    pipeBytes: readMode === 'copy' ? 0 : executor.pipeBytes,
    pipeSlots: readMode === 'copy' ? 0 : Math.floor(executor.pipeBytes / PAGE_SIZE),
    readMode,
    headerMode: header,
    vmspliceAliases,
    directIo,
    threads,
    flags: neg.flagNames,
  };
  logger.info(info, 'mounted');
  logFdLimit(logger, fdLimits, nodeFds);

  let unmounting: Promise<void> | null = null;
  return {
    info,
    closed,
    stats: () => collectStats({ readCounters: counters, readPath, session, channel, fs }),
    unmount: ({ graceMs = BUSY_GRACE_MS } = {}) => {
      if (finished) return Promise.resolve();
      unmounting ??= unmountAndWait(mnt, connection, session, closed, graceMs, logger);
      return unmounting;
    },
  };
}

/** INIT answered, or a SplicefsError once the session ended or the timeout passed. */
async function waitInit(session: Session, closed: Promise<unknown>, mnt: string, timeoutMs: number): Promise<Negotiated> {
  const timer = setTimeout(() => session.end('INIT timeout'), timeoutMs);
  try {
    return await session.waitInit();
  } catch (err) {
    await closed;
    throw new SplicefsError(`mount on ${mnt} failed: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Buffered reads reach the server in readahead-window-sized READs (128 KiB by default, whatever
 * max_pages says): a larger window means fewer, larger requests (measured with `npm run bench --
 * --workloads a --splicefs-args="--readahead-kb N"`, N = 128, 1024, 2048). An explicit value
 * must take (throws); the default is best effort.
 */
function setReadahead(connection: number, kb: number | undefined, logger: Logger): void {
  if (connection < 0) return;
  try {
    writeReadahead(connection, kb ?? D.DEFAULT_READAHEAD_KB);
  } catch (err) {
    if (kb !== undefined) throw err;
    logger.warn({ err: (err as Error).message }, 'readahead left at the kernel default');
  }
}

/** umount (or detach a busy mount, then abort after graceMs) and wait until the server is done. */
async function unmountAndWait(mnt: string, connection: number, session: Session, closed: Promise<unknown>, graceMs: number, logger: Logger): Promise<void> {
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
}
