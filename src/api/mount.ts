// The programmatic API: mount a source directory on a mountpoint, get a handle with the
// negotiated facts, live counters and an unmount that resolves when the server is done.
// Wiring only: each piece (options, pipe sizing, the data path, the transport, the session, the
// mount: mnt/connection.ts) is decided in its own module; this file puts them together in order and makes
// sure whatever was made is released if a later step fails. The CLI is a thin layer over this.
import type { Logger } from 'pino';
import { addon } from '../addon.js';
import { BackingFiles, hasCapSysAdmin } from '../datapath/backing.js';
import { ReadPath } from '../datapath/read.js';
import { resolveWriteMode, WritePath, type ResolvedWriteMode } from '../datapath/write.js';
import { errnoName, SplicefsError } from '../errors.js';
import { PAGE_SIZE } from '../kernel/abi.js';
import { O_DIRECTORY, O_PATH } from '../kernel/linux.js';
import { Reply, requestBufferSize } from '../kernel/reply.js';
import { createLogger } from '../log.js';
import { chooseMechanism, prepare, unmountAt, type Connection, type MountMechanism } from '../mnt/connection.js';
import { fsType, mountFlagNames, mountFlags } from '../mnt/kernel.js';
import { abortConnection, findMount, readReadahead } from '../mnt/mountinfo.js';
import { logFdLimit, nodeFdBudget, raiseFdLimit, type FdLimits } from '../passthrough/fd-limit.js';
import { Passthrough } from '../passthrough/fs.js';
import type { FileHandle } from '../passthrough/handles.js';
import { encodeDev } from '../passthrough/ino-map.js';
import { showPath, type PathArg } from '../paths.js';
import type { InitWants, Negotiated } from '../server/init.js';
import { Session } from '../server/session.js';
import type { Channel } from '../transport/channel.js';
import { DevFuseChannel } from '../transport/devfuse.js';
import { WorkerChannel } from '../transport/workers.js';
import * as D from './options.js';
import type { MountInfo, MountOptions, ReadMode } from './options.js';
import { permissionFlags, permissions, reportPermissions, type Permissions } from './permissions.js';
import { checkDir, chooseHeader, setReadahead, isInside, makeExecutor, Undo, wantedFlags, workerThreads } from './setup.js';
import { LiveSurfaces } from './live.js';
import { collectStats, type Stats } from './stats.js';

const AT_FDCWD = -100;
/** How long unmount() lets a busy, detached mount finish its open files before aborting. */
const BUSY_GRACE_MS = 5_000;

export interface MountHandle {
  readonly info: MountInfo;
  /** A snapshot of the counters. */
  stats(): Stats;
  /** The read mode new opens get now (info.readMode is the one the mount started with). */
  readonly readMode: ReadMode;
  /**
   * Switch the read path of files opened from now on (`splicefs set MNT read-mode`); files
   * already open keep theirs until closed. Returns the previous mode. Throws a SplicefsError
   * for splice or auto on a mount started in copy mode (it has no pipes).
   */
  setReadMode(mode: ReadMode): ReadMode;
  /**
   * Unmount and wait until the server is done. A busy mount is detached, given `graceMs` for
   * its open files, then its connection is aborted. Idempotent.
   */
  unmount(opts?: { graceMs?: number }): Promise<void>;
  /** Resolves when the server has stopped (unmount(), external umount, or a device error). */
  readonly closed: Promise<{ reason: string }>;
}

/** The options resolved against the defaults, the paths checked, the header strategy probed. */
interface Setup {
  opts: MountOptions;
  logger: Logger;
  /** exact bytes (need not be UTF-8), and as shown in messages (escaped) */
  src: Buffer;
  mnt: Buffer;
  srcShown: string;
  mntShown: string;
  perm: Permissions;
  fdLimits: FdLimits;
  /** node fds held at most before least-recently-used nodes give theirs back */
  nodeFds: number;
  readMode: ReadMode;
  /** The write mode in force (auto resolved: datapath/write.ts) */
  writeMode: ResolvedWriteMode;
  readOnly: boolean;
  writebackCache: boolean;
  threads: number;
  /** why no worker threads could run although asked for (workerThreads), else null */
  noThreads: string | null;
  maxBackground: number;
  /** The kernel marks the connection congested (readahead backs off) at this many. */
  congestionThreshold: number;
  spliceMin: number;
  directIo: boolean;
  header: 'patch' | 'write';
  vmspliceAliases: boolean;
  /** who mounts (mnt/connection.ts) */
  via: MountMechanism;
  autoUnmount: boolean;
}

