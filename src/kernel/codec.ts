// Decode FUSE requests and encode replies over reused buffers. No I/O happens here: the session
// reads a request into `Request.buf` and writes `Reply.buf` out; this module only knows the
// layouts (abi.ts). Handlers get typed values from the decoders, never raw offsets.
import { Size, PAGE_SIZE } from './abi.js';
import type { StatArray } from '../passthrough/stat.js';

const TWO32 = 2 ** 32;

/** Thrown by a decoder when a request is shorter or stranger than its opcode allows. */
export class MalformedRequest extends Error {
  override name = 'MalformedRequest';
}

export function readU64(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off) + buf.readUInt32LE(off + 4) * TWO32;
}
export function writeU64(buf: Buffer, off: number, v: number): void {
  buf.writeUInt32LE(v >>> 0, off);
  buf.writeUInt32LE(Math.floor(v / TWO32) >>> 0, off + 4);
}
/** Signed 64-bit (times before 1970 are negative). */
export function writeI64(buf: Buffer, off: number, v: number): void {
  if (v >= 0) writeU64(buf, off, v);
  else buf.writeBigInt64LE(BigInt(Math.trunc(v)), off);
}
export function align8(n: number): number {
  return (n + 7) & ~7;
}

/**
 * One request, decoded in place from the buffer the device was read into. The object and its
 * buffer are reused for every request: nothing here may be kept past the handler's return
 * (copy a name with Buffer.from if it must outlive the request).
 */
export class Request {
  readonly buf: Buffer;
  length = 0;
  opcode = 0;
  unique = 0;
  nodeid = 0;
  uid = 0;
  gid = 0;
  pid = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Decode the header of the `length` bytes now in buf. */
  load(length: number): void {
    if (length < Size.inHeader) throw new MalformedRequest(`request of ${length} bytes`);
    const b = this.buf;
    const declared = b.readUInt32LE(0);
    if (declared !== length) throw new MalformedRequest(`header says ${declared} bytes, read ${length}`);
    this.length = length;
    this.opcode = b.readUInt32LE(4);
    this.unique = readU64(b, 8);
    this.nodeid = readU64(b, 16);
    this.uid = b.readUInt32LE(24);
    this.gid = b.readUInt32LE(28);
    this.pid = b.readUInt32LE(32);
  }

  get bodyLength(): number {
    return this.length - Size.inHeader;
  }

  /** Body field readers; `off` is relative to the start of the body. */
  u32(off: number): number {
    this.need(off + 4);
    return this.buf.readUInt32LE(Size.inHeader + off);
  }
  u64(off: number): number {
    this.need(off + 8);
    return readU64(this.buf, Size.inHeader + off);
  }
  /** A NUL-terminated name starting at body offset `off` (a view into buf, raw bytes). */
  name(off: number): Buffer {
    const start = Size.inHeader + off;
    const end = this.buf.indexOf(0, start);
    if (end < 0 || end >= this.length) throw new MalformedRequest('name without NUL');
    if (end === start) throw new MalformedRequest('empty name');
    return this.buf.subarray(start, end);
  }
  private need(end: number): void {
    if (end > this.bodyLength) throw new MalformedRequest(`body of ${this.bodyLength} bytes, need ${end}`);
  }
}

// ---- typed request bodies ---------------------------------------------------------------

export interface InitIn {
  major: number;
  minor: number;
  maxReadahead: number;
  /** flags | flags2 << 32 when the kernel sent FUSE_INIT_EXT */
  flags: number;
}
export function decodeInit(r: Request): InitIn {
  const major = r.u32(0);
  const minor = r.u32(4);
  const maxReadahead = r.u32(8);
  const lo = r.u32(12);
  let flags = lo;
  // flags2 follows (7.36+) when the kernel set FUSE_INIT_EXT (bit 30) in flags.
  if (lo & (1 << 30) && r.bodyLength >= 20) flags = lo + r.u32(16) * TWO32;
  return { major, minor, maxReadahead, flags };
}

/** fuse_read_in: READ and READDIR(PLUS). Reused object: READ is the hot path. */
export interface ReadIn {
  fh: number;
  offset: number;
  size: number;
  flags: number;
}
const readIn: ReadIn = { fh: 0, offset: 0, size: 0, flags: 0 };
export function decodeRead(r: Request): ReadIn {
  readIn.fh = r.u64(0);
  readIn.offset = r.u64(8);
  readIn.size = r.u32(16);
  readIn.flags = r.u32(32);
  return readIn;
}

