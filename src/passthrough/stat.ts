// The stat array the addon fills (addon/fsops.cc Fstatat): a BigUint64Array of raw 64-bit
// values, so inode numbers, sizes and device numbers past 2^53 travel exactly. Signed fields
// (times) hold their two's-complement bits. One array per caller, reused.
import { endianness } from 'node:os';
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
  // The 32-bit fields are low words, read as numbers: a listing makes an Attr per entry, and
  // each element read of a BigUint64Array makes a BigInt.
  const w = wordsOf(st);
  return {
    ino,
    size: st[St.size],
    blocks: st[St.blocks],
    atime: BigInt.asIntN(64, st[St.atime]),
    mtime: BigInt.asIntN(64, st[St.mtime]),
    ctime: BigInt.asIntN(64, st[St.ctime]),
    atimensec: w[2 * St.atimensec + LO],
    mtimensec: w[2 * St.mtimensec + LO],
    ctimensec: w[2 * St.ctimensec + LO],
    mode: w[2 * St.mode + LO],
    nlink: w[2 * St.nlink + LO],
    uid: w[2 * St.uid + LO],
    gid: w[2 * St.gid + LO],
    rdev: w[2 * St.rdev + LO],
    blksize: w[2 * St.blksize + LO],
  };
}

/** Index of a value's low 32-bit word within its pair in a Uint32Array view. */
const LO = endianness() === 'LE' ? 0 : 1;
let wordsArray: StatArray | null = null;
let words: Uint32Array<ArrayBufferLike> = new Uint32Array(0);
/** A Uint32Array view of `st`, kept for the array used last (handlers reuse one stat array). */
function wordsOf(st: StatArray): Uint32Array<ArrayBufferLike> {
  if (st !== wordsArray) {
    wordsArray = st;
    words = new Uint32Array(st.buffer, st.byteOffset, st.length * 2);
  }
  return words;
}