function resolveSetup(source: PathArg, mountpoint: PathArg, opts: MountOptions): Setup {
  D.validate(opts);
  const perm = permissions(opts);
  const logger: Logger = opts.logger ?? createLogger(opts.logLevel ?? 'info');
  const src = checkDir(source, 'source');
  const mnt = checkDir(mountpoint, 'mountpoint');
  const [srcShown, mntShown] = [showPath(src), showPath(mnt)];
  if (findMount(mnt)) throw new SplicefsError(`mountpoint ${mntShown} is already a mount point`);
  const autoUnmount = opts.autoUnmount ?? false;
  const via = chooseMechanism(opts.mountHelper, autoUnmount);
  const fdLimits = raiseFdLimit();
  const maxBackground = opts.maxBackground ?? D.DEFAULT_MAX_BACKGROUND;
  return {
    opts,
    logger,
    src,
    mnt,
    srcShown,
    mntShown,
    perm,
    // Before anything opens: the budget for node fds is a share of the (raised) limit.
    fdLimits,
    nodeFds: opts.nodeFds ?? nodeFdBudget(fdLimits.soft),
    readMode: opts.readMode ?? 'auto',
    writeMode: resolveWriteMode(opts.writeMode ?? 'auto'),
    readOnly: opts.readOnly ?? false,
    writebackCache: opts.writebackCache ?? false,
    ...workerThreads(opts.threads ?? D.DEFAULT_THREADS),
    maxBackground,
    congestionThreshold: Math.max(1, Math.floor((maxBackground * 3) / 4)),
    spliceMin: opts.spliceMin ?? D.DEFAULT_SPLICE_MIN,
    directIo: opts.directIo ?? false,
    ...chooseHeader(opts),
    via,
    autoUnmount,
  };
}

/**
 * The server's parts, wired together; each registers its release with `undo`. The transport
 * and the session come once the connection is mounted (serveOn: its device fd may come from
 * fusermount3).
 */
