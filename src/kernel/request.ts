// Requests: the in-header and a typed decoder per request body. No I/O happens here: a
// transport reads a request into a buffer, `Request.load` decodes its header in place, and a
// decoder turns the body into a plain object. Handlers never see a buffer offset.
//
// 64-bit fields: values the kernel takes from the source or a caller (offsets, the request's
// unique, directory cookies) are bigint and travel exactly. nodeid and fh are numbers: they are
// the server's own handles, handed out below 2^53, and the kernel only echoes them back (a
// value at or above 2^53 cannot name a live handle, and decodes to one that does not exist).
import {
  FUSE_COMPAT_INIT_IN_SIZE,
  fuse_access_in,
  fuse_batch_forget_in,
  fuse_flush_in,
  fuse_forget_in,
  fuse_forget_one,
  fuse_fsync_in,
  fuse_getattr_in,
  fuse_getxattr_in,
  fuse_in_header,
  fuse_init_in,
  fuse_interrupt_in,
  fuse_lseek_in,
  fuse_open_in,
  fuse_read_in,
  fuse_release_in,
  fuse_statx_in,
  InitFlag,
} from './abi.js';

/** Thrown by a decoder when a request is shorter or stranger than its opcode allows (EINVAL). */
export class MalformedRequest extends Error {
  override name = 'MalformedRequest';
}

const H = fuse_in_header.off;
const HEADER = fuse_in_header.size;
const TWO32 = 2 ** 32;

/** A u64 a server-assigned handle travels in, as a number (exact below 2^53; see the top). */
function handleAt(buf: Buffer, at: number): number {
  const hi = buf.readUInt32LE(at + 4);
  // >= 2^53 can name no handle of ours: map it to one that does not exist rather than round it.
  if (hi >= 0x200000) return -1;
  return buf.readUInt32LE(at) + hi * TWO32;
}

/**
 * One request, decoded in place from the buffer the transport read it into. Reused for every
 * request of its transport: nothing may be kept past the handler's return (copy a name with
 * Buffer.from if it must outlive the request).
 */
export class Request {
  buf: Buffer = Buffer.alloc(0);
  length = 0;
  opcode = 0;
  unique = 0n;
  nodeid = 0;
  uid = 0;
  gid = 0;
  pid = 0;

  /** Decode the header of the `length` bytes at the start of `buf`. */
  load(buf: Buffer, length: number): void {
    if (length < HEADER) throw new MalformedRequest(`request of ${length} bytes`);
    const declared = buf.readUInt32LE(H.len);
    if (declared !== length) throw new MalformedRequest(`header says ${declared} bytes, read ${length}`);
    this.buf = buf;
    this.length = length;
    this.opcode = buf.readUInt32LE(H.opcode);
    this.unique = buf.readBigUInt64LE(H.unique);
    this.nodeid = handleAt(buf, H.nodeid);
    this.uid = buf.readUInt32LE(H.uid);
    this.gid = buf.readUInt32LE(H.gid);
    this.pid = buf.readUInt32LE(H.pid);
  }

  get bodyLength(): number {
    return this.length - HEADER;
  }

  /** Body field readers; `off` is a struct field offset (relative to the start of the body). */
  u32(off: number): number {
    this.need(off + 4);
    return this.buf.readUInt32LE(HEADER + off);
  }
  u64(off: number): bigint {
    this.need(off + 8);
    return this.buf.readBigUInt64LE(HEADER + off);
  }
  /** A u64 that carries one of our handles (nodeid, fh). */
  handle(off: number): number {
    this.need(off + 8);
    return handleAt(this.buf, HEADER + off);
  }
  /** A u64 count (lookups to forget): exact below 2^53, saturated above. */
  count(off: number): number {
    const v = this.u64(off);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }
  /** A NUL-terminated name starting at body offset `off` (a view into buf, raw bytes). */
  name(off: number): Buffer {
    const start = HEADER + off;
    const end = this.buf.indexOf(0, start);
    if (end < 0 || end >= this.length) throw new MalformedRequest('name without NUL');
    if (end === start) throw new MalformedRequest('empty name');
    return this.buf.subarray(start, end);
  }
  /** The NUL-terminated name that follows the one at body offset `off` (RENAME, SYMLINK). */
  nameAfter(first: Buffer): Buffer {
    return this.name(first.byteOffset - this.buf.byteOffset - HEADER + first.length + 1);
  }
  /** `length` raw bytes at body offset `off` (a view into buf: a WRITE payload, an xattr value). */
  bytes(off: number, length: number): Buffer {
    this.need(off + length);
    return this.buf.subarray(HEADER + off, HEADER + off + length);
  }
  private need(end: number): void {
    if (end > this.bodyLength) throw new MalformedRequest(`body of ${this.bodyLength} bytes, need ${end}`);
  }
}

// ---- typed request bodies (one decoder per body struct) ----------------------------------

export interface InitIn {
  major: number;
  minor: number;
  maxReadahead: number;
  /** flags | flags2 << 32 (flags2 only when the kernel set FUSE_INIT_EXT and sent it) */
  flags: bigint;
}
export function decodeInit(r: Request): InitIn {
  const o = fuse_init_in.off;
  const lo = BigInt(r.u32(o.flags));
  const ext = (lo & InitFlag.INIT_EXT) !== 0n && r.bodyLength >= o.flags2 + 4;
  const hi = ext ? BigInt(r.u32(o.flags2)) : 0n;
  return { major: r.u32(o.major), minor: r.u32(o.minor), maxReadahead: r.u32(o.max_readahead), flags: lo | (hi << 32n) };
}
export const INIT_IN_MIN = FUSE_COMPAT_INIT_IN_SIZE;

