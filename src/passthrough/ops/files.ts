// Open files: OPEN, RELEASE, FLUSH, FSYNC, LSEEK, FALLOCATE, COPY_FILE_RANGE, and the
// resolution of a READ or WRITE to "this fd, this range". How READ bytes travel (splice or copy)
// is datapath/read.ts's decision; WRITE's is datapath/write.ts's.
import { constants } from 'node:os';
import { addon } from '../../addon.js';
import { FOPEN_DIRECT_IO, FOPEN_PASSTHROUGH } from '../../kernel/abi.js';
import { AT_EMPTY_PATH, S_IXGRP, S_ISGID, S_ISUID } from '../../kernel/linux.js';
import { O_ACCMODE, O_APPEND, O_CREAT, O_DIRECT, O_EXCL, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY } from '../../kernel/linux.js';
import { FUSE_WRITE_CACHE, FUSE_WRITE_KILL_SUIDGID, type CopyFileRangeIn, type FallocateIn, type FlushIn, type FsyncIn, type LseekIn, type OpenIn, type ReadIn, type ReleaseIn, type WriteIn } from '../../kernel/request.js';
import { St } from '../stat.js';
import type { OpenOut } from '../../kernel/reply.js';
import type { FileHandle } from '../handles.js';
import type { Node } from '../inodes.js';
import type { Caller, Passthrough } from '../fs.js';

const E = constants.errno;
const seekOut = new BigInt64Array(1);
/** fuse_fsync_in.fsync_flags: only the data, not the metadata (fdatasync). */
const FUSE_FSYNC_FDATASYNC = 1;

export function open(fs: Passthrough, c: Caller, req: OpenIn): OpenOut | number {
  const node = fs.node(c.nodeid);
  if (typeof node === 'number') return node;
  if (fs.readOnly && (req.flags & O_ACCMODE) !== O_RDONLY) return -E.EROFS;
  const fd = fs.inodes.open(node, (nfd) => addon.openProc(nfd, backingFlags(fs, req.flags)));
  if (fd < 0) return fd;
  return addHandle(fs, node, fd, req.flags);
}

/**
 * The flags a handle opens its backing file with, from the caller's open(2) flags: O_CREAT,
 * O_EXCL, O_NOCTTY and O_NOFOLLOW belong to the name lookup, done already (and the re-open
 * goes through /proc/self/fd/N, a magic link O_NOFOLLOW would refuse with ELOOP); O_TRUNC is
 * never negotiated (FUSE_ATOMIC_O_TRUNC off: the kernel truncates with a SETATTR, so the
 * set-user-ID kill is the caller's, not root's); O_DIRECT is the kernel's business on the
 * mount's side, and our payload buffers are not aligned for it. With the writeback cache the kernel reads through
 * write-only handles and places appends itself.
 */
export function backingFlags(fs: Passthrough, flags: number): number {
  let f = (flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW | O_TRUNC | O_DIRECT)) | O_NONBLOCK;
  if (fs.cfg.writebackCache) {
    if ((f & O_ACCMODE) === O_WRONLY) f = (f & ~O_ACCMODE) | O_RDWR;
    f &= ~O_APPEND;
  }
  return f;
}

/**
 * A new open handle on `node` for `fd` (the handle owns it from here), opened with the caller's
 * open(2) `flags`: OPEN's, CREATE's and TMPFILE's reply.
 */
