// THE READ path: the per-handle choice (kernel passthrough | splice | copy), the fallback after
// a failure, and the counters of each. Decided here and only here; the addon's one executor
// (addon/reply.cc ExecuteRead) applies a plan's numbers on whichever thread got the request,
// the event loop (serve) or a worker thread (the same plan, registered with the transport).
//
//   passthrough: the OPEN reply hands the kernel the backing file (FOPEN_PASSTHROUGH, chosen
//           once per handle at open, datapath/backing.ts owns the ids): no READ ever comes.
//           Modes passthrough and auto ask for it; where the kernel cannot (no capability, a
//           stacked source, the writeback cache, ...) the handle goes by splice, and then copy.
//   splice: header + file pages into a pipe, one splice of the whole reply into /dev/fuse.
//   copy:   pread into a reused buffer behind the header, one write into /dev/fuse.
//
// A plan carries every number the executor needs: the fd, the path, the header strategy, the
// largest size (max_read) and the small-read threshold (a READ under `spliceMin` goes by copy,
// counted as smallCopies: for a page or two, pread + write is two syscalls against splice's
// three, and nothing is saved).
//
// A reply goes by copy instead of splice when the mode is copy; when the file cannot be spliced
// (no splice_read: remembered per node in auto mode, the plan becomes copy counted as
// noSpliceCopies); or when the splice failed before anything reached the device (a reply larger
// than the pipe, short data under the `write` header strategy, a full pipe, a pipe error). Each
// fallback is counted by reason. A read never fails because of the pipe.
//
// The mode can change while the server runs (`splicefs set MNT read-mode ...`, setMode): a
// handle takes the mode current when its plan is first made (at open) and keeps it until it is
// released, so a reader in the middle of a file never switches path under it, and what a new
// open gets is exactly the mode a user just chose.
import { constants } from 'node:os';
import type { Logger } from 'pino';
import { addon, decodeFailure, type PlanArray, type ReadExecutor } from '../addon.js';
import type { ReadMode } from '../api/options.js';
import { InitFlag } from '../kernel/abi.js';
import type { FileHandle } from '../passthrough/handles.js';
import type { BackingFiles } from './backing.js';

const { EINVAL, ENOENT, ENOSYS, EOPNOTSUPP } = constants.errno;
const C = addon.constants;

/** How one handle's READs travel (the decision; `encodePlan` makes the executor's form). */
export interface ReadPlan {
  fd: number;
  path: 'splice' | 'copy';
  /** how a spliced reply's header gets its length */
  header: 'patch' | 'write';
  /** READs asking for fewer bytes go by copy (counted as smallCopies) */
  spliceMin: number;
  /** the largest reply, bytes (max_read) */
  maxSize: number;
  /** a copy plan standing in for splice (a file without splice_read): counted as noSpliceCopies */
  countAs: 'none' | 'noSplice';
}

/** Why passthrough is off mount-wide, for `splicefs set`'s refusal. */
const OFF_WHY: Record<string, string> = {
  notOffered: 'the kernel did not offer FUSE_PASSTHROUGH (it needs Linux 6.9 built with CONFIG_FUSE_PASSTHROUGH)',
  writebackCache: 'the kernel does not pass through with -o writeback_cache',
  noCapability: 'registering a backing file needs CAP_SYS_ADMIN, which this server lacks',
};

const FIELD: Record<string, number> = Object.fromEntries(C.planFields.map((name, i) => [name, i]));
for (const name of ['fd', 'path', 'header', 'spliceMin', 'maxSize', 'countAs'])
  if (FIELD[name] === undefined) throw new Error(`the addon's READ plan has no field ${name}`);

/** The executor's form of a plan: an Int32Array laid out by the addon's constants.planFields. */
export function encodePlan(p: ReadPlan): PlanArray {
  const a = new Int32Array(C.planFields.length);
  a[FIELD.fd] = p.fd;
  a[FIELD.path] = p.path === 'splice' ? C.readPath.SPLICE : C.readPath.COPY;
  a[FIELD.header] = p.header === 'patch' ? C.header.PATCH : C.header.WRITE;
  a[FIELD.spliceMin] = p.spliceMin;
  a[FIELD.maxSize] = p.maxSize;
  a[FIELD.countAs] = p.countAs === 'noSplice' ? C.countAs.NO_SPLICE : C.countAs.NONE;
  return a;
}

/** Copies that stood in for a splice, by reason, and READs answered with an error. */
export interface ReadFallbacks {
  /** the backing file has no splice_read (first detection per READ; auto mode then plans copy) */
  noSpliceRead: number;
  /** the reply needs more pipe slots than the pipe has */
  pipeTooSmall: number;
  /** `write` header strategy: the data came shorter than announced (EOF moved) */
  shortData: number;
  /** the pipe refused data it was expected to hold */
  pipeFull: number;
  /** any other splice failure */
  spliceError: number;
}