function buildServer(s: Setup, undo: Undo) {
  const { opts, logger, readMode, threads, directIo } = s;
  const counters = new addon.ReadCounters();
  // How the workers read requests: by splice, for streams of large WRITEs, or not (datapath/write.ts).
  const sized = makeExecutor(opts, readMode, counters, !s.readOnly && threads > 0 ? s.writeMode : null);
  const { executor, wanted, maxPages, splicing } = sized;
  undo.push(() => executor.close());
  if (sized.noSpliceRequests) logger.warn({ why: sized.noSpliceRequests }, `write mode ${s.writeMode}: requests are read by read(2), WRITE payloads copied`);
  const pending = prepare(s.via);
  undo.push(() => pending.abandon());
  const maxRead = maxPages * PAGE_SIZE;
  const reqBytes = requestBufferSize(maxRead);
  const reply = new Reply(Math.max(64 * 1024, maxRead) + PAGE_SIZE);
  let channel!: Channel;
  const writePath = new WritePath(s.writeMode);
  const registerPlan = (h: FileHandle) => channel.register(h.fh, writePath.workerPlan(h, readPath.plan(h)), writePath.capabilityNode(h));
  // Asked once: it decides both whether INIT wants FUSE_PASSTHROUGH and whether opens may use it.
  const capable = hasCapSysAdmin();
  const backing = new BackingFiles({ logger, capable });
  undo.push(() => backing.closeAll());
  let fs: Passthrough;
  try {
    fs = new Passthrough({
      source: s.src,
      timeout: opts.timeout ?? D.DEFAULT_TIMEOUT_S,
      directIo,
      directIoLog: (fields, msg) => logger.info(fields, msg),
      replyRoom: reply.room,
      readOnly: s.readOnly,
      writebackCache: s.writebackCache,
      nodeFdBudget: s.nodeFds,
      logger,
      // The worker threads serve a handle's READs by the plan the read path makes for it.
      onFileOpened: (h) => {
        writePath.opened(h);
        registerPlan(h);
      },
      passthroughFor: (h, direct, setId) => readPath.passthroughFor(h, direct, setId),
      onFileReleased: (h) => {
        channel.unregister(h.fh);
        readPath.released(h);
      },
    });
  } catch (errno) {
    throw new SplicefsError(`cannot open source ${s.srcShown}: ${errnoName(Number(errno))}`);
  }
  undo.push(() => fs.closeAll());
  let session!: Session;
  const readPath = new ReadPath({
    mode: readMode,
    backing,
    writebackCacheAsked: s.writebackCache,
    header: s.header,
    executor,
    maxRead,
    spliceMin: s.spliceMin,
    logger,
    onDeviceError: (errno) => session.onDeviceError(errno),
    onPlanChange: (h) => registerPlan(h),
  });
  const flags = wantedFlags({ writebackCache: s.writebackCache, passthrough: capable }) | permissionFlags(s.perm);
  const wants: InitWants = { flags, off: 0n, maxPages, maxBackground: s.maxBackground, congestionThreshold: s.congestionThreshold };
  const serveOn = (devfd: number) => {
    channel =
      threads > 0
        ? new WorkerChannel({
            masterFd: devfd,
            threads,
            pipeBytes: wanted,
            maxRead,
            requestBytes: reqBytes,
            spinUs: opts.spinUs ?? D.DEFAULT_SPIN_US,
            counters,
            requestSplicing: splicing,
            park: opts.parkWorkers ?? true,
          })
        : new DevFuseChannel(devfd, reqBytes, opts.spinUs ?? D.DEFAULT_SPIN_US);
    backing.useDevice(devfd);
    session = new Session({ channel, fs, readPath, writePath, reply, wants, logger });
    return { channel, session };
  };
  return { counters, executor, pending, maxRead, fs, readPath, writePath, backing, serveOn };
}
type Server = ReturnType<typeof buildServer>;

/** The mounted connection and what serves it. */
interface Serving {
  conn: Connection;
  channel: Channel;
  session: Session;
  /** the connection's number (fusectl, bdi), -1 if unknown */
  connection: number;
}

/** Mount (mount(2) or fusermount3: mnt/connection.ts), then serve. */
async function mountAndServe(s: Setup, srv: Server, undo: Undo): Promise<Serving> {
  const { src, mnt, mntShown } = s;
  // A mountpoint inside the source: keep the directory it covers, opened before it is covered,
  // to show in its place (a lookup must never recurse into this server; inodes.ts).
  const inside = isInside(mnt, src);
  const coveredFd = inside ? addon.openat(AT_FDCWD, mnt, O_PATH | O_DIRECTORY, 0) : -1;
  if (inside && coveredFd < 0) throw new SplicefsError(`cannot open mountpoint ${mntShown}: ${errnoName(coveredFd)}`);
  let coveredHandedOver = false; // to the inode table, which closes it from then on
  if (inside) undo.push(() => coveredHandedOver || addon.close(coveredFd));
  const conn = await srv.pending.mount(
    {
      fsname: s.opts.fsname ?? src,
      mountpoint: mnt,
      fstype: fsType(s.opts.subtype),
      subtype: s.opts.subtype,
      flags: mountFlags({ ...s.opts, readOnly: s.readOnly }),
      maxRead: srv.maxRead,
      allowOther: s.perm.allowOther,
      defaultPermissions: s.perm.checks,
      autoUnmount: s.autoUnmount,
    },
    s.logger,
  );
  // Never leave the mount behind a server that did not start.
  undo.push(() => conn.release(true));
  const { channel, session } = srv.serveOn(conn.devfd);
  const entry = findMount(mnt);
  if (entry) {
    srv.fs.inodes.setOwnMount(encodeDev(entry.major, entry.minor), coveredFd);
    coveredHandedOver = true;
  }
  try {
    session.start();
  } catch (err) {
    throw new SplicefsError(`cannot start serving ${mntShown}: ${(err as Error).message}`);
  }
  return { conn, channel, session, connection: entry?.minor ?? -1 };
}