export function addHandle(fs: Passthrough, node: Node, fd: number, flags: number): OpenOut {
  const writable = !fs.readOnly && (flags & O_ACCMODE) !== O_RDONLY;
  // A file whose size does not tell its content is read directly, or it reads as empty or cut.
  // (Unless --direct-io decided without looking, decide() leaves the file's fstat in fs.st.)
  const direct = fs.directIo.decide(fd, fs.st, writable || fs.cfg.writebackCache === true) !== null;
  fs.inodes.pin(node); // an open file's node keeps its fd until RELEASE
  const h: FileHandle = { fh: 0, fd, node, plan: null, writable, append: (backingFlags(fs, flags) & O_APPEND) !== 0 };
  h.fh = fs.files.add(h);
  // Kernel passthrough (datapath/backing.ts): its reads and writes never reach us. With
  // FOPEN_DIRECT_IO beside it (an inode passing through already), this handle's reads and
  // writes still come as requests and only its mmap goes to the backing file.
  const backingId = fs.cfg.passthroughFor?.(h, direct, !direct && hasSetId(Number(fs.st[St.mode]))) ?? 0;
  fs.cfg.onFileOpened?.(h);
  const openFlags = (direct ? FOPEN_DIRECT_IO : 0) | (backingId !== 0 ? FOPEN_PASSTHROUGH : 0);
  return { fh: h.fh, openFlags, backingId };
}

/**
 * Whether a file of `mode` has rights a write by an unprivileged caller must clear: set-user-ID,
 * or set-group-ID with group execute (without it, set-group-ID marks mandatory locking).
 */
function hasSetId(mode: number): boolean {
  return (mode & S_ISUID) !== 0 || (mode & (S_ISGID | S_IXGRP)) === (S_ISGID | S_IXGRP);
}

/** What a READ asks of which open file. */
export interface ReadTarget {
  handle: FileHandle;
  offset: bigint;
  size: number;
}

export function readTarget(fs: Passthrough, _c: Caller, req: ReadIn): ReadTarget | number {
  const h = fs.files.get(req.fh);
  if (!h) return -E.EBADF;
  return { handle: h, offset: req.offset, size: req.size };
}

/** What a WRITE asks of which open file: the payload is a view of the request. */
export interface WriteTarget {
  handle: FileHandle;
  offset: bigint;
  data: Buffer;
  /**
   * FUSE_WRITE_KILL_SUIDGID: the writer lacks CAP_FSETID and the kernel leaves the kill of the
   * set-user-ID/set-group-ID bits to us (it does so for direct I/O writes): see killSuidgid.
   */
  killSuidgid: boolean;
  /**
   * FUSE_WRITE_CACHE: a write-back of the kernel's page cache (-o writeback_cache). Its caller is
   * long gone: a short count would be ignored, so only all bytes or an errno may answer it.
   */
  cached: boolean;
}

export function writeTarget(fs: Passthrough, _c: Caller, req: WriteIn): WriteTarget | number {
  if (fs.readOnly) return -E.EROFS;
  const h = fs.files.get(req.fh);
  if (!h) return -E.EBADF;
  return { handle: h, offset: req.offset, data: req.data, killSuidgid: (req.writeFlags & FUSE_WRITE_KILL_SUIDGID) !== 0,
    cached: (req.writeFlags & FUSE_WRITE_CACHE) !== 0,
  };
}

/**
 * The kill of privileges FUSE_HANDLE_KILLPRIV_V2 leaves to the server (a WRITE flagged
 * FUSE_WRITE_KILL_SUIDGID, a SETATTR with FATTR_KILL_SUIDGID; the kernel sets them only for a
 * caller without CAP_FSETID): drop S_ISUID, and S_ISGID where group execute is set (without
 * it S_ISGID means mandatory locking, not privilege), as the kernel does for an unprivileged
 * writer of a local file. The backing call ran with our CAP_FSETID, so the source kept them
 * (file capabilities, security.capability, the source drops by itself: that kill does not
 * depend on the writer). 0 or -errno.
 */
export function killSuidgid(fs: Passthrough, node: Node): number {
  const fd = fs.inodes.fd(node);
  if (fd < 0) return fd;
  const r = addon.fstatat(fd, '', AT_EMPTY_PATH, fs.st);
  if (r < 0) return r;
  const mode = Number(fs.st[St.mode]);
  let kept = mode & ~S_ISUID;
  if ((mode & (S_ISGID | S_IXGRP)) === (S_ISGID | S_IXGRP)) kept &= ~S_ISGID;
  return kept === mode ? 0 : addon.chmod(fd, kept & 0o7777);
}

