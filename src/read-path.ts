// The READ strategy: splice | copy, the fallback rules, and the counters that prove which path
// ran. The handler resolved the file handle to "this fd, this range"; this module decides how
// the bytes travel, and the addon executes (addon/splice.cc).
//
//   splice: header + file pages into a pipe, one splice of the whole reply into /dev/fuse.
//   copy:   pread into a reused buffer behind the header, one write into /dev/fuse.
//
// A READ asking for fewer than `spliceMin` bytes goes by copy by policy (counted as smallCopies):
// for a page or two, pread + write is two syscalls against splice's three, and nothing is saved.
//
// A reply goes by copy instead of splice when: the mode is copy; the file cannot be spliced
// (no splice_read, remembered per node in auto mode); the reply needs more pipe slots than the
// pipe has (--pipe-pages 16: the original 15-page limit); or the splice failed before anything
// reached the device (short data under the `write` header strategy, a full pipe, a pipe error).
// Each of those is counted by reason. A read never fails because of the pipe.
import { constants } from 'node:os';
import type { Logger } from 'pino';
import { addon, decodeFailure, SpliceStage, type PipePool, type Workers } from './addon.js';
import { AT_EMPTY_PATH, PAGE_SIZE } from './kernel/abi.js';
import type { ReadMode, ReadStats } from './options.js';
import type { Node } from './passthrough/inodes.js';
import { newStat, ST_SIZE } from './passthrough/stat.js';

const { EINVAL, ENOSYS, EOPNOTSUPP } = constants.errno;
const HEADER = 16;

export interface ReadTarget {
  readonly fh: number;
  readonly fd: number;
  readonly node: Node;
}

export interface ReadPathConfig {
  mode: ReadMode;
  headerStrategy: 'patch' | 'write';
  /** null in copy mode: no pipes are made. */
  pool: PipePool | null;
  maxRead: number;
  /** READs asking for fewer bytes than this go by copy even when splicing (0: never). */
  spliceMin: number;
  logger: Logger;
  /** A reply could not be written to /dev/fuse (ENOENT = interrupted; ENODEV = unmounted). */
  onDeviceError(errno: number): void;
  /** The plan for this target's file changed (it cannot be spliced): re-register it. */
  onPlanChange?(target: ReadTarget): void;
}

/** How the worker threads serve a handle's READs (addon/workers.cc Plan.path). */
export const Plan = { SPLICE: 0, COPY: 1, COPY_NO_SPLICE: 2 } as const;
export type Plan = (typeof Plan)[keyof typeof Plan];

export function newReadStats(): ReadStats {
  return {
    spliceReplies: 0,
    spliceBytes: 0,
    copyReplies: 0,
    copyBytes: 0,
    errorReplies: 0,
    smallCopies: 0,
    fallbacks: { noSpliceRead: 0, pipeTooSmall: 0, shortData: 0, pipeFull: 0, spliceError: 0 },
  };
}

/** Pipe slots a reply needs: one for the header, one per page the data range touches. */
export function slotsNeeded(offset: number, size: number): number {
  if (size === 0) return 1;
  const first = offset % PAGE_SIZE;
  return 1 + Math.ceil((first + size) / PAGE_SIZE);
}

export class ReadPath {
  readonly stats: ReadStats = newReadStats();
  private readonly copyBuf: Buffer;
  private readonly pipeSlots: number;
  private readonly st = newStat();
  private readonly strategy: 0 | 1;

  constructor(private readonly cfg: ReadPathConfig) {
    this.copyBuf = Buffer.allocUnsafe(HEADER + cfg.maxRead);
    this.pipeSlots = cfg.pool ? Math.floor(cfg.pool.pipeBytes / PAGE_SIZE) : 0;
    this.strategy = cfg.headerStrategy === 'patch' ? 0 : 1;
  }

  /**
   * The plan for an open file, for the worker threads to execute on their own: splice, copy,
   * or copy standing in for splice (a file that cannot be spliced; counted as a fallback).
   * Cases a plan does not cover (a reply too big for the pipe, a file that turns out not to
   * splice) come back to serve() with the failure attached.
   */
  planFor(target: ReadTarget): Plan {
    if (this.cfg.pool === null || this.cfg.mode === 'copy') return Plan.COPY;
    if (target.node.noSplice && this.cfg.mode === 'auto') return Plan.COPY_NO_SPLICE;
    return Plan.SPLICE;
  }

  get strategyCode(): 0 | 1 {
    return this.strategy;
  }

