// Replies: the reply buffer and one encoder per reply body. Encoders take typed values and write
// the body behind the 16-byte out-header; `Reply.finish` writes the header last, with the real
// length, so no handler ever computes a length or an offset. No I/O happens here.
import {
  fuse_attr,
  fuse_attr_out,
  fuse_dirent,
  fuse_entry_out,
  fuse_getxattr_out,
  fuse_init_out,
  fuse_kstatfs,
  fuse_lseek_out,
  fuse_open_out,
  fuse_out_header,
  fuse_statx,
  fuse_statx_out,
  fuse_sx_time,
  fuse_write_out,
  FUSE_KERNEL_VERSION,
} from './abi.js';

/** Where a reply body starts: right after fuse_out_header. */
export const BODY = fuse_out_header.size;
const OH = fuse_out_header.off;

/**
 * The reply buffer. Encoders write the body at BODY; `finish` then writes the header with the
 * real length. A handler returns the end offset an encoder gave it, never a length of its own.
 */
export class Reply {
  readonly buf: Buffer;
  constructor(size: number) {
    this.buf = Buffer.alloc(size);
  }
  /** Header for a reply whose body occupies buf[BODY, end). Returns the total length. */
  finish(unique: bigint, end: number): number {
    const b = this.buf;
    b.writeUInt32LE(end, OH.len);
    b.writeInt32LE(0, OH.error);
    b.writeBigUInt64LE(unique, OH.unique);
    return end;
  }
  /** A header-only reply carrying -errno (errno given either sign). Returns its length. */
  error(unique: bigint, errno: number): number {
    const b = this.buf;
    b.writeUInt32LE(fuse_out_header.size, OH.len);
    b.writeInt32LE(-Math.abs(errno), OH.error);
    b.writeBigUInt64LE(unique, OH.unique);
    return fuse_out_header.size;
  }
  /** Room for a body: bytes from BODY to the end of the buffer. */
  get room(): number {
    return this.buf.length - BODY;
  }
}

/** Seconds as (whole seconds, nanoseconds), for the *_valid pairs. */
function splitTime(t: number): [bigint, number] {
  const s = Math.floor(t);
  return [BigInt(s), Math.round((t - s) * 1e9)];
}

