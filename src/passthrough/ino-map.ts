// Inode numbers as callers see them through the mount. Inside the server a node is keyed by the
// source's (st_dev, st_ino), but every file on the mount has the mount's one st_dev, so st_ino
// alone must tell files apart: du, find, tar, cp -a and rsync -H treat (st_dev, st_ino) as
// identity. A source that spans filesystems (submounts) has equal st_ino values on different
// devices; this map gives every (st_dev, st_ino) a distinct number, stable for the life of the
// mount (a node forgotten and looked up again gets its number back).
//
// The numbering keeps the source's own numbers where it can, and is unique by construction:
//   - the source root's filesystem (device index 0): st_ino itself, when below 2^56;
//   - the k-th other filesystem met (k = 1..254): k << 56 | st_ino, when st_ino is below 2^56;
//   - anything else (st_ino >= 2^56, as on overlayfs with xino, or a 256th filesystem): the next
//     number of a counter that starts at 0xff << 56, remembered per (st_dev, st_ino).
// The three ranges cannot meet: the first is below 2^56, the second has a top byte of 1..254,
// the third a top byte of 0xff. Numbers are exact 64-bit values (bigint), never doubles.

const LOW_BITS = 56n;
const LOW_LIMIT = 1n << LOW_BITS;
/** Device indexes 1..MAX_INDEX are packed; 0xff is the counter's range. */
const MAX_INDEX = 254;

export class InoMap {
  private readonly devIndex = new Map<bigint, number>();
  private readonly allocated = new Map<string, bigint>();
  private next = 0xffn << LOW_BITS;

  /** rootDev: st_dev of the source root, whose numbers are kept as they are. */
  constructor(rootDev: bigint) {
    this.devIndex.set(rootDev, 0);
  }

  /** The mount's inode number for the source's (st_dev, st_ino). */
  map(dev: bigint, ino: bigint): bigint {
    const index = this.indexOf(dev);
    if (ino < LOW_LIMIT && index <= MAX_INDEX) return (BigInt(index) << LOW_BITS) | ino;
    const key = `${dev}:${ino}`;
    let n = this.allocated.get(key);
    if (n === undefined) {
      n = this.next++;
      this.allocated.set(key, n);
    }
    return n;
  }

  /** Filesystems met so far (the source root's included). */
  get devices(): number {
    return this.devIndex.size;
  }

  /** Numbers handed out from the counter (st_ino too large to keep, or too many filesystems). */
  get remembered(): number {
    return this.allocated.size;
  }

  private indexOf(dev: bigint): number {
    let index = this.devIndex.get(dev);
    if (index === undefined) {
      index = this.devIndex.size;
      this.devIndex.set(dev, index);
    }
    return index;
  }
}

/** st_dev as glibc and the kernel's new_encode_dev encode (major, minor): the stat's st_dev. */
export function encodeDev(major: number, minor: number): bigint {
  const M = BigInt(major);
  const m = BigInt(minor);
  return (m & 0xffn) | ((M & 0xfffn) << 8n) | ((m & ~0xffn) << 12n) | ((M & ~0xfffn) << 32n);
}
