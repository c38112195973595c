// Inode numbers as callers see them through the mount. Inside the server a node is keyed by the
// source's (st_dev, st_ino), but every file on the mount has the mount's one st_dev, so st_ino
// alone must tell files apart: du, find, tar, cp -a and rsync -H treat (st_dev, st_ino) as
// identity. A source that spans filesystems (submounts) has equal st_ino values on different
// devices; this map gives every (st_dev, st_ino) a distinct number, stable for the life of the
// mount (a node forgotten and looked up again gets its number back).
//
// The numbering keeps the source root filesystem's own numbers, and is unique by construction.
// A number's top byte says who owns it:
//   - the source root's filesystem owns top byte 0 from the start, and every other top byte its
//     st_ino values show (overlayfs with xino puts layer bits there) unless another owner has it:
//     those numbers are kept as they are;
//   - each other filesystem met gets a free top byte k (1..254) and shows k << 56 | st_ino,
//     when its st_ino is below 2^56;
//   - anything else (an st_ino at or above 2^56 on another filesystem, a root st_ino whose top
//     byte another filesystem owns, 0xff, more filesystems than free bytes) gets the next number
//     of a counter in top byte 0xff, remembered per (st_dev, st_ino).
// An owner never changes, and a counted number is remembered, so numbers are stable.

const LOW_BITS = 56n;
const LOW_LIMIT = 1n << LOW_BITS;
const COUNTED = 0xff;
const ROOT = -1;

export class InoMap {
  /** top byte -> ROOT or the device it was given to */
  private readonly owner = new Map<number, bigint | typeof ROOT>([[0, ROOT], [COUNTED, -2n]]);
  /** st_dev of another filesystem -> its top byte (0 when none was free: counted) */
  private readonly devTop = new Map<bigint, number>();
  private readonly allocated = new Map<string, bigint>();
  private next = BigInt(COUNTED) << LOW_BITS;

  /** rootDev: st_dev of the source root, whose numbers are kept as they are. */
  constructor(private readonly rootDev: bigint) {}

  /** The mount's inode number for the source's (st_dev, st_ino). */
  map(dev: bigint, ino: bigint): bigint {
    // Nearly every number: the root's filesystem owns top byte 0 from the start.
    if (ino < LOW_LIMIT && dev === this.rootDev) return ino;
    if (dev === this.rootDev) {
      const top = Number(ino >> LOW_BITS);
      const o = this.owner.get(top);
      if (o === ROOT) return ino;
      if (o === undefined) {
        this.owner.set(top, ROOT);
        return ino;
      }
    } else if (ino < LOW_LIMIT) {
      const top = this.topOf(dev);
      if (top !== 0) return (BigInt(top) << LOW_BITS) | ino;
    }
    return this.counted(dev, ino);
  }

  /** Filesystems met so far (the source root's included). */
  get devices(): number {
    return this.devTop.size + 1;
  }

  /** Numbers handed out from the counter. */
  get remembered(): number {
    return this.allocated.size;
  }

  private topOf(dev: bigint): number {
    let top = this.devTop.get(dev);
    if (top === undefined) {
      top = 0;
      for (let k = 1; k < COUNTED; k++)
        if (!this.owner.has(k)) {
          top = k;
          this.owner.set(k, dev);
          break;
        }
      this.devTop.set(dev, top);
    }
    return top;
  }

  private counted(dev: bigint, ino: bigint): bigint {
    const key = `${dev}:${ino}`;
    let n = this.allocated.get(key);
    if (n === undefined) {
      n = this.next++;
      this.allocated.set(key, n);
    }
    return n;
  }
}

/** st_dev as glibc and the kernel's new_encode_dev encode (major, minor): the stat's st_dev. */
export function encodeDev(major: number, minor: number): bigint {
  const M = BigInt(major);
  const m = BigInt(minor);
  return (m & 0xffn) | ((M & 0xfffn) << 8n) | ((m & ~0xffn) << 12n) | ((M & ~0xfffn) << 32n);
}
