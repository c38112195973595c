// Typed decoders of the request bodies of the operations that change the source (SETATTR,
// MKNOD, MKDIR, CREATE, TMPFILE, SYMLINK, UNLINK, RMDIR, RENAME, RENAME2, LINK, WRITE, SETXATTR,
// REMOVEXATTR, FALLOCATE, COPY_FILE_RANGE). The Request class and the other decoders are in
// request.ts, which re-exports these. Field layouts: abi.ts (checked against linux/fuse.h).
import {
  FUSE_COMPAT_SETXATTR_IN_SIZE,
  fuse_copy_file_range_in,
  fuse_create_in,
  fuse_fallocate_in,
  fuse_link_in,
  fuse_mkdir_in,
  fuse_mknod_in,
  fuse_rename2_in,
  fuse_rename_in,
  fuse_setattr_in,
  fuse_setxattr_in,
  fuse_write_in,
} from './abi.js';
import type { Request } from './request.js';

/** FATTR_* bits of fuse_setattr_in.valid (linux/fuse.h): which fields a SETATTR sets. */
export const FATTR = {
  MODE: 1 << 0,
  UID: 1 << 1,
  GID: 1 << 2,
  SIZE: 1 << 3,
  ATIME: 1 << 4,
  MTIME: 1 << 5,
  FH: 1 << 6,
  ATIME_NOW: 1 << 7,
  MTIME_NOW: 1 << 8,
  LOCKOWNER: 1 << 9,
  CTIME: 1 << 10,
  KILL_SUIDGID: 1 << 11,
} as const;

export interface SetattrIn {
  /** FATTR_* */
  valid: number;
  /** the open handle the change came through (valid & FATTR_FH) */
  fh: number;
  size: bigint;
  /** seconds since the epoch (signed) and nanoseconds */
  atime: bigint;
  atimensec: number;
  mtime: bigint;
  mtimensec: number;
  mode: number;
  uid: number;
  gid: number;
}
export function decodeSetattr(r: Request): SetattrIn {
  const o = fuse_setattr_in.off;
  return {
    valid: r.u32(o.valid),
    fh: r.handle(o.fh),
    size: r.u64(o.size),
    atime: BigInt.asIntN(64, r.u64(o.atime)),
    atimensec: r.u32(o.atimensec),
    mtime: BigInt.asIntN(64, r.u64(o.mtime)),
    mtimensec: r.u32(o.mtimensec),
    mode: r.u32(o.mode),
    uid: r.u32(o.uid),
    gid: r.u32(o.gid),
  };
}

/** MKNOD, MKDIR, CREATE and TMPFILE: what to make. rdev: new_encode_dev form (MKNOD only). */
export interface MakeIn {
  name: Buffer;
  mode: number;
  /** the caller's umask, to apply as the source would (FUSE_DONT_MASK) */
  umask: number;
  rdev: number;
}
export function decodeMknod(r: Request): MakeIn {
  const o = fuse_mknod_in.off;
  return { mode: r.u32(o.mode), rdev: r.u32(o.rdev), umask: r.u32(o.umask), name: r.name(fuse_mknod_in.size) };
}
export function decodeMkdir(r: Request): MakeIn {
  const o = fuse_mkdir_in.off;
  return { mode: r.u32(o.mode), umask: r.u32(o.umask), rdev: 0, name: r.name(fuse_mkdir_in.size) };
}

export interface CreateIn extends MakeIn {
  /** O_* flags of the open(2) */
  flags: number;
  /** FUSE_OPEN_* */
  openFlags: number;
}
export function decodeCreate(r: Request): CreateIn {
  const o = fuse_create_in.off;
  return {
    flags: r.u32(o.flags),
    mode: r.u32(o.mode),
    umask: r.u32(o.umask),
    openFlags: r.u32(o.open_flags),
    rdev: 0,
    name: r.name(fuse_create_in.size),
  };
}

export interface SymlinkIn {
  name: Buffer;
  /** the link's target, raw bytes */
  target: Buffer;
}
export function decodeSymlink(r: Request): SymlinkIn {
  // The body is the new name, then the target, each NUL-terminated.
  const name = r.name(0);
  return { name, target: r.nameAfter(name) };
}

