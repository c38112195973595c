// THE WRITE path: how a WRITE's payload reaches the backing file, and the counters of each way.
//
//   copy:   the request was read whole into a request buffer; one pwrite of the payload from it.
//   splice: the worker threads read every request by splice into their pipe (FUSE's splice read
//           references the payload's pages instead of copying them into our buffer); a WRITE's
//           payload then goes from the pipe into the file by splice, and any other request is
//           read out of the pipe into its buffer (two syscalls more per request: the cost the
//           benchmark weighs against the copy saved on large WRITEs).
//   auto:   copy, and splice while a worker sees a stream of large WRITEs (requestSplicing): the
//           small requests of metadata work keep read(2), and the workers may park as in copy.
//
// Splice falls back to copy, counted by reason: a handle opened with O_APPEND (splice refuses
// append-only fds: the plan says copy, counted as appendCopies); a file whose filesystem
// refuses splice (EINVAL: the worker reads the payload out of the pipe and pwrites it,
// counted as spliceFallbacks); and with no worker threads (--threads 0) every WRITE is read
// whole by the event loop (counted as noWorkerCopies).
//
// Where: a worker thread serves the WRITEs, FSYNCs and FALLOCATEs of a writable handle itself
// (addon/write.cc, the same rules as here), so a slow disk blocks that worker, never the event
// loop; the event loop serves them here when there are no workers (--threads 0).
//
// Decided here and only here (the READ side's twin is read.ts). A write the kernel is told
// succeeded is in the backing file: a short pwrite is retried for the rest, and an error after
// some bytes reports the bytes written (the kernel turns a short count into the caller's short
// write, so the caller sees where it stopped); an error before any byte is the caller's errno
// (ENOSPC, EDQUOT, EFBIG, EIO, ...), never a silent loss. A write-back of the kernel's cache
// (FUSE_WRITE_CACHE, -o writeback_cache) gets the errno whenever it was cut short: the kernel
// ignores short counts there, so the error (reported at fsync or close) is the only trace.
import { constants } from 'node:os';
import { addon, type PlanArray } from '../addon.js';
import { fuse_getxattr_in, fuse_in_header } from '../kernel/abi.js';
import type { FileHandle } from '../passthrough/handles.js';
import type { WriteTarget } from '../passthrough/ops/files.js';

const C = addon.constants;
const E = constants.errno;
const WRITE_FIELD = C.planFields.indexOf('write');
const FLUSH_FIELD = C.planFields.indexOf('flush');
if (WRITE_FIELD < 0 || FLUSH_FIELD < 0) throw new Error("the addon's plan has no field write or flush");
/** plan.write (addon/reply.h WriteExec): hand over to the event loop, or copy in the worker. */
const WRITE_HAND_OVER = 0;
const WRITE_COPY = 1;
const WRITE_SPLICE = 2;

/** How WRITE payloads travel: see api/options.ts MountOptions.writeMode. */
export type WriteMode = 'auto' | 'splice' | 'copy';

/** The write mode in force (auto is a mode of its own: copy, splice for streams of large WRITEs). */
export type ResolvedWriteMode = WriteMode;

/** The mode in force for the option given. */
export function resolveWriteMode(mode: WriteMode): ResolvedWriteMode {
  return mode;
}

/**
 * How the worker threads read requests (addon/write.h RequestSplicing): `never` by read(2);
 * `always` by splice (write mode splice); `streams` by read(2), and by splice while a worker
 * sees a stream of WRITEs of at least `largeWrite` bytes (write mode auto). A stream starts
 * after two such WRITEs in a row (each adds 2 to a score, up to `cap`; any other request takes
 * 1 off; splicing from `enter` up) and ends once `cap` other requests have brought the score
 * back to 0. Why 64 KiB: a spliced WRITE costs one syscall more than a read(2) and saves a copy
 * of its payload, which is worth far more than a syscall from a few KiB up; a request that is
 * not such a WRITE costs two syscalls more spliced, so a stream ends soon after its WRITEs do.
 */
export interface RequestSplicing {
  mode: 'never' | 'always' | 'streams';
  /** bytes of payload that make a WRITE part of a stream */
  largeWrite: number;
  /** score from which a worker splices */
  enter: number;
  /** the score's ceiling: other requests a stream outlives its last large WRITE by */
  cap: number;
}

/** The stream rule of write mode auto (see RequestSplicing). */
export const STREAM_SPLICING = { largeWrite: 64 * 1024, enter: 4, cap: 8 } as const;

/**
 * Request reading for `mode` (never when requests cannot be spliced: a read-only mount, no
 * worker threads, or no pipe that holds the largest request).
 */
