// Request size and pipe capacity, chosen together. A pipe counts slots, not bytes: a spliced
// reply takes one slot for the header and one per page its data touches (DESIGN.md). Pipes grow
// with F_SETPIPE_SZ only up to /proc/sys/fs/pipe-max-size (1 MiB = 256 slots on a default
// system, even as root; splicefs never raises that sysctl), and max_pages is capped by
// /proc/sys/fs/fuse/max_pages_limit (256 by default). So by default the pipe is the largest
// allowed and max_pages = slots - 1, so every page-aligned READ fits whole.
import { fuse_in_header, fuse_setxattr_in, fuse_write_in, PAGE_SIZE } from '../kernel/abi.js';

/**
 * Bytes of the largest SETXATTR the kernel sends: a name of XATTR_NAME_MAX (255) bytes and its
 * NUL, and a value of XATTR_SIZE_MAX (65536) bytes (linux/limits.h). The largest request that is
 * not a WRITE; 17 pages.
 */
export const LARGEST_SETXATTR_REQUEST = fuse_in_header.size + fuse_setxattr_in.size + 256 + 65536;

/**
 * Bytes the largest request takes with this max_write (bytes): what a pipe must hold for every
 * request to be read into it by splice. A shorter read gets EINVAL (fuse_dev_do_read checks
 * for header + fuse_write_in + max_write) or fails the request (E2BIG for SETXATTR, EIO else).
 */
export function largestRequest(maxWrite: number): number {
  return Math.max(fuse_in_header.size + fuse_write_in.size + maxWrite, LARGEST_SETXATTR_REQUEST);
}

export interface PipeSizingInput {
  /** --pipe-pages: a fixed pipe size; replies that do not fit go by copy (counted). */
  pipePages?: number;
  /** --max-read in bytes (default 1 MiB). */
  maxRead: number;
  /** /proc/sys/fs/pipe-max-size, bytes */
  pipeMaxSize: number;
  /** /proc/sys/fs/fuse/max_pages_limit */
  maxPagesLimit: number;
  /**
   * --write-mode splice on a read-write mount: the workers read every request by splice into a
   * pipe of this size, so the largest request must fit it whatever --pipe-pages says.
   */
  spliceRequests: boolean;
}

/** The pipe size to ask for, in bytes. */
export function pipeBytesWanted(i: PipeSizingInput): number {
  return i.pipePages !== undefined ? i.pipePages * PAGE_SIZE : i.pipeMaxSize;
}

/**
 * max_pages to negotiate given the pipe really granted (`pipeBytes`; in copy mode, which makes
 * no pipe, the size one would have, so both modes negotiate alike and compare fairly): what was
 * asked, within the kernel's limit and within what one pipe carries (slots - 1), except when the
 * pipe size was fixed by hand and only replies use it (a READ reply that does not fit goes by
 * copy; a request that does not fit has no such way out).
 *
 * Why requests must fit: the kernel refuses (EINVAL) a read of /dev/fuse shorter than
 * fuse_in_header + fuse_write_in + max_write (fuse_dev_do_read), and splice(2) first cuts the
 * length to the pipe's free room (do_splice_read), so with a pipe smaller than max_write every
 * spliced request read fails. slots - 1 pages of payload leave a page for the two headers.
 */
export function chooseMaxPages(i: PipeSizingInput, pipeBytes: number): number {
  const wantPages = Math.ceil(i.maxRead / PAGE_SIZE);
  const slots = Math.floor(pipeBytes / PAGE_SIZE);
  const fitPipe = i.pipePages === undefined || i.spliceRequests ? slots - 1 : Infinity;
  return Math.max(1, Math.min(wantPages, i.maxPagesLimit, fitPipe));
}