/** What to do after a failed plan. */
export type Decision =
  | { do: 'device'; errno: number }
  | { do: 'error'; errno: number }
  | { do: 'copy'; reason: keyof ReadFallbacks };

export interface ReadPathConfig {
  /** The mode at start; setMode changes it for handles whose plan is made later. */
  mode: ReadMode;
  header: 'patch' | 'write';
  /** The backing ids of passthrough opens. */
  backing: BackingFiles;
  /** `-o writeback_cache` was asked for (then FUSE_PASSTHROUGH was not: the reason it is off). */
  writebackCacheAsked?: boolean;
  /** The event loop's executor (its pipe is null in copy mode). */
  executor: ReadExecutor;
  maxRead: number;
  spliceMin: number;
  logger: Logger;
  /** A reply could not be written to /dev/fuse for a reason other than ENOENT (ENODEV = unmounted). */
  onDeviceError(errno: number): void;
  /** A handle's plan changed (its file cannot be spliced): hand the new plan to the transport. */
  onPlanChange?(handle: FileHandle): void;
}

export class ReadPath {
  readonly fallbacks: ReadFallbacks = { noSpliceRead: 0, pipeTooSmall: 0, shortData: 0, pipeFull: 0, spliceError: 0 };
  errorReplies = 0;
  /**
   * READs the event loop's executor answered (interrupted ones included): what the shared
   * executor counters hold beyond this, the worker threads answered on their own.
   */
  answered = 0;
  /**
   * What the last serve() did, for its debug line: data bytes sent, the fallback that carried
   * them (null: the plan did), or the errno the device refused the reply with (0: none).
   * Plain stores, so keeping it costs nothing when nobody reads it.
   */
  readonly last: { bytes: number; fallback: keyof ReadFallbacks | null; refused: number } = { bytes: 0, fallback: null, refused: 0 };
  private current: ReadMode;
  /** The mode each handle was planned under (bound at its first plan, kept until it goes). */
  private readonly modes = new WeakMap<FileHandle, ReadMode>();

  constructor(private readonly cfg: ReadPathConfig) {
    this.current = cfg.mode;
  }

  /** The mode handles planned from now on get. */
  get mode(): ReadMode {
    return this.current;
  }

  /**
   * Plans made from now on (new opens) follow `mode`; handles already planned keep theirs.
   * Returns the previous mode. Throws (a one-line Error) when the mode needs a pipe and the
   * event loop's executor has none (the mount started in copy mode makes no pipes).
   */
  setMode(mode: ReadMode): ReadMode {
    const off = this.cfg.backing.offMountWide;
    if (mode === 'passthrough' && off !== null)
      throw new Error(`read mode passthrough is not available on this mount (${off}): ${OFF_WHY[off] ?? off}`);
    if (mode !== 'copy' && mode !== 'passthrough' && this.cfg.executor.pipeBytes === 0)
      throw new Error(`read mode ${mode} needs pipes, and this mount started in copy mode, which makes none: mount with --read-mode auto or splice to switch between paths`);
    const previous = this.current;
    this.current = mode;
    return previous;
  }

  /** The mode `h` is planned under: the current one when its first plan is made, then fixed. */
  private modeOf(h: FileHandle): ReadMode {
    let m = this.modes.get(h);
    if (m === undefined) this.modes.set(h, (m = this.current));
    return m;
  }

  /** What INIT granted: FUSE_PASSTHROUGH on or not (and why not). Before any OPEN. */
  negotiated(flags: bigint): void {
    const wb = (flags & InitFlag.WRITEBACK_CACHE) !== 0n;
    this.cfg.backing.negotiated((flags & InitFlag.PASSTHROUGH) !== 0n, wb || this.cfg.writebackCacheAsked === true);
  }

  /**
   * The backing id `h` (just opened) passes through the kernel with, or 0: its reads go by its
   * plan. Asked in modes passthrough and auto; an inode passing through already shares its id
   * in any mode (the kernel keeps one I/O mode per inode). `direct`: the open is direct I/O;
   * `setId`: the file has set-user-ID or set-group-ID rights a write must clear.
   */
  passthroughFor(h: FileHandle, direct: boolean, setId: boolean): number {
    const mode = this.modeOf(h);
    return this.cfg.backing.open(h, mode === 'passthrough' || mode === 'auto', direct, setId);
  }

  /** `h` is being released (its backing id closes with its inode's last passthrough handle). */
  released(h: FileHandle): void {
    this.cfg.backing.release(h);
  }