/** What the mount line reports: what was negotiated and chosen. */
function mountInfo(s: Setup, srv: Server, neg: Negotiated, serving: Serving, live: LiveSurfaces): MountInfo {
  const { connection, conn } = serving;
  const pipeBytes = s.readMode === 'copy' ? 0 : srv.executor.pipeBytes;
  return {
    source: s.srcShown,
    mountpoint: s.mntShown,
    sourceBytes: s.src,
    mountpointBytes: s.mnt,
    allowOther: s.perm.allowOther,
    defaultPermissions: s.perm.checks,
    mountedBy: conn.via,
    autoUnmount: conn.autoUnmount,
    fstype: fsType(s.opts.subtype),
    mountFlags: mountFlagNames(mountFlags({ ...s.opts, readOnly: s.readOnly })),
    protocol: neg.protocol,
    maxRead: neg.maxRead,
    maxPages: neg.maxPages,
    maxReadahead: neg.maxReadahead,
    readaheadKb: connection >= 0 ? readReadahead(connection) : null,
    maxBackground: s.maxBackground,
    congestionThreshold: s.congestionThreshold,
    spliceMin: s.spliceMin,
    pipeBytes,
    pipeSlots: Math.floor(pipeBytes / PAGE_SIZE),
    readOnly: s.readOnly,
    readMode: s.readMode,
    passthrough: srv.backing.state(s.readMode === 'auto' || s.readMode === 'passthrough'),
    writeMode: s.writeMode,
    writebackCache: s.writebackCache,
    headerMode: s.header,
    vmspliceAliases: s.vmspliceAliases,
    directIo: s.directIo,
    threads: s.threads,
    flags: neg.flagNames,
    ...live.where,
  };
}

/**
 * Mount `source` on `mountpoint` (paths as bytes or strings; neither need be UTF-8) and serve it
 * on this process's event loop until unmounted.
 * Resolves once the kernel's INIT is answered; rejects with a one-line SplicefsError (exitCode
 * 2 for bad options) and leaves nothing behind (no mount, no fd) when any step fails.
 */