/**
 * FLUSH (each close(2) of the file through the mount): close(dup(fd)), so the backing file's
 * own flush runs and its error reaches the caller's close (NFS reports a failed write-back
 * there; a FUSE source gets its FLUSH), as passthrough_hp and go-fuse do. Nothing is buffered on
 * our side, and locks are the kernel's (FUSE_POSIX_LOCKS is not negotiated), so no lock of ours
 * goes with the dup. The worker threads do the same (addon/write.cc FlushFd); this serves the
 * event loop (no workers). -errno, or nothing.
 */
export function flush(fs: Passthrough, _c: Caller, req: FlushIn): void | number {
  const h = fs.files.get(req.fh);
  if (!h) return -E.EBADF;
  const r = addon.flushFd(h.fd);
  return r < 0 ? r : undefined;
}

/** FSYNC: to the backing fd (fdatasync when the kernel says FUSE_FSYNC_FDATASYNC). */
export function fsync(fs: Passthrough, _c: Caller, req: FsyncIn): void | number {
  const h = fs.files.get(req.fh);
  if (!h) return -E.EBADF;
  const r = addon.fsync(h.fd, req.fsyncFlags & FUSE_FSYNC_FDATASYNC);
  return r < 0 ? r : undefined;
}

/** FALLOCATE: the mode bits (KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE, ...) go to the source as they are. */
export function fallocate(fs: Passthrough, _c: Caller, req: FallocateIn): void | number {
  if (fs.readOnly) return -E.EROFS;
  const h = fs.files.get(req.fh);
  if (!h) return -E.EBADF;
  const r = addon.fallocate(h.fd, req.mode, BigInt.asIntN(64, req.offset), BigInt.asIntN(64, req.length));
  return r < 0 ? r : undefined;
}

/**
 * Most bytes one COPY_FILE_RANGE (or _64) copies: fuse_write_out.size is 32-bit, and the copy runs
 * on the event loop, so a reply counts at most 1 GiB and the caller loops (copy_file_range(2)
 * may always copy less than asked).
 */
const COPY_CHUNK = 1 << 30;

/**
 * COPY_FILE_RANGE and COPY_FILE_RANGE_64 between two open handles: the source's
 * copy_file_range (reflink where it can). Bytes copied, or -errno.
 */
export function copyFileRange(fs: Passthrough, _c: Caller, req: CopyFileRangeIn): { size: number } | number {
  if (fs.readOnly) return -E.EROFS;
  const hin = fs.files.get(req.fhIn);
  const hout = fs.files.get(req.fhOut);
  if (!hin || !hout) return -E.EBADF;
  const len = req.len > BigInt(COPY_CHUNK) ? COPY_CHUNK : Number(req.len);
  const n = addon.copyFileRange(hin.fd, BigInt.asIntN(64, req.offIn), hout.fd, BigInt.asIntN(64, req.offOut), len, Number(req.flags & 0xffffffffn));
  return n < 0 ? n : { size: n };
}

export function release(fs: Passthrough, _c: Caller, req: ReleaseIn): void {
  const h = fs.files.get(req.fh);
  if (!h) return;
  fs.cfg.onFileReleased?.(h); // before its fd closes: no worker may use it after
  fs.files.release(req.fh);
  fs.inodes.unpin(h.node);
}

export function lseek(fs: Passthrough, _c: Caller, req: LseekIn): { offset: bigint } | number {
  const h = fs.files.get(req.fh);
  if (!h) return -E.EBADF;
  const r = addon.lseek(h.fd, BigInt.asIntN(64, req.offset), req.whence, seekOut);
  return r < 0 ? r : { offset: seekOut[0] };
}