export function decodeForget(r: Request): number {
  return r.u64(0);
}
export function* decodeBatchForget(r: Request): Generator<{ nodeid: number; nlookup: number }> {
  const count = r.u32(0);
  for (let i = 0; i < count; i++) {
    const base = Size.batchForgetIn + i * Size.forgetOne;
    yield { nodeid: r.u64(base), nlookup: r.u64(base + 8) };
  }
}
export function decodeGetattr(r: Request): { flags: number; fh: number } {
  // Old kernels (< 7.9) send no body; treat as no flags.
  if (r.bodyLength < Size.getattrIn) return { flags: 0, fh: 0 };
  return { flags: r.u32(0), fh: r.u64(8) };
}
export function decodeOpen(r: Request): { flags: number } {
  return { flags: r.u32(0) };
}
export function decodeRelease(r: Request): { fh: number } {
  return { fh: r.u64(0) };
}
export function decodeGetxattr(r: Request): { size: number; name: Buffer } {
  return { size: r.u32(0), name: r.name(Size.getxattrIn) };
}
export function decodeListxattr(r: Request): { size: number } {
  return { size: r.u32(0) };
}
export function decodeAccess(r: Request): { mask: number } {
  return { mask: r.u32(0) };
}
export function decodeLseek(r: Request): { fh: number; offset: number; whence: number } {
  return { fh: r.u64(0), offset: r.u64(8), whence: r.u32(16) };
}
export function decodeInterrupt(r: Request): { unique: number } {
  return { unique: r.u64(0) };
}

// ---- replies ----------------------------------------------------------------------------

/**
 * The reply buffer. Encoders write the body after the 16-byte header; `finish` writes the
 * header last, with the real length, so no handler ever computes it.
 */
export class Reply {
  readonly buf: Buffer;
  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }
  /** Header for a reply whose body occupies buf[16, end). Returns the total length. */
  finish(unique: number, end: number): number {
    const b = this.buf;
    b.writeUInt32LE(end, 0);
    b.writeInt32LE(0, 4);
    writeU64(b, 8, unique);
    return end;
  }
  /** A header-only reply carrying -errno. */
  error(unique: number, errno: number): number {
    const b = this.buf;
    b.writeUInt32LE(Size.outHeader, 0);
    b.writeInt32LE(-Math.abs(errno), 4);
    writeU64(b, 8, unique);
    return Size.outHeader;
  }
  /** Zero `n` body bytes from `off` (structs with unused fields). */
  zero(off: number, n: number): void {
    this.buf.fill(0, off, off + n);
  }
}

export const BODY = Size.outHeader;

export interface InitOut {
  minor: number;
  maxReadahead: number;
  flags: number;
  maxBackground: number;
  congestionThreshold: number;
  maxWrite: number;
  timeGran: number;
  maxPages: number;
}
export function encodeInit(rep: Reply, o: InitOut): number {
  const b = rep.buf;
  const at = BODY;
  rep.zero(at, Size.initOut);
  b.writeUInt32LE(7, at);
  b.writeUInt32LE(o.minor, at + 4);
  b.writeUInt32LE(o.maxReadahead, at + 8);
  b.writeUInt32LE(o.flags % TWO32, at + 12);
  b.writeUInt16LE(o.maxBackground, at + 16);
  b.writeUInt16LE(o.congestionThreshold, at + 18);
  b.writeUInt32LE(o.maxWrite, at + 20);
  b.writeUInt32LE(o.timeGran, at + 24);
  b.writeUInt16LE(o.maxPages, at + 28);
  b.writeUInt16LE(0, at + 30); // map_alignment
  b.writeUInt32LE(Math.floor(o.flags / TWO32), at + 32); // flags2
  return at + Size.initOut;
}

/** fuse_attr from a stat array (see passthrough/stat.ts). */
export function encodeAttr(b: Buffer, at: number, st: StatArray): void {
  writeU64(b, at, st[1]); // ino: the source's, so hard links and stat agree through the mount
  writeU64(b, at + 8, st[7]);
  writeU64(b, at + 16, st[9]);
  writeI64(b, at + 24, st[10]);
  writeI64(b, at + 32, st[12]);
  writeI64(b, at + 40, st[14]);
  b.writeUInt32LE(st[11], at + 48);
  b.writeUInt32LE(st[13], at + 52);
  b.writeUInt32LE(st[15], at + 56);
  b.writeUInt32LE(st[2], at + 60);
  b.writeUInt32LE(st[3] >>> 0, at + 64);
  b.writeUInt32LE(st[4], at + 68);
  b.writeUInt32LE(st[5], at + 72);
  b.writeUInt32LE(st[6] % TWO32, at + 76); // new_encode_dev form = low 32 bits of glibc's dev_t
  b.writeUInt32LE(st[8], at + 80);
  b.writeUInt32LE(0, at + 84);
}