/** UNLINK, RMDIR, REMOVEXATTR: a name. */
export interface NameIn {
  name: Buffer;
}
export function decodeName(r: Request): NameIn {
  return { name: r.name(0) };
}

/** RENAME and RENAME2 (flags 0 for RENAME). */
export interface RenameIn {
  newdir: number;
  /** RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT */
  flags: number;
  oldName: Buffer;
  newName: Buffer;
}
export function decodeRename(r: Request): RenameIn {
  const oldName = r.name(fuse_rename_in.size);
  return { newdir: r.handle(fuse_rename_in.off.newdir), flags: 0, oldName, newName: r.nameAfter(oldName) };
}
export function decodeRename2(r: Request): RenameIn {
  const oldName = r.name(fuse_rename2_in.size);
  const o = fuse_rename2_in.off;
  return { newdir: r.handle(o.newdir), flags: r.u32(o.flags), oldName, newName: r.nameAfter(oldName) };
}

export interface LinkIn {
  oldnodeid: number;
  newName: Buffer;
}
export function decodeLink(r: Request): LinkIn {
  return { oldnodeid: r.handle(fuse_link_in.off.oldnodeid), newName: r.name(fuse_link_in.size) };
}

/** FUSE_WRITE_* bits of fuse_write_in.write_flags. */
export const FUSE_WRITE_CACHE = 1 << 0;
export const FUSE_WRITE_LOCKOWNER = 1 << 1;
export const FUSE_WRITE_KILL_SUIDGID = 1 << 2;

export interface WriteIn {
  fh: number;
  offset: bigint;
  /** FUSE_WRITE_* */
  writeFlags: number;
  /** the open flags of the file (O_*) */
  flags: number;
  /** the payload: a view into the request buffer (valid until the handler returns) */
  data: Buffer;
}
export function decodeWrite(r: Request): WriteIn {
  const o = fuse_write_in.off;
  const size = r.u32(o.size);
  return {
    fh: r.handle(o.fh),
    offset: r.u64(o.offset),
    writeFlags: r.u32(o.write_flags),
    flags: r.u32(o.flags),
    data: r.bytes(fuse_write_in.size, size),
  };
}

export interface SetxattrIn {
  name: Buffer;
  value: Buffer;
  /** XATTR_CREATE / XATTR_REPLACE */
  flags: number;
}
export function decodeSetxattr(r: Request): SetxattrIn {
  // FUSE_SETXATTR_EXT is not negotiated: the compat body (size, flags), then name and value.
  const o = fuse_setxattr_in.off;
  const size = r.u32(o.size);
  const name = r.name(FUSE_COMPAT_SETXATTR_IN_SIZE);
  const valueAt = FUSE_COMPAT_SETXATTR_IN_SIZE + name.length + 1;
  return { name, flags: r.u32(o.flags), value: r.bytes(valueAt, size) };
}

export interface FallocateIn {
  fh: number;
  offset: bigint;
  length: bigint;
  /** FALLOC_FL_* */
  mode: number;
}
export function decodeFallocate(r: Request): FallocateIn {
  const o = fuse_fallocate_in.off;
  return { fh: r.handle(o.fh), offset: r.u64(o.offset), length: r.u64(o.length), mode: r.u32(o.mode) };
}

export interface CopyFileRangeIn {
  fhIn: number;
  offIn: bigint;
  nodeidOut: number;
  fhOut: number;
  offOut: bigint;
  len: bigint;
  flags: bigint;
}
export function decodeCopyFileRange(r: Request): CopyFileRangeIn {
  const o = fuse_copy_file_range_in.off;
  return {
    fhIn: r.handle(o.fh_in),
    offIn: r.u64(o.off_in),
    nodeidOut: r.handle(o.nodeid_out),
    fhOut: r.handle(o.fh_out),
    offOut: r.u64(o.off_out),
    len: r.u64(o.len),
    flags: r.u64(o.flags),
  };
}
