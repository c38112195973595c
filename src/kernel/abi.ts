// The FUSE kernel ABI as data: opcodes, flags and struct sizes/offsets.
// Source: /usr/include/linux/fuse.h (protocol 7.38) and, for 7.39+ facts, ../shared/DESIGN.md.
// Nothing here does I/O; the codec (codec.ts) reads and writes these layouts.

export const FUSE_KERNEL_VERSION = 7;
/** The highest minor whose layouts and flags this server knows (7.38 header + 7.39/7.40 bits). */
export const FUSE_OUR_MINOR = 40;
export const FUSE_ROOT_ID = 1;
export const PAGE_SIZE = 4096;

export const Opcode = {
  LOOKUP: 1,
  FORGET: 2,
  GETATTR: 3,
  SETATTR: 4,
  READLINK: 5,
  SYMLINK: 6,
  MKNOD: 8,
  MKDIR: 9,
  UNLINK: 10,
  RMDIR: 11,
  RENAME: 12,
  LINK: 13,
  OPEN: 14,
  READ: 15,
  WRITE: 16,
  STATFS: 17,
  RELEASE: 18,
  FSYNC: 20,
  SETXATTR: 21,
  GETXATTR: 22,
  LISTXATTR: 23,
  REMOVEXATTR: 24,
  FLUSH: 25,
  INIT: 26,
  OPENDIR: 27,
  READDIR: 28,
  RELEASEDIR: 29,
  FSYNCDIR: 30,
  GETLK: 31,
  SETLK: 32,
  SETLKW: 33,
  ACCESS: 34,
  CREATE: 35,
  INTERRUPT: 36,
  BMAP: 37,
  DESTROY: 38,
  IOCTL: 39,
  POLL: 40,
  NOTIFY_REPLY: 41,
  BATCH_FORGET: 42,
  FALLOCATE: 43,
  READDIRPLUS: 44,
  RENAME2: 45,
  LSEEK: 46,
  COPY_FILE_RANGE: 47,
  SETUPMAPPING: 48,
  REMOVEMAPPING: 49,
  SYNCFS: 50,
  TMPFILE: 51,
  STATX: 52,
} as const;
export type OpcodeName = keyof typeof Opcode;

const names: string[] = [];
for (const [name, code] of Object.entries(Opcode)) names[code] = name;
/** Opcode number -> name, for logs and counters ("OP_99" for one we do not know). */
export function opcodeName(code: number): string {
  return names[code] ?? `OP_${code}`;
}

/** INIT flags (fuse_init_in/out.flags; bits 32+ travel in flags2 with FUSE_INIT_EXT). */
export const InitFlag = {
  ASYNC_READ: 2 ** 0,
  POSIX_LOCKS: 2 ** 1,
  FILE_OPS: 2 ** 2,
  ATOMIC_O_TRUNC: 2 ** 3,
  EXPORT_SUPPORT: 2 ** 4,
  BIG_WRITES: 2 ** 5,
  DONT_MASK: 2 ** 6,
  SPLICE_WRITE: 2 ** 7,
  SPLICE_MOVE: 2 ** 8,
  SPLICE_READ: 2 ** 9,
  FLOCK_LOCKS: 2 ** 10,
  HAS_IOCTL_DIR: 2 ** 11,
  AUTO_INVAL_DATA: 2 ** 12,
  DO_READDIRPLUS: 2 ** 13,
  READDIRPLUS_AUTO: 2 ** 14,
  ASYNC_DIO: 2 ** 15,
  WRITEBACK_CACHE: 2 ** 16,
  NO_OPEN_SUPPORT: 2 ** 17,
  PARALLEL_DIROPS: 2 ** 18,
  HANDLE_KILLPRIV: 2 ** 19,
  POSIX_ACL: 2 ** 20,
  ABORT_ERROR: 2 ** 21,
  MAX_PAGES: 2 ** 22,
  CACHE_SYMLINKS: 2 ** 23,
  NO_OPENDIR_SUPPORT: 2 ** 24,
  EXPLICIT_INVAL_DATA: 2 ** 25,
  MAP_ALIGNMENT: 2 ** 26,
  SUBMOUNTS: 2 ** 27,
  HANDLE_KILLPRIV_V2: 2 ** 28,
  SETXATTR_EXT: 2 ** 29,
  INIT_EXT: 2 ** 30,
  INIT_RESERVED: 2 ** 31,
  SECURITY_CTX: 2 ** 32,
  HAS_INODE_DAX: 2 ** 33,
  CREATE_SUPP_GROUP: 2 ** 34,
  HAS_EXPIRE_ONLY: 2 ** 35,
  DIRECT_IO_ALLOW_MMAP: 2 ** 36,
  PASSTHROUGH: 2 ** 37,
  NO_EXPORT_SUPPORT: 2 ** 38,
  HAS_RESEND: 2 ** 39,
  OVER_IO_URING: 2 ** 41,
} as const;
export type InitFlagName = keyof typeof InitFlag;

/** The names of the flags set in a 64-bit flag value held as a number (exact below 2^53). */
export function initFlagNames(flags: number): string[] {
  const out: string[] = [];
  for (const [name, bit] of Object.entries(InitFlag)) if (hasFlag(flags, bit)) out.push(name);
  return out;
}
/** Bit test on flag values up to 2^53, where JavaScript's 32-bit `&` would drop high bits. */
export function hasFlag(flags: number, bit: number): boolean {
  return Math.floor(flags / bit) % 2 === 1;
}

export const FOPEN_DIRECT_IO = 1 << 0;
export const FOPEN_KEEP_CACHE = 1 << 1;
export const FOPEN_NONSEEKABLE = 1 << 2;
export const FOPEN_CACHE_DIR = 1 << 3;

export const FUSE_GETATTR_FH = 1 << 0;
export const FUSE_READ_LOCKOWNER = 1 << 1;

/** Struct sizes in bytes. */
export const Size = {
  inHeader: 40,
  outHeader: 16,
  initInMin: 16, // major, minor, max_readahead, flags (pre-7.36 kernels send no more)
  initOut: 64,
  attr: 88,
  entryOut: 128,
  attrOut: 104,
  getattrIn: 16,
  openIn: 8,
  openOut: 16,
  readIn: 40,
  releaseIn: 24,
  flushIn: 24,
  forgetIn: 8,
  batchForgetIn: 8,
  forgetOne: 16,
  statfsOut: 80,
  getxattrIn: 8,
  getxattrOut: 8,
  accessIn: 8,
  lseekIn: 24,
  lseekOut: 8,
  interruptIn: 8,
  direntHeader: 24, // FUSE_NAME_OFFSET
} as const;

// Linux constants the passthrough needs (x86_64/aarch64 generic values).
export const O_ACCMODE = 0o3;
export const O_RDONLY = 0;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_PATH = 0o10000000;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_EMPTY_PATH = 0x1000;
export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;
export const W_OK = 2;
export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;