// The encoders a listing runs per entry (fuse_entry_out, fuse_attr, fuse_dirent: twelve 64-bit
// fields) write through a DataView: Buffer.writeBigUInt64LE costs some 85 ns a field (range
// checks and two BigInt shifts), setBigUint64 about 10, and a number needs no BigInt at all.
// One view, for the buffer written last: a server writes its replies into one buffer.
let viewBuf: Buffer | null = null;
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));
function viewOf(b: Buffer): DataView {
  if (b !== viewBuf) {
    viewBuf = b;
    view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  return view;
}
const TWO_32 = 2 ** 32;
/** A u64 field from a non-negative integer below 2^53 (nodeids, fhs, seconds): no BigInt made. */
function setU64(v: DataView, at: number, n: number): void {
  v.setUint32(at, n >>> 0, true);
  v.setUint32(at + 4, (n / TWO_32) >>> 0, true);
}
/** A *_valid pair: whole seconds (u64) at `at`, nanoseconds (u32) at `nsecAt`. */
function setValid(v: DataView, at: number, nsecAt: number, t: number): void {
  const s = Math.floor(t);
  setU64(v, at, s);
  v.setUint32(nsecAt, Math.round((t - s) * 1e9), true);
}

/** fuse_attr: what stat says, with the inode number callers see through the mount. */
export interface Attr {
  ino: bigint;
  size: bigint;
  blocks: bigint;
  /** seconds since the epoch, signed (raw 64 bits) */
  atime: bigint;
  mtime: bigint;
  ctime: bigint;
  atimensec: number;
  mtimensec: number;
  ctimensec: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  /** new_encode_dev form: the low 32 bits of glibc's dev_t */
  rdev: number;
  blksize: number;
}

/** fuse_attr at `at`. setBigUint64 stores a signed time's two's complement bits, as asUintN would. */
export function encodeAttr(b: Buffer, at: number, a: Attr): void {
  const o = fuse_attr.off;
  const v = viewOf(b);
  v.setBigUint64(at + o.ino, a.ino, true);
  v.setBigUint64(at + o.size, a.size, true);
  v.setBigUint64(at + o.blocks, a.blocks, true);
  v.setBigInt64(at + o.atime, a.atime, true);
  v.setBigInt64(at + o.mtime, a.mtime, true);
  v.setBigInt64(at + o.ctime, a.ctime, true);
  v.setUint32(at + o.atimensec, a.atimensec, true);
  v.setUint32(at + o.mtimensec, a.mtimensec, true);
  v.setUint32(at + o.ctimensec, a.ctimensec, true);
  v.setUint32(at + o.mode, a.mode, true);
  v.setUint32(at + o.nlink, a.nlink >>> 0, true);
  v.setUint32(at + o.uid, a.uid, true);
  v.setUint32(at + o.gid, a.gid, true);
  v.setUint32(at + o.rdev, a.rdev >>> 0, true);
  v.setUint32(at + o.blksize, a.blksize, true);
  v.setUint32(at + o.flags, 0, true);
}

/** fuse_entry_out: a node handed to the kernel (one lookup), with cache timeouts in seconds. */
export interface EntryOut {
  /** 0 = a negative or uninstantiated entry (no lookup counted) */
  nodeid: number;
  generation: number;
  entryValid: number;
  attrValid: number;
  attr: Attr;
}

/** fuse_entry_out at `at`; returns the end offset. */
export function encodeEntryAt(b: Buffer, at: number, e: EntryOut): number {
  const o = fuse_entry_out.off;
  const v = viewOf(b);
  setU64(v, at + o.nodeid, e.nodeid);
  setU64(v, at + o.generation, e.generation);
  setValid(v, at + o.entry_valid, at + o.entry_valid_nsec, e.entryValid);
  setValid(v, at + o.attr_valid, at + o.attr_valid_nsec, e.attrValid);
  encodeAttr(b, at + o.attr, e.attr);
  return at + fuse_entry_out.size;
}
export function encodeEntry(rep: Reply, e: EntryOut): number {
  return encodeEntryAt(rep.buf, BODY, e);
}

export interface AttrOut {
  attrValid: number;
  attr: Attr;
}
export function encodeAttrOut(rep: Reply, a: AttrOut): number {
  const b = rep.buf;
  const o = fuse_attr_out.off;
  const [s, ns] = splitTime(a.attrValid);
  b.writeBigUInt64LE(s, BODY + o.attr_valid);
  b.writeUInt32LE(ns, BODY + o.attr_valid_nsec);
  b.writeUInt32LE(0, BODY + o.dummy);
  encodeAttr(b, BODY + o.attr, a.attr);
  return BODY + fuse_attr_out.size;
}

/** A statx timestamp: seconds since the epoch (signed) and nanoseconds. */
export interface SxTime {
  sec: bigint;
  nsec: number;
}

/** fuse_statx (7.39): what statx(2) says, with the inode number callers see through the mount. */
export interface Statx {
  /** STATX_* bits of the fields that hold values; the others are sent as zero */
  mask: number;
  blksize: number;
  /** STATX_ATTR_* bits set, and the bits the source can report at all */
  attributes: bigint;
  attributesMask: bigint;
  nlink: number;
  uid: number;
  gid: number;
  /** type and permission bits (16 bits, as in struct statx) */
  mode: number;
  ino: bigint;
  size: bigint;
  blocks: bigint;
  atime: SxTime;
  btime: SxTime;
  ctime: SxTime;
  mtime: SxTime;
  rdevMajor: number;
  rdevMinor: number;
  devMajor: number;
  devMinor: number;
}

/** fuse_statx_out: a Statx and its cache timeout in seconds. */
export interface StatxOut {
  attrValid: number;
  stat: Statx;
}

function encodeSxTime(b: Buffer, at: number, t: SxTime): void {
  const o = fuse_sx_time.off;
  b.writeBigUInt64LE(BigInt.asUintN(64, t.sec), at + o.tv_sec);
  b.writeUInt32LE(t.nsec, at + o.tv_nsec);
  b.writeInt32LE(0, at + o.__reserved);
}

/** STATX reply body; spare and reserved fields are zero. */
export function encodeStatxOut(rep: Reply, v: StatxOut): number {
  const b = rep.buf;
  const o = fuse_statx_out.off;
  b.fill(0, BODY, BODY + fuse_statx_out.size);
  const [s, ns] = splitTime(v.attrValid);
  b.writeBigUInt64LE(s, BODY + o.attr_valid);
  b.writeUInt32LE(ns, BODY + o.attr_valid_nsec);
  const at = BODY + o.stat;
  const x = fuse_statx.off;
  const st = v.stat;
  b.writeUInt32LE(st.mask, at + x.mask);
  b.writeUInt32LE(st.blksize, at + x.blksize);
  b.writeBigUInt64LE(st.attributes, at + x.attributes);
  b.writeUInt32LE(st.nlink >>> 0, at + x.nlink);
  b.writeUInt32LE(st.uid, at + x.uid);
  b.writeUInt32LE(st.gid, at + x.gid);
  b.writeUInt16LE(st.mode & 0xffff, at + x.mode);
  b.writeBigUInt64LE(st.ino, at + x.ino);
  b.writeBigUInt64LE(st.size, at + x.size);
  b.writeBigUInt64LE(st.blocks, at + x.blocks);
  b.writeBigUInt64LE(st.attributesMask, at + x.attributes_mask);
  encodeSxTime(b, at + x.atime, st.atime);
  encodeSxTime(b, at + x.btime, st.btime);
  encodeSxTime(b, at + x.ctime, st.ctime);
  encodeSxTime(b, at + x.mtime, st.mtime);
  b.writeUInt32LE(st.rdevMajor, at + x.rdev_major);
  b.writeUInt32LE(st.rdevMinor, at + x.rdev_minor);
  b.writeUInt32LE(st.devMajor, at + x.dev_major);
  b.writeUInt32LE(st.devMinor, at + x.dev_minor);
  return BODY + fuse_statx_out.size;
}

export interface OpenOut {
  fh: number;
  /** FOPEN_* */
  openFlags: number;
  /** FOPEN_PASSTHROUGH's backing id (7.40); 0 otherwise */
  backingId?: number;
}
export function encodeOpen(rep: Reply, o: OpenOut): number {
  const b = rep.buf;
  const f = fuse_open_out.off;
  b.writeBigUInt64LE(BigInt(o.fh), BODY + f.fh);
  b.writeUInt32LE(o.openFlags, BODY + f.open_flags);
  b.writeInt32LE(o.backingId ?? 0, BODY + f.backing_id);
  return BODY + fuse_open_out.size;
}

export interface InitOut {
  minor: number;
  maxReadahead: number;
  flags: bigint;
  maxBackground: number;
  congestionThreshold: number;
  maxWrite: number;
  /** nanoseconds; 1 = the server's timestamps are exact */
  timeGran: number;
  maxPages: number;
  /**
   * 7.40: how deep stacked the backing files of passthrough opens may be (1: plain filesystems
   * only); must be >= 1 for the kernel to turn FUSE_PASSTHROUGH on, 0 without it.
   */
  maxStackDepth?: number;
}
export function encodeInit(rep: Reply, o: InitOut): number {
  const b = rep.buf;
  const f = fuse_init_out.off;
  b.fill(0, BODY, BODY + fuse_init_out.size);
  b.writeUInt32LE(FUSE_KERNEL_VERSION, BODY + f.major);
  b.writeUInt32LE(o.minor, BODY + f.minor);
  b.writeUInt32LE(o.maxReadahead, BODY + f.max_readahead);
  b.writeUInt32LE(Number(o.flags & 0xffffffffn), BODY + f.flags);
  b.writeUInt16LE(o.maxBackground, BODY + f.max_background);
  b.writeUInt16LE(o.congestionThreshold, BODY + f.congestion_threshold);
  b.writeUInt32LE(o.maxWrite, BODY + f.max_write);
  b.writeUInt32LE(o.timeGran, BODY + f.time_gran);
  b.writeUInt16LE(o.maxPages, BODY + f.max_pages);
  b.writeUInt32LE(Number((o.flags >> 32n) & 0xffffffffn), BODY + f.flags2);
  b.writeUInt32LE(o.maxStackDepth ?? 0, BODY + f.max_stack_depth);
  return BODY + fuse_init_out.size;
}

/** fuse_kstatfs: what statvfs says of the source's filesystem. */
export interface Kstatfs {
  blocks: bigint;
  bfree: bigint;
  bavail: bigint;
  files: bigint;
  ffree: bigint;
  bsize: number;
  namelen: number;
  frsize: number;
}
export function encodeStatfs(rep: Reply, s: Kstatfs): number {
  const b = rep.buf;
  const o = fuse_kstatfs.off;
  b.fill(0, BODY, BODY + fuse_kstatfs.size);
  b.writeBigUInt64LE(s.blocks, BODY + o.blocks);
  b.writeBigUInt64LE(s.bfree, BODY + o.bfree);
  b.writeBigUInt64LE(s.bavail, BODY + o.bavail);
  b.writeBigUInt64LE(s.files, BODY + o.files);
  b.writeBigUInt64LE(s.ffree, BODY + o.ffree);
  b.writeUInt32LE(s.bsize, BODY + o.bsize);
  b.writeUInt32LE(s.namelen, BODY + o.namelen);
  b.writeUInt32LE(s.frsize, BODY + o.frsize);
  return BODY + fuse_kstatfs.size;
}

/** CREATE and TMPFILE: fuse_entry_out of the new node, then fuse_open_out of its handle. */
export interface CreateOut {
  entry: EntryOut;
  open: OpenOut;
}
export function encodeCreate(rep: Reply, c: CreateOut): number {
  const b = rep.buf;
  const at = encodeEntryAt(b, BODY, c.entry);
  const f = fuse_open_out.off;
  b.writeBigUInt64LE(BigInt(c.open.fh), at + f.fh);
  b.writeUInt32LE(c.open.openFlags, at + f.open_flags);
  b.writeInt32LE(c.open.backingId ?? 0, at + f.backing_id);
  return at + fuse_open_out.size;
}

/** fuse_write_out: bytes written (WRITE) or copied (COPY_FILE_RANGE). */
export function encodeWriteOut(rep: Reply, o: { size: number }): number {
  rep.buf.writeUInt32LE(o.size, BODY + fuse_write_out.off.size);
  rep.buf.writeUInt32LE(0, BODY + fuse_write_out.off.padding);
  return BODY + fuse_write_out.size;
}

/**
 * The reply of COPY_FILE_RANGE_64: struct fuse_copy_file_range_out { uint64_t bytes_copied; }
 * (protocol 7.45, libfuse's include/fuse_kernel.h; past the minor splicefs speaks, so it is not
 * among abi.ts's structs, but the kernel sends the opcode whatever INIT agreed).
 */
export function encodeCopyFileRangeOut(rep: Reply, o: { size: number }): number {
  rep.buf.writeBigUInt64LE(BigInt(o.size), BODY);
  return BODY + 8;
}

/** fuse_getxattr_out: the size a value or name list needs (the answer to a size-0 query). */
export function encodeXattrSize(rep: Reply, size: number): number {
  rep.buf.writeUInt32LE(size, BODY + fuse_getxattr_out.off.size);
  rep.buf.writeUInt32LE(0, BODY + fuse_getxattr_out.off.padding);
  return BODY + fuse_getxattr_out.size;
}

export function encodeLseek(rep: Reply, o: { offset: bigint }): number {
  rep.buf.writeBigUInt64LE(BigInt.asUintN(64, o.offset), BODY + fuse_lseek_out.off.offset);
  return BODY + fuse_lseek_out.size;
}

/** Raw bytes as the body (READLINK's target, an xattr value or name list). */
export function encodeBytes(rep: Reply, data: Uint8Array): number {
  rep.buf.set(data, BODY);
  return BODY + data.length;
}

/** A reply with no body (FLUSH, RELEASE, ACCESS, ...). */
export function encodeEmpty(_rep: Reply, _v?: unknown): number {
  return BODY;
}

/** One directory entry; `off` is the cookie the kernel sends back to continue after it. */
export interface Dirent {
  ino: bigint;
  off: bigint;
  /** DT_* (the file type bits of st_mode >> 12) */
  type: number;
  name: Buffer;
}

/** Bytes a fuse_dirent with a name of this length takes (8-byte aligned). */
export function direntSize(nameLength: number): number {
  return (fuse_dirent.size + nameLength + 7) & ~7;
}
/** Bytes a fuse_direntplus (entry_out + dirent) with a name of this length takes. */
export function direntplusSize(nameLength: number): number {
  return fuse_entry_out.size + direntSize(nameLength);
}

/** fuse_dirent at `at`; returns the end offset (padding zeroed). */
export function encodeDirentAt(b: Buffer, at: number, d: Dirent): number {
  const o = fuse_dirent.off;
  const v = viewOf(b);
  v.setBigUint64(at + o.ino, d.ino, true);
  v.setBigUint64(at + o.off, d.off, true);
  v.setUint32(at + o.namelen, d.name.length, true);
  v.setUint32(at + o.type, d.type, true);
  b.set(d.name, at + fuse_dirent.size);
  const end = at + direntSize(d.name.length);
  for (let p = at + fuse_dirent.size + d.name.length; p < end; p++) b[p] = 0; // padding: at most 7 bytes
  return end;
}

/** A READDIR(PLUS) page: entries in order; `entry` present in plus mode. */
export interface DirPage {
  entries: Array<Dirent & { entry?: EntryOut }>;
}
/** READDIR or READDIRPLUS reply body from a page the handler sized to fit. */
export function encodeDirPage(rep: Reply, page: DirPage): number {
  let at = BODY;
  for (const e of page.entries) {
    if (e.entry) at = encodeEntryAt(rep.buf, at, e.entry);
    at = encodeDirentAt(rep.buf, at, e);
  }
  return at;
}

/** Smallest request buffer the kernel accepts for a given max_write: FUSE_MIN_READ_BUFFER (8 KiB) or max_write plus a page of headers, with room to spare. */
export function requestBufferSize(maxWrite: number): number {
  return Math.max(maxWrite, 65536 + 4096) + 2 * 4096;
}
