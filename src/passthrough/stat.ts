// The stat array the addon fills (addon/fsops.cc Fstatat): a BigUint64Array of raw 64-bit
// values, so inode numbers, sizes and device numbers past 2^53 travel exactly. Signed fields
// (times) hold their two's-complement bits. One array per caller, reused.
import type { Attr } from '../kernel/reply.js';

export type StatArray = BigUint64Array;

/** Indices into a StatArray, in the order addon/fsops.cc writes them. */
export const St = {
  dev: 0,
  ino: 1,
  mode: 2,
  nlink: 3,
  uid: 4,
  gid: 5,
  rdev: 6,
  size: 7,
  blksize: 8,
  blocks: 9,
  atime: 10,
  atimensec: 11,
  mtime: 12,
  mtimensec: 13,
  ctime: 14,
  ctimensec: 15,
} as const;

export function newStat(): StatArray {
  return new BigUint64Array(16);
}

/** st_mode of a stat array. */
export function modeOf(st: StatArray): number {
  return Number(st[St.mode]);
}

/**
 * fuse_attr values from a stat, with `ino` as the inode number callers see through the mount
 * (the inode table decides it). rdev goes in the kernel's new_encode_dev form, which is the
 * low 32 bits of glibc's dev_t.
 */
export function toAttr(st: StatArray, ino: bigint): Attr {
  return {
    ino,
    size: st[St.size],
    blocks: st[St.blocks],
    atime: BigInt.asIntN(64, st[St.atime]),
    mtime: BigInt.asIntN(64, st[St.mtime]),
    ctime: BigInt.asIntN(64, st[St.ctime]),
    atimensec: Number(st[St.atimensec]),
    mtimensec: Number(st[St.mtimensec]),
    ctimensec: Number(st[St.ctimensec]),
    mode: Number(st[St.mode]),
    nlink: Number(st[St.nlink] & 0xffffffffn),
    uid: Number(st[St.uid]),
    gid: Number(st[St.gid]),
    rdev: Number(st[St.rdev] & 0xffffffffn),
    blksize: Number(st[St.blksize]),
  };
}