  /** The way the last reply went (asked by debug lines only: it is a call into the addon). */
  lastHow(): 'splice' | 'copy' {
    return this.cfg.executor.lastPath === C.readPath.SPLICE ? 'splice' : 'copy';
  }

  /**
   * The plan for an open file's READs: copy in copy mode, copy for a file known not to splice
   * (auto, passthrough), else splice. A passthrough handle has one too: a READ that reaches us
   * anyway (FOPEN_DIRECT_IO beside it) goes by it.
   */
  planFor(h: FileHandle): ReadPlan {
    const { header, spliceMin, maxRead } = this.cfg;
    const mode = this.modeOf(h);
    const base = { fd: h.fd, header, spliceMin, maxSize: maxRead };
    if (mode === 'copy' || this.cfg.executor.pipeBytes === 0) return { ...base, path: 'copy', countAs: 'none' };
    if (h.node.noSplice && mode !== 'splice') return { ...base, path: 'copy', countAs: 'noSplice' };
    return { ...base, path: 'splice', countAs: 'none' };
  }

  /** The handle's plan in the executor's form, made once per handle (and again on a change). */
  plan(h: FileHandle): PlanArray {
    h.plan ??= encodePlan(this.planFor(h));
    return h.plan;
  }

  /** The plan changed (a file turned out not to splice): make it again and tell the transport. */
  private replan(h: FileHandle): void {
    h.plan = encodePlan(this.planFor(h));
    this.cfg.onPlanChange?.(h);
  }

  /**
   * What to do after the plan of `h` failed with `failure` (-(stage << 12 | errno)) before the
   * reply reached the device (or at the device: stage DEVICE).
   */
  decide(failure: number, h: FileHandle): Decision {
    const S = C.stage;
    const { stage, errno } = decodeFailure(failure);
    switch (stage) {
      case S.DEVICE:
        return { do: 'device', errno };
      case S.FILE:
        if (this.modeOf(h) !== 'copy' && (errno === EINVAL || errno === ENOSYS || errno === EOPNOTSUPP)) {
          // The backing filesystem has no splice_read (some pseudo files): copy this file.
          if (!h.node.noSplice) {
            h.node.noSplice = true;
            this.cfg.logger.info({ ino: String(h.node.ino), errno }, 'file cannot be spliced: copying its reads');
            this.replan(h);
          }
          return { do: 'copy', reason: 'noSpliceRead' };
        }
        return { do: 'error', errno };
      case S.PIPE_TOO_SMALL:
        return { do: 'copy', reason: 'pipeTooSmall' };
      case S.SHORT:
        return { do: 'copy', reason: 'shortData' };
      case S.PIPE_FULL:
        return { do: 'copy', reason: 'pipeFull' };
      default:
        this.cfg.logger.warn({ stage, errno }, 'splice reply failed: sending by copy');
        return { do: 'copy', reason: 'spliceError' };
    }
  }

  /**
   * Answer READ `unique` on `replyFd` with up to `size` bytes of handle `h` at `offset`. Returns
   * 0 when a reply was sent (or the device refused it, reported through onDeviceError), or
   * -errno for the caller to send as an error reply. `prior` is the failure code of the plan a
   * worker thread already tried for this request (0 if none): the decision continues from there.
   */
  serve(replyFd: number, unique: bigint, h: FileHandle, offset: bigint, size: number, prior = 0): number {
    const ex = this.cfg.executor;
    const last = this.last;
    last.fallback = null;
    last.refused = 0;
    const r = prior < 0 ? prior : ex.read(replyFd, unique, this.plan(h), offset, size);
    if (r >= 0) {
      this.answered++;
      last.bytes = r;
      return 0;
    }
    const d = this.decide(r, h);
    if (d.do === 'device') return this.deviceError(d.errno);
    if (d.do === 'error') {
      this.errorReplies++;
      return -d.errno;
    }
    this.fallbacks[d.reason]++;
    last.fallback = d.reason;
    const copy = encodePlan({ ...this.planFor(h), path: 'copy', countAs: 'none', spliceMin: 0 });
    const c = ex.read(replyFd, unique, copy, offset, size);
    if (c >= 0) {
      this.answered++;
      last.bytes = c;
      return 0;
    }
    const { stage, errno } = decodeFailure(c);
    if (stage === C.stage.DEVICE) return this.deviceError(errno);
    this.errorReplies++;
    return -errno;
  }

  /** ENOENT (interrupted) was counted by the executor; anything else is the session's to judge. */
  private deviceError(errno: number): number {
    this.last.refused = errno;
    if (errno === ENOENT) this.answered++;
    else this.cfg.onDeviceError(errno);
    return 0;
  }
}