export async function mount(source: PathArg, mountpoint: PathArg, opts: MountOptions = {}): Promise<MountHandle> {
  const s = resolveSetup(source, mountpoint, opts);
  const { mnt, mntShown, logger } = s;
  const undo = new Undo();
  let srv: Server;
  let live: LiveSurfaces;
  let serving: Serving;
  try {
    srv = buildServer(s, undo);
    // After the device (whoever may not open it gets that error, not a socket's), before
    // mount(2): a taken metrics port fails with nothing mounted, and the socket's path cannot
    // be inside the mount (the loop would wait on itself).
    live = await LiveSurfaces.open({ mountpoint: mnt, control: opts.control ?? true, metrics: opts.metrics, logger });
    undo.push(() => void live.close());
    serving = await mountAndServe(s, srv, undo);
  } catch (err) {
    await undo.run();
    throw err;
  }
  const { fs, executor, backing } = srv;
  const { session, connection, conn, channel } = serving;

  let finished = false;
  const closed = session.closed.then(async (reason) => {
    // Never leave a stale mount: if the session ended while our connection is still mounted
    // (a device error, or an abort through fusectl, which reads as ENODEV like an unmount),
    // detach it; the connection's release does it in the order its mechanism needs.
    const stillMounted = findMount(mnt)?.minor === connection;
    fs.closeAll();
    backing.closeAll();
    executor.close();
    await conn.release(stillMounted);
    await live.close();
    finished = true;
    // Anything but an unmount (or an abort through fusectl) is the server failing: an error line.
    if (reason === 'unmounted' || reason === 'aborted') logger.info({ mountpoint: mntShown, reason }, 'stopped');
    else logger.error({ mountpoint: mntShown, reason }, 'stopped: the connection failed and the mount was detached');
    return { reason };
  });

  const neg = await waitInit(session, closed, mntShown, opts.initTimeoutMs ?? D.DEFAULT_INIT_TIMEOUT_MS);
  reportPermissions(s.perm, neg.flags, logger);
  try {
    setReadahead(connection, opts.readaheadKb, logger);
  } catch (err) {
    session.end('mount setup failed'); // the session's end detaches the mount
    await closed;
    throw err;
  }
  const info = mountInfo(s, srv, neg, serving, live);
  // The paths are logged in their escaped form only (a Buffer would print as a byte array).
  const { sourceBytes: _s, mountpointBytes: _m, ...line } = info;
  logger.info(line, 'mounted');
  logFdLimit(logger, s.fdLimits, s.nodeFds);
  if (s.noThreads)
    logger.warn({ err: s.noThreads }, 'no worker threads: they open /dev/fuse to clone the connection and may not; the event loop serves alone');
  // A spliced reply needs a slot for its header and one for data: allowed (it shows the copy
  // fallback at work), but say that nothing will be spliced.
  if (opts.pipePages === 1 && s.readMode !== 'copy')
    logger.warn({ pipePages: 1 }, 'a one-page pipe carries no spliced reply: every READ goes by copy (pipeTooSmall)');

  const stats = () => collectStats({ readCounters: srv.counters, readPath: srv.readPath, writePath: srv.writePath, backing, session, channel, fs });
  const setReadMode = (mode: ReadMode): ReadMode => {
    D.validate({ readMode: mode });
    try {
      return srv.readPath.setMode(mode);
    } catch (err) {
      throw new SplicefsError((err as Error).message);
    }
  };
  live.attach({ mountpoint: mntShown, source: s.srcShown, startReadMode: s.readMode, stats, readMode: () => srv.readPath.mode, setReadMode });

  let unmounting: Promise<void> | null = null;
  return {
    info,
    closed,
    stats,
    get readMode() {
      return srv.readPath.mode;
    },
    setReadMode,
    unmount: ({ graceMs = BUSY_GRACE_MS } = {}) => {
      if (finished) return Promise.resolve();
      if (unmounting) {
        // A later call may be in more of a hurry (the CLI's second signal passes 0): its
        // deadline counts too, the earliest wins.
        abortAfter(graceMs, connection, session, closed);
        return unmounting;
      }
      unmounting = unmountAndWait(mnt, connection, session, closed, graceMs, logger);
      return unmounting;
    },
  };
}

/** INIT answered, or a SplicefsError once the session ended or the timeout passed. */
async function waitInit(session: Session, closed: Promise<unknown>, mntShown: string, timeoutMs: number): Promise<Negotiated> {
  const timer = setTimeout(() => session.end('INIT timeout'), timeoutMs);
  try {
    return await session.waitInit();
  } catch (err) {
    await closed;
    throw new SplicefsError(`mount on ${mntShown} failed: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}

/** umount (or detach a busy mount, then abort after graceMs) and wait until the server is done. */
async function unmountAndWait(mnt: Buffer, connection: number, session: Session, closed: Promise<unknown>, graceMs: number, logger: Logger): Promise<void> {
  let how: string;
  try {
    how = await unmountAt(mnt);
  } catch (err) {
    // Already gone (external umount racing us): the session is ending on its own.
    logger.debug({ err: (err as Error).message }, 'umount');
    how = 'gone';
  }
  if (how === 'detached') logger.warn({ mountpoint: showPath(mnt), graceMs }, 'mount busy: detached, open files have until the grace period ends');
  abortAfter(how === 'detached' ? graceMs : 2_000, connection, session, closed);
  await closed;
}

/** End the connection (its fusectl abort switch, else the session) in `ms` unless it closes first. */
function abortAfter(ms: number, connection: number, session: Session, closed: Promise<unknown>): void {
  const abort = () => {
    if (!session.isClosed && !abortConnection(connection)) session.end('aborted');
  };
  if (ms <= 0) return abort();
  const t = setTimeout(abort, ms);
  void closed.then(() => clearTimeout(t));
}
