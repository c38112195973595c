// THE WRITE path: how a WRITE's payload reaches the backing file, and the counters of each way.
//
//   copy:   the request was read whole into a request buffer; one pwrite of the payload from it.
//
// Decided here and only here (the READ side's twin is read.ts). A write the kernel is told
// succeeded is in the backing file: a short pwrite is retried for the rest, and an error after
// some bytes reports the bytes written (the kernel turns a short count into the caller's short
// write, so the caller sees where it stopped); an error before any byte is the caller's errno
// (ENOSPC, EDQUOT, EFBIG, EIO, ...), never a silent loss.
import { addon } from '../addon.js';
import type { WriteTarget } from '../passthrough/ops/files.js';

/** How WRITE payloads travel: see api/options.ts MountOptions.writeMode. */
export type WriteMode = 'auto' | 'splice' | 'copy';

/** The write mode in force once `auto` is resolved. */
export type ResolvedWriteMode = 'splice' | 'copy';

/** auto's choice: copy (see benchmarks/RESULTS.md, "write modes"). */
export function resolveWriteMode(mode: WriteMode): ResolvedWriteMode {
  return mode === 'auto' ? 'copy' : mode;
}

/** WRITE counters: replies and payload bytes per path, and replies that were an error. */
export interface WriteCounts {
  spliceReplies: number;
  spliceBytes: number;
  copyReplies: number;
  copyBytes: number;
  errorReplies: number;
}

export class WritePath {
  readonly counts: WriteCounts = { spliceReplies: 0, spliceBytes: 0, copyReplies: 0, copyBytes: 0, errorReplies: 0 };

  constructor(readonly mode: ResolvedWriteMode) {}

  /** Write t.data at t.offset of t.handle's file: bytes written (all, or where an error stopped it) or -errno. */
  write(t: WriteTarget): { size: number } | number {
    const fd = t.handle.fd;
    const data = t.data;
    let done = 0;
    while (done < data.length) {
      const n = addon.pwrite(fd, data.subarray(done), t.offset + BigInt(done));
      if (n < 0) {
        if (done > 0) break; // the bytes before the error are written: report them
        this.counts.errorReplies++;
        return n;
      }
      if (n === 0) break;
      done += n;
    }
    this.counts.copyReplies++;
    this.counts.copyBytes += done;
    return { size: done };
  }
}