  /** Hand a target's plan to the worker threads (they execute it without asking again). */
  registerWith(workers: Workers | null, target: ReadTarget): void {
    workers?.register(target.fh, target.fd, this.planFor(target), this.strategy, this.cfg.spliceMin);
  }

  /**
   * Answer READ `unique` with up to `size` bytes of `target` at `offset`. Returns 0 when a
   * reply was sent (or the device refused it, reported through onDeviceError), or -errno for
   * the caller to send as an error reply. `prior` is the failure code of a plan a worker
   * already tried for this request (0 if none): the decision continues from there.
   */
  serve(devfd: number, unique: number, target: ReadTarget, offset: number, size: number, prior = 0): number {
    if (size > this.cfg.maxRead) size = this.cfg.maxRead;
    if (prior < 0) return this.afterFailure(prior, devfd, unique, target, offset, size);
    const plan = this.planFor(target);
    if (plan !== Plan.SPLICE) {
      if (plan === Plan.COPY_NO_SPLICE) this.stats.fallbacks.noSpliceRead++;
      return this.copy(devfd, unique, target, offset, size);
    }
    if (size < this.cfg.spliceMin) {
      this.stats.smallCopies++;
      return this.copy(devfd, unique, target, offset, size);
    }
    const pool = this.cfg.pool as PipePool;
    if (slotsNeeded(offset, size) > this.pipeSlots) {
      this.stats.fallbacks.pipeTooSmall++;
      return this.copy(devfd, unique, target, offset, size);
    }
    let expected = size;
    if (this.strategy === 1) {
      // `write` strategy: the header is a copy in the pipe, so its length must be right before
      // the data is there: announce what the file holds now; a change is caught as SHORT below.
      const r = addon.fstatat(target.fd, '', AT_EMPTY_PATH, this.st);
      if (r < 0) return r;
      expected = Math.max(0, Math.min(size, this.st[ST_SIZE] - offset));
    }
    const r = pool.spliceReply(0, devfd, unique, target.fd, offset, size, this.strategy, expected);
    if (r >= 0) {
      this.stats.spliceReplies++;
      this.stats.spliceBytes += r;
      return 0;
    }
    return this.afterFailure(r, devfd, unique, target, offset, size);
  }

  /** A splice (or a worker's plan) failed before anything reached the device: what now. */
  private afterFailure(r: number, devfd: number, unique: number, target: ReadTarget, offset: number, size: number): number {
    const f = this.stats.fallbacks;
    const { stage, errno } = decodeFailure(r);
    switch (stage) {
      case SpliceStage.DEVICE:
        this.cfg.onDeviceError(errno);
        return 0;
      case SpliceStage.FILE:
        if (this.planFor(target) === Plan.SPLICE && (errno === EINVAL || errno === ENOSYS || errno === EOPNOTSUPP)) {
          // The backing filesystem has no splice_read (some pseudo files): copy this file.
          if (!target.node.noSplice) {
            target.node.noSplice = true;
            this.cfg.logger.info({ ino: target.node.ino, errno }, 'file cannot be spliced: copying its reads');
          }
          this.cfg.onPlanChange?.(target);
          f.noSpliceRead++;
          return this.copy(devfd, unique, target, offset, size);
        }
        this.stats.errorReplies++;
        return -errno;
      case SpliceStage.PIPE_TOO_SMALL:
        f.pipeTooSmall++;
        return this.copy(devfd, unique, target, offset, size);
      case SpliceStage.SHORT:
        f.shortData++;
        return this.copy(devfd, unique, target, offset, size);
      case SpliceStage.PIPE_FULL:
        f.pipeFull++;
        return this.copy(devfd, unique, target, offset, size);
      default:
        f.spliceError++;
        this.cfg.logger.warn({ stage, errno }, 'splice reply failed: sending by copy');
        return this.copy(devfd, unique, target, offset, size);
    }
  }

  private copy(devfd: number, unique: number, target: ReadTarget, offset: number, size: number): number {
    const r = addon.copyReply(devfd, unique, target.fd, offset, size, this.copyBuf);
    if (r >= 0) {
      this.stats.copyReplies++;
      this.stats.copyBytes += r;
      return 0;
    }
    const { stage, errno } = decodeFailure(r);
    if (stage === SpliceStage.DEVICE) {
      this.cfg.onDeviceError(errno);
      return 0;
    }
    this.stats.errorReplies++;
    return -errno;
  }
}
