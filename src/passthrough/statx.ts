// The statx array the addon fills (addon/fsops.cc Statx) and the STATX reply made from it.
// Its first 16 values are a StatArray (passthrough/stat.ts order), so the fuse_attr fields, the
// inode number included, come from Passthrough.attr exactly as GETATTR's do; the rest are what
// only statx(2) knows (its mask, btime, file attributes, device numbers as major/minor).
import * as L from '../kernel/linux.js';
import type { Attr, Statx, SxTime } from '../kernel/reply.js';
import type { StatArray } from './stat.js';

export type StatxArray = BigUint64Array;

/** Indices past the StatArray part [0, 16), in the order addon/fsops.cc writes them. */
export const Sx = {
  mask: 16,
  attributes: 17,
  attributesMask: 18,
  btime: 19,
  btimensec: 20,
  rdevMajor: 21,
  rdevMinor: 22,
  devMajor: 23,
  devMinor: 24,
} as const;
export const STATX_LENGTH = 25;

export function newStatx(): StatxArray {
  return new BigUint64Array(STATX_LENGTH);
}

/** The StatArray view of a statx array (shares its memory: make it once per array). */
export function statPart(sx: StatxArray): StatArray {
  return sx.subarray(0, 16);
}

/** What fuse_statx carries and the kernel uses (fs/fuse/dir.c): the basic stats and btime. */
export const STATX_CARRIED = L.STATX_BASIC_STATS | L.STATX_BTIME;

/**
 * Attribute bits that describe the file itself. The others (AUTOMOUNT, MOUNT_ROOT, DAX,
 * WRITE_ATOMIC) describe the path or the mount the source was reached through, not the file a
 * caller sees on our mount, so they are not passed on.
 */
const FILE_ATTRIBUTES =
  L.STATX_ATTR_COMPRESSED | L.STATX_ATTR_IMMUTABLE | L.STATX_ATTR_APPEND | L.STATX_ATTR_NODUMP |
  L.STATX_ATTR_ENCRYPTED | L.STATX_ATTR_VERITY;

const NO_TIME: SxTime = { sec: 0n, nsec: 0 };

/**
 * fuse_statx from a statx array and the fuse_attr Passthrough.attr made of its StatArray part
 * (so `ino` is the mount's inode number, the one GETATTR reports). The mask is what the source
 * vouched for, cut to what fuse_statx carries; a field whose bit is missing goes as zero, never
 * as a value the source did not report (a source without btime gives no STATX_BTIME: "-" through
 * the mount, as on the source). dev is left zero: st_dev through the mount is the kernel's (one
 * for the whole mount), and the kernel ignores this one.
 */
export function toStatx(sx: StatxArray, attr: Attr): Statx {
  const mask = Number(sx[Sx.mask] & BigInt(STATX_CARRIED));
  const has = (bit: number) => (mask & bit) !== 0;
  const time = (bit: number, sec: bigint, nsec: number): SxTime => (has(bit) ? { sec, nsec } : NO_TIME);
  const typeBits = has(L.STATX_TYPE) ? attr.mode & L.S_IFMT : 0;
  const permBits = has(L.STATX_MODE) ? attr.mode & 0o7777 : 0;
  const attributesMask = sx[Sx.attributesMask] & FILE_ATTRIBUTES;
  return {
    mask,
    blksize: attr.blksize, // no mask bit: always filled
    attributes: sx[Sx.attributes] & attributesMask,
    attributesMask,
    nlink: has(L.STATX_NLINK) ? attr.nlink : 0,
    uid: has(L.STATX_UID) ? attr.uid : 0,
    gid: has(L.STATX_GID) ? attr.gid : 0,
    mode: typeBits | permBits,
    ino: has(L.STATX_INO) ? attr.ino : 0n,
    size: has(L.STATX_SIZE) ? attr.size : 0n,
    blocks: has(L.STATX_BLOCKS) ? attr.blocks : 0n,
    atime: time(L.STATX_ATIME, attr.atime, attr.atimensec),
    btime: time(L.STATX_BTIME, BigInt.asIntN(64, sx[Sx.btime]), Number(sx[Sx.btimensec])),
    ctime: time(L.STATX_CTIME, attr.ctime, attr.ctimensec),
    mtime: time(L.STATX_MTIME, attr.mtime, attr.mtimensec),
    rdevMajor: Number(sx[Sx.rdevMajor]),
    rdevMinor: Number(sx[Sx.rdevMinor]),
    devMajor: 0,
    devMinor: 0,
  };
}
