// Flag words as a person reads them in a debug line: "O_RDONLY|O_NONBLOCK", "R_OK|X_OK",
// "SEEK_DATA", "FOPEN_DIRECT_IO". Bits without a name are kept as a hex remainder, so a line
// never hides a bit. Values from Node's fs.constants, which are this platform's own (they
// differ between x86_64 and aarch64), where Node has them.
import { constants as fsc } from 'node:fs';
import { FOPEN_CACHE_DIR, FOPEN_DIRECT_IO, FOPEN_KEEP_CACHE, FOPEN_NONSEEKABLE, FOPEN_PASSTHROUGH } from '../kernel/abi.js';
import { SEEK_CUR, SEEK_DATA, SEEK_END, SEEK_HOLE, SEEK_SET } from '../kernel/linux.js';

type Bits = ReadonlyArray<readonly [string, number | undefined]>;

/** O_LARGEFILE, which the kernel sets on every open of a 64-bit process; Node does not export it. */
const O_LARGEFILE = process.arch === 'x64' ? 0o100000 : process.arch === 'arm64' ? 0o400000 : undefined;
const O_CLOEXEC = 0o2000000;

// O_SYNC is O_DSYNC plus a bit of its own: listed first, so a file opened O_SYNC reads as such.
const OPEN_BITS: Bits = [
  ['O_SYNC', fsc.O_SYNC],
  ['O_DSYNC', fsc.O_DSYNC],
  ['O_CREAT', fsc.O_CREAT],
  ['O_EXCL', fsc.O_EXCL],
  ['O_NOCTTY', fsc.O_NOCTTY],
  ['O_TRUNC', fsc.O_TRUNC],
  ['O_APPEND', fsc.O_APPEND],
  ['O_NONBLOCK', fsc.O_NONBLOCK],
  ['O_DIRECT', fsc.O_DIRECT],
  ['O_LARGEFILE', O_LARGEFILE],
  ['O_DIRECTORY', fsc.O_DIRECTORY],
  ['O_NOFOLLOW', fsc.O_NOFOLLOW],
  ['O_NOATIME', fsc.O_NOATIME],
  ['O_CLOEXEC', O_CLOEXEC],
];

const ACCESS_MODES = ['O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_ACCMODE'];

const FOPEN_BITS: Bits = [
  ['FOPEN_DIRECT_IO', FOPEN_DIRECT_IO],
  ['FOPEN_KEEP_CACHE', FOPEN_KEEP_CACHE],
  ['FOPEN_NONSEEKABLE', FOPEN_NONSEEKABLE],
  ['FOPEN_CACHE_DIR', FOPEN_CACHE_DIR],
  ['FOPEN_PASSTHROUGH', FOPEN_PASSTHROUGH],
];

const ACCESS_BITS: Bits = [
  ['R_OK', fsc.R_OK],
  ['W_OK', fsc.W_OK],
  ['X_OK', fsc.X_OK],
];

const WHENCE = new Map([
  [SEEK_SET, 'SEEK_SET'],
  [SEEK_CUR, 'SEEK_CUR'],
  [SEEK_END, 'SEEK_END'],
  [SEEK_DATA, 'SEEK_DATA'],
  [SEEK_HOLE, 'SEEK_HOLE'],
]);

/** The named bits set in `v`, then what is left as hex; `none` when nothing is set. */
function bitNames(v: number, bits: Bits, none: string): string {
  const out: string[] = [];
  let left = v >>> 0;
  for (const [name, bit] of bits) {
    if (bit === undefined || bit === 0 || (left & bit) !== bit) continue;
    out.push(name);
    left = (left & ~bit) >>> 0;
  }
  if (left !== 0) out.push(`0x${left.toString(16)}`);
  return out.length ? out.join('|') : none;
}

/** open(2) flags: the access mode first ("O_RDONLY|O_LARGEFILE"). */
export function openFlagNames(flags: number): string {
  const mode = ACCESS_MODES[flags & 3];
  const rest = bitNames(flags & ~3, OPEN_BITS, '');
  return rest ? `${mode}|${rest}` : mode;
}

/** fuse_open_out.open_flags ("FOPEN_DIRECT_IO"), "0" when none. */
export function fopenFlagNames(flags: number): string {
  return bitNames(flags, FOPEN_BITS, '0');
}

/** access(2) mask: "F_OK", or "R_OK|X_OK". */
export function accessMaskNames(mask: number): string {
  return bitNames(mask, ACCESS_BITS, 'F_OK');
}

/** lseek(2) whence: "SEEK_DATA", or the number. */
export function whenceName(whence: number): string {
  return WHENCE.get(whence) ?? String(whence);
}