/** Split a timeout in seconds into (seconds, nanoseconds). */
function splitTime(t: number): [number, number] {
  const s = Math.floor(t);
  return [s, Math.round((t - s) * 1e9)];
}

/** fuse_entry_out at `at`; returns the end offset. */
export function encodeEntry(
  b: Buffer,
  at: number,
  nodeid: number,
  generation: number,
  entryTimeout: number,
  attrTimeout: number,
  st: StatArray,
): number {
  const [es, ens] = splitTime(entryTimeout);
  const [as, ans] = splitTime(attrTimeout);
  writeU64(b, at, nodeid);
  writeU64(b, at + 8, generation);
  writeU64(b, at + 16, es);
  writeU64(b, at + 24, as);
  b.writeUInt32LE(ens, at + 32);
  b.writeUInt32LE(ans, at + 36);
  encodeAttr(b, at + 40, st);
  return at + Size.entryOut;
}

/** fuse_attr_out at the body start; returns the end offset. */
export function encodeAttrOut(rep: Reply, attrTimeout: number, st: StatArray): number {
  const b = rep.buf;
  const [s, ns] = splitTime(attrTimeout);
  writeU64(b, BODY, s);
  b.writeUInt32LE(ns, BODY + 8);
  b.writeUInt32LE(0, BODY + 12);
  encodeAttr(b, BODY + 16, st);
  return BODY + Size.attrOut;
}

export function encodeOpen(rep: Reply, fh: number, openFlags: number): number {
  const b = rep.buf;
  writeU64(b, BODY, fh);
  b.writeUInt32LE(openFlags, BODY + 8);
  b.writeInt32LE(0, BODY + 12);
  return BODY + Size.openOut;
}

/** fuse_kstatfs from a statvfs array: bsize, frsize, blocks, bfree, bavail, files, ffree, namemax. */
export function encodeStatfs(rep: Reply, s: Float64Array): number {
  const b = rep.buf;
  rep.zero(BODY, Size.statfsOut);
  writeU64(b, BODY, s[2]);
  writeU64(b, BODY + 8, s[3]);
  writeU64(b, BODY + 16, s[4]);
  writeU64(b, BODY + 24, s[5]);
  writeU64(b, BODY + 32, s[6]);
  b.writeUInt32LE(s[0], BODY + 40);
  b.writeUInt32LE(s[7], BODY + 44);
  b.writeUInt32LE(s[1], BODY + 48);
  return BODY + Size.statfsOut;
}

/** fuse_getxattr_out: the size a value or list needs (reply to a size-0 query). */
export function encodeXattrSize(rep: Reply, size: number): number {
  rep.buf.writeUInt32LE(size, BODY);
  rep.buf.writeUInt32LE(0, BODY + 4);
  return BODY + Size.getxattrOut;
}

export function encodeLseek(rep: Reply, offset: number): number {
  writeU64(rep.buf, BODY, offset);
  return BODY + Size.lseekOut;
}

/** Bytes a fuse_dirent with this name takes (8-byte aligned). */
export function direntSize(nameLength: number): number {
  return align8(Size.direntHeader + nameLength);
}
/** fuse_dirent at `at`; returns the end offset (padding zeroed). */
export function encodeDirent(b: Buffer, at: number, ino: number, next: number, type: number, name: Buffer): number {
  writeU64(b, at, ino);
  writeU64(b, at + 8, next);
  b.writeUInt32LE(name.length, at + 16);
  b.writeUInt32LE(type, at + 20);
  name.copy(b, at + Size.direntHeader);
  const end = at + direntSize(name.length);
  b.fill(0, at + Size.direntHeader + name.length, end);
  return end;
}

/** Smallest request buffer the kernel accepts for a given max_write (plus headers). */
export function requestBufferSize(maxWrite: number): number {
  return Math.max(maxWrite, 65536 + PAGE_SIZE) + 2 * PAGE_SIZE;
}