export interface LookupIn {
  name: Buffer;
}
export function decodeLookup(r: Request): LookupIn {
  return { name: r.name(0) };
}

/** fuse_read_in: READ, READDIR and READDIRPLUS. */
export interface ReadIn {
  fh: number;
  offset: bigint;
  /** bytes asked for */
  size: number;
  readFlags: number;
  lockOwner: bigint;
  /** the open flags of the file (O_*) */
  flags: number;
}
export function decodeRead(r: Request): ReadIn {
  const o = fuse_read_in.off;
  return {
    fh: r.handle(o.fh),
    offset: r.u64(o.offset),
    size: r.u32(o.size),
    readFlags: r.u32(o.read_flags),
    lockOwner: r.u64(o.lock_owner),
    flags: r.u32(o.flags),
  };
}

export interface ForgetOne {
  nodeid: number;
  nlookup: number;
}
export function decodeForget(r: Request): ForgetOne {
  return { nodeid: r.nodeid, nlookup: r.count(fuse_forget_in.off.nlookup) };
}
export function decodeBatchForget(r: Request): ForgetOne[] {
  const count = r.u32(fuse_batch_forget_in.off.count);
  const out: ForgetOne[] = [];
  for (let i = 0; i < count; i++) {
    const base = fuse_batch_forget_in.size + i * fuse_forget_one.size;
    out.push({ nodeid: r.handle(base + fuse_forget_one.off.nodeid), nlookup: r.count(base + fuse_forget_one.off.nlookup) });
  }
  return out;
}

export interface GetattrIn {
  getattrFlags: number;
  fh: number;
}
export function decodeGetattr(r: Request): GetattrIn {
  // Kernels before 7.9 send no body: no flags.
  if (r.bodyLength < fuse_getattr_in.size) return { getattrFlags: 0, fh: 0 };
  const o = fuse_getattr_in.off;
  return { getattrFlags: r.u32(o.getattr_flags), fh: r.handle(o.fh) };
}

export interface OpenIn {
  /** O_* flags of the open(2) */
  flags: number;
  /** FUSE_OPEN_* */
  openFlags: number;
}
export function decodeOpen(r: Request): OpenIn {
  const o = fuse_open_in.off;
  return { flags: r.u32(o.flags), openFlags: r.u32(o.open_flags) };
}

export interface ReleaseIn {
  fh: number;
  flags: number;
  releaseFlags: number;
  lockOwner: bigint;
}
export function decodeRelease(r: Request): ReleaseIn {
  const o = fuse_release_in.off;
  return { fh: r.handle(o.fh), flags: r.u32(o.flags), releaseFlags: r.u32(o.release_flags), lockOwner: r.u64(o.lock_owner) };
}

export interface FlushIn {
  fh: number;
  lockOwner: bigint;
}
export function decodeFlush(r: Request): FlushIn {
  const o = fuse_flush_in.off;
  return { fh: r.handle(o.fh), lockOwner: r.u64(o.lock_owner) };
}

export interface FsyncIn {
  fh: number;
  /** FUSE_FSYNC_FDATASYNC = 1 */
  fsyncFlags: number;
}
export function decodeFsync(r: Request): FsyncIn {
  const o = fuse_fsync_in.off;
  return { fh: r.handle(o.fh), fsyncFlags: r.u32(o.fsync_flags) };
}

export interface GetxattrIn {
  /** room the caller has; 0 asks for the size */
  size: number;
  name: Buffer;
}
export function decodeGetxattr(r: Request): GetxattrIn {
  return { size: r.u32(fuse_getxattr_in.off.size), name: r.name(fuse_getxattr_in.size) };
}
export interface ListxattrIn {
  size: number;
}
export function decodeListxattr(r: Request): ListxattrIn {
  return { size: r.u32(fuse_getxattr_in.off.size) };
}

export interface AccessIn {
  /** R_OK | W_OK | X_OK, or F_OK (0) */
  mask: number;
}
export function decodeAccess(r: Request): AccessIn {
  return { mask: r.u32(fuse_access_in.off.mask) };
}

export interface LseekIn {
  fh: number;
  offset: bigint;
  whence: number;
}
export function decodeLseek(r: Request): LseekIn {
  const o = fuse_lseek_in.off;
  return { fh: r.handle(o.fh), offset: r.u64(o.offset), whence: r.u32(o.whence) };
}

/** fuse_statx_in (7.39): STATX, the statx(2) of a node. */
export interface StatxIn {
  /** FUSE_GETATTR_FH when fh names an open file of the node */
  getattrFlags: number;
  fh: number;
  /** AT_STATX_* sync bits the caller asked for (the kernel sends 0 so far) */
  sxFlags: number;
  /** STATX_* fields wanted */
  sxMask: number;
}
export function decodeStatx(r: Request): StatxIn {
  const o = fuse_statx_in.off;
  return { getattrFlags: r.u32(o.getattr_flags), fh: r.handle(o.fh), sxFlags: r.u32(o.sx_flags), sxMask: r.u32(o.sx_mask) };
}

export interface InterruptIn {
  unique: bigint;
}
export function decodeInterrupt(r: Request): InterruptIn {
  return { unique: r.u64(fuse_interrupt_in.off.unique) };
}

/** Bodies with nothing to decode (GETATTR of old kernels aside: STATFS, READLINK, DESTROY). */
export function decodeNone(_r: Request): Record<string, never> {
  return {};
}

// The bodies of the operations that change the source: request-changes.ts.
export * from './request-changes.js';