export function requestSplicing(mode: ResolvedWriteMode, canSplice: boolean): RequestSplicing {
  const m = !canSplice || mode === 'copy' ? 'never' : mode === 'splice' ? 'always' : 'streams';
  return { mode: m, ...STREAM_SPLICING };
}

/** WRITE counters: replies and payload bytes per path, and replies that were an error. */
export interface WriteCounts {
  spliceReplies: number;
  spliceBytes: number;
  copyReplies: number;
  copyBytes: number;
  errorReplies: number;
  /** splice mode: why WRITEs went by copy */
  fallbacks: {
    /** handles opened with O_APPEND (opens counted) */
    appendCopies: number;
    /** spliced-in payloads the file refused to take by splice: copied out of the pipe */
    spliceFallbacks: number;
    /** WRITEs the event loop served (no worker threads, or a handle registered after the request) */
    noWorkerCopies: number;
  };
}

const CAPABILITY = Buffer.from('security.capability\0', 'latin1');
const XATTR_NAME_AT = fuse_in_header.size + fuse_getxattr_in.size;

/** Whether the GETXATTR request in buf[0, length) asks for security.capability (see capabilityNode). */
export function isCapabilityGetxattr(buf: Buffer, length: number): boolean {
  return length >= XATTR_NAME_AT + CAPABILITY.length && buf.compare(CAPABILITY, 0, CAPABILITY.length, XATTR_NAME_AT, XATTR_NAME_AT + CAPABILITY.length) === 0;
}

/** Whether a worker plan (workerPlan) has the worker execute the handle's WRITE, FSYNC and FALLOCATE. */
export function planExecutesWrites(plan: PlanArray): boolean {
  return plan[WRITE_FIELD] !== WRITE_HAND_OVER;
}

export class WritePath {
  readonly counts: WriteCounts = {
    spliceReplies: 0,
    spliceBytes: 0,
    copyReplies: 0,
    copyBytes: 0,
    errorReplies: 0,
    fallbacks: { appendCopies: 0, spliceFallbacks: 0, noWorkerCopies: 0 },
  };

  constructor(readonly mode: ResolvedWriteMode) {}

  /**
   * The plan a worker thread gets for handle `h`: `readPlan` (datapath/read.ts) with the write
   * field set, a new array (the read path keeps its own). A writable handle's WRITE, FSYNC and
   * FALLOCATE are then executed by the worker that reads them.
   */
  workerPlan(h: FileHandle, readPlan: PlanArray): PlanArray {
    const p = Int32Array.from(readPlan);
    // auto's handles take splice plans too: a WRITE a worker read by read(2) is written by pwrite
    // whatever the plan (addon/write.cc), one it spliced in goes on by splice.
    p[WRITE_FIELD] = !h.writable ? WRITE_HAND_OVER : this.mode === 'copy' ? WRITE_COPY : h.append ? WRITE_COPY : WRITE_SPLICE;
    // FLUSH (ops/files.ts flush: close(dup(fd)), which may wait on the backing filesystem): the
    // worker that reads it answers it, saving the hand-over's wake-up per close.
    p[FLUSH_FIELD] = 1;
    return p;
  }

  /**
   * The node whose GETXATTR of security.capability the workers may answer on h's fd, or 0. The
   * kernel asks it before each buffered write and fallocate (file_remove_privs): answered on the
   * event loop, a backing file that blocks would stall the whole mount before its WRITE even
   * reached the worker that is there to take the wait (addon/write.h).
   */
  capabilityNode(h: FileHandle): number {
    return h.writable ? h.node.nodeid : 0;
  }

  /** A handle was opened: count the splice-mode handles that will write by copy, and why. */
  opened(h: FileHandle): void {
    if (this.mode !== 'copy' && h.writable && h.append) this.counts.fallbacks.appendCopies++;
  }

  /** Write t.data at t.offset of t.handle's file: bytes written (all, or where an error stopped it) or -errno. */
  write(t: WriteTarget): { size: number } | number {
    if (this.mode === 'splice') this.counts.fallbacks.noWorkerCopies++;
    const fd = t.handle.fd;
    const data = t.data;
    let done = 0;
    let err = 0;
    while (done < data.length) {
      const n = addon.pwrite(fd, data.subarray(done), t.offset + BigInt(done));
      if (n <= 0) {
        err = n < 0 ? n : t.cached ? -E.EIO : 0;
        break;
      }
      done += n;
    }
    // The bytes before an error are written: report them, unless nobody would see a short count.
    if (err < 0 && (done === 0 || t.cached)) {
      this.counts.errorReplies++;
      return err;
    }
    this.counts.copyReplies++;
    this.counts.copyBytes += done;
    return { size: done };
  }
}
