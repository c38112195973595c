// The FUSE kernel ABI as data: opcodes, flags and struct layouts (field tables).
// Source: /usr/include/linux/fuse.h (protocol 7.38) and, for 7.39+ facts, ../shared/DESIGN.md.
// Nothing here does I/O; request.ts decodes and reply.ts encodes these layouts.

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
  // 7.45 (libfuse's fuse_kernel.h; ../shared/DESIGN.md): COPY_FILE_RANGE with a 64-bit count in
  // its reply. Kernels that have it (6.18 here) send it whatever minor INIT agreed, and fall
  // back to COPY_FILE_RANGE only after an ENOSYS.
  COPY_FILE_RANGE_64: 53,
} as const;
export type OpcodeName = keyof typeof Opcode;

const names: string[] = [];
for (const [name, code] of Object.entries(Opcode)) names[code] = name;
/** Opcode number -> name, for logs and counters ("OP_99" for one we do not know). */
export function opcodeName(code: number): string {
  return names[code] ?? `OP_${code}`;
}

/**
 * INIT flags as 64-bit values (fuse_init_in/out.flags | flags2 << 32; bits 32+ travel in flags2
 * with FUSE_INIT_EXT). Bits past the installed header (7.38) are from ../shared/DESIGN.md.
 */
export const InitFlag = {
  ASYNC_READ: 1n << 0n,
  POSIX_LOCKS: 1n << 1n,
  FILE_OPS: 1n << 2n,
  ATOMIC_O_TRUNC: 1n << 3n,
  EXPORT_SUPPORT: 1n << 4n,
  BIG_WRITES: 1n << 5n,
  DONT_MASK: 1n << 6n,
  SPLICE_WRITE: 1n << 7n,
  SPLICE_MOVE: 1n << 8n,
  SPLICE_READ: 1n << 9n,
  FLOCK_LOCKS: 1n << 10n,
  HAS_IOCTL_DIR: 1n << 11n,
  AUTO_INVAL_DATA: 1n << 12n,
  DO_READDIRPLUS: 1n << 13n,
  READDIRPLUS_AUTO: 1n << 14n,
  ASYNC_DIO: 1n << 15n,
  WRITEBACK_CACHE: 1n << 16n,
  NO_OPEN_SUPPORT: 1n << 17n,
  PARALLEL_DIROPS: 1n << 18n,
  HANDLE_KILLPRIV: 1n << 19n,
  POSIX_ACL: 1n << 20n,
  ABORT_ERROR: 1n << 21n,
  MAX_PAGES: 1n << 22n,
  CACHE_SYMLINKS: 1n << 23n,
  NO_OPENDIR_SUPPORT: 1n << 24n,
  EXPLICIT_INVAL_DATA: 1n << 25n,
  MAP_ALIGNMENT: 1n << 26n,
  SUBMOUNTS: 1n << 27n,
  HANDLE_KILLPRIV_V2: 1n << 28n,
  SETXATTR_EXT: 1n << 29n,
  INIT_EXT: 1n << 30n,
  INIT_RESERVED: 1n << 31n,
  SECURITY_CTX: 1n << 32n,
  HAS_INODE_DAX: 1n << 33n,
  CREATE_SUPP_GROUP: 1n << 34n,
  HAS_EXPIRE_ONLY: 1n << 35n,
  DIRECT_IO_ALLOW_MMAP: 1n << 36n,
  PASSTHROUGH: 1n << 37n,
  NO_EXPORT_SUPPORT: 1n << 38n,
  HAS_RESEND: 1n << 39n,
  OVER_IO_URING: 1n << 41n,
} as const;
export type InitFlagName = keyof typeof InitFlag;

/** The names of the flags set in a 64-bit flag value, in bit order. */
export function initFlagNames(flags: bigint): string[] {
  const out: string[] = [];
  for (const [name, bit] of Object.entries(InitFlag)) if ((flags & bit) !== 0n) out.push(name);
  return out;
}

export const FOPEN_DIRECT_IO = 1 << 0;
export const FOPEN_KEEP_CACHE = 1 << 1;
export const FOPEN_NONSEEKABLE = 1 << 2;
export const FOPEN_CACHE_DIR = 1 << 3;
/** 7.40 (../shared/DESIGN.md) */
export const FOPEN_PASSTHROUGH = 1 << 7;

export const FUSE_GETATTR_FH = 1 << 0;
export const FUSE_READ_LOCKOWNER = 1 << 1;

// ---- struct layouts ----------------------------------------------------------------------
// Each struct is a field table; offsets and sizes follow C's natural alignment, computed once.
// test/unit/abi.test.ts compiles a C program against the installed linux/fuse.h and checks every
// field's offset and every struct's size. Fields newer than that header (7.38) say `since` and
// name their source; they are checked by hand in that test against ../shared/DESIGN.md.

export type FieldType = 'u8' | 'u16' | 'u32' | 'i32' | 'u64' | 'i64';
const WIDTH: Record<FieldType, number> = { u8: 1, u16: 2, u32: 4, i32: 4, u64: 8, i64: 8 };

/** One field: name, type, array length (1 for a scalar), and where the installed header differs. */
export interface FieldSpec {
  name: string;
  type: FieldType;
  count?: number;
  /** The protocol minor that added this field, when newer than the installed header (7.38). */
  since?: number;
  /** This field's name in the installed header when it differs (a renamed padding field). */
  c?: string;
}

/** A struct layout: its C name, size in bytes and the byte offset of each field. */
export interface StructLayout<F extends string> {
  readonly name: string;
  readonly size: number;
  readonly off: Readonly<Record<F, number>>;
  readonly fields: readonly FieldSpec[];
}

function struct<F extends string>(name: string, fields: ReadonlyArray<FieldSpec & { name: F }>): StructLayout<F> {
  const off = {} as Record<F, number>;
  let at = 0;
  let align = 1;
  for (const f of fields) {
    const w = WIDTH[f.type];
    at = Math.ceil(at / w) * w;
    off[f.name] = at;
    at += w * (f.count ?? 1);
    align = Math.max(align, w);
  }
  return { name, size: Math.ceil(at / align) * align, off, fields };
}
const f = <N extends string>(name: N, type: FieldType, more: Omit<FieldSpec, 'name' | 'type'> = {}) => ({ name, type, ...more });

export const fuse_in_header = struct('fuse_in_header', [
  f('len', 'u32'), f('opcode', 'u32'), f('unique', 'u64'), f('nodeid', 'u64'),
  f('uid', 'u32'), f('gid', 'u32'), f('pid', 'u32'), f('total_extlen', 'u16'), f('padding', 'u16'),
]);
export const fuse_out_header = struct('fuse_out_header', [f('len', 'u32'), f('error', 'i32'), f('unique', 'u64')]);
export const fuse_init_in = struct('fuse_init_in', [
  f('major', 'u32'), f('minor', 'u32'), f('max_readahead', 'u32'), f('flags', 'u32'),
  f('flags2', 'u32'), f('unused', 'u32', { count: 11 }),
]);
/** Kernels before 7.36 send only major, minor, max_readahead and flags. */
export const FUSE_COMPAT_INIT_IN_SIZE = 16;
export const fuse_init_out = struct('fuse_init_out', [
  f('major', 'u32'), f('minor', 'u32'), f('max_readahead', 'u32'), f('flags', 'u32'),
  f('max_background', 'u16'), f('congestion_threshold', 'u16'), f('max_write', 'u32'),
  f('time_gran', 'u32'), f('max_pages', 'u16'), f('map_alignment', 'u16'), f('flags2', 'u32'),
  // 7.40 (../shared/DESIGN.md): max_stack_depth took the first unused word (FUSE_PASSTHROUGH).
  f('max_stack_depth', 'u32', { since: 40, c: 'unused' }),
  f('unused', 'u32', { count: 6, c: 'unused[1]' }),
]);
export const fuse_attr = struct('fuse_attr', [
  f('ino', 'u64'), f('size', 'u64'), f('blocks', 'u64'), f('atime', 'u64'), f('mtime', 'u64'),
  f('ctime', 'u64'), f('atimensec', 'u32'), f('mtimensec', 'u32'), f('ctimensec', 'u32'),
  f('mode', 'u32'), f('nlink', 'u32'), f('uid', 'u32'), f('gid', 'u32'), f('rdev', 'u32'),
  f('blksize', 'u32'), f('flags', 'u32'),
]);
export const fuse_entry_out = struct('fuse_entry_out', [
  f('nodeid', 'u64'), f('generation', 'u64'), f('entry_valid', 'u64'), f('attr_valid', 'u64'),
  f('entry_valid_nsec', 'u32'), f('attr_valid_nsec', 'u32'), f('attr', 'u64', { count: fuse_attr.size / 8 }),
]);
export const fuse_attr_out = struct('fuse_attr_out', [
  f('attr_valid', 'u64'), f('attr_valid_nsec', 'u32'), f('dummy', 'u32'), f('attr', 'u64', { count: fuse_attr.size / 8 }),
]);
export const fuse_getattr_in = struct('fuse_getattr_in', [f('getattr_flags', 'u32'), f('dummy', 'u32'), f('fh', 'u64')]);
export const fuse_open_in = struct('fuse_open_in', [f('flags', 'u32'), f('open_flags', 'u32')]);
export const fuse_open_out = struct('fuse_open_out', [
  f('fh', 'u64'), f('open_flags', 'u32'),
  // 7.40 (../shared/DESIGN.md): the padding word became backing_id (FOPEN_PASSTHROUGH).
  f('backing_id', 'i32', { since: 40, c: 'padding' }),
]);
export const fuse_read_in = struct('fuse_read_in', [
  f('fh', 'u64'), f('offset', 'u64'), f('size', 'u32'), f('read_flags', 'u32'),
  f('lock_owner', 'u64'), f('flags', 'u32'), f('padding', 'u32'),
]);
export const fuse_release_in = struct('fuse_release_in', [
  f('fh', 'u64'), f('flags', 'u32'), f('release_flags', 'u32'), f('lock_owner', 'u64'),
]);
export const fuse_flush_in = struct('fuse_flush_in', [
  f('fh', 'u64'), f('unused', 'u32'), f('padding', 'u32'), f('lock_owner', 'u64'),
]);
export const fuse_fsync_in = struct('fuse_fsync_in', [f('fh', 'u64'), f('fsync_flags', 'u32'), f('padding', 'u32')]);
export const fuse_forget_in = struct('fuse_forget_in', [f('nlookup', 'u64')]);
export const fuse_batch_forget_in = struct('fuse_batch_forget_in', [f('count', 'u32'), f('dummy', 'u32')]);
export const fuse_forget_one = struct('fuse_forget_one', [f('nodeid', 'u64'), f('nlookup', 'u64')]);
export const fuse_kstatfs = struct('fuse_kstatfs', [
  f('blocks', 'u64'), f('bfree', 'u64'), f('bavail', 'u64'), f('files', 'u64'), f('ffree', 'u64'),
  f('bsize', 'u32'), f('namelen', 'u32'), f('frsize', 'u32'), f('padding', 'u32'), f('spare', 'u32', { count: 6 }),
]);
export const fuse_getxattr_in = struct('fuse_getxattr_in', [f('size', 'u32'), f('padding', 'u32')]);
export const fuse_getxattr_out = struct('fuse_getxattr_out', [f('size', 'u32'), f('padding', 'u32')]);
export const fuse_access_in = struct('fuse_access_in', [f('mask', 'u32'), f('padding', 'u32')]);
export const fuse_lseek_in = struct('fuse_lseek_in', [f('fh', 'u64'), f('offset', 'u64'), f('whence', 'u32'), f('padding', 'u32')]);
export const fuse_lseek_out = struct('fuse_lseek_out', [f('offset', 'u64')]);
export const fuse_interrupt_in = struct('fuse_interrupt_in', [f('unique', 'u64')]);
// ---- the read-write operations -------------------------------------------------------------
export const fuse_setattr_in = struct('fuse_setattr_in', [
  f('valid', 'u32'), f('padding', 'u32'), f('fh', 'u64'), f('size', 'u64'), f('lock_owner', 'u64'),
  f('atime', 'u64'), f('mtime', 'u64'), f('ctime', 'u64'), f('atimensec', 'u32'), f('mtimensec', 'u32'),
  f('ctimensec', 'u32'), f('mode', 'u32'), f('unused4', 'u32'), f('uid', 'u32'), f('gid', 'u32'), f('unused5', 'u32'),
]);
/** MKNOD: followed by the name. */
export const fuse_mknod_in = struct('fuse_mknod_in', [f('mode', 'u32'), f('rdev', 'u32'), f('umask', 'u32'), f('padding', 'u32')]);
/** MKDIR: followed by the name. */
export const fuse_mkdir_in = struct('fuse_mkdir_in', [f('mode', 'u32'), f('umask', 'u32')]);
/** RENAME: followed by the old and the new name. */
export const fuse_rename_in = struct('fuse_rename_in', [f('newdir', 'u64')]);
/** RENAME2: followed by the old and the new name. */
export const fuse_rename2_in = struct('fuse_rename2_in', [f('newdir', 'u64'), f('flags', 'u32'), f('padding', 'u32')]);
/** LINK: followed by the new name. */
export const fuse_link_in = struct('fuse_link_in', [f('oldnodeid', 'u64')]);
/** CREATE and TMPFILE: followed by the name. */
export const fuse_create_in = struct('fuse_create_in', [f('flags', 'u32'), f('mode', 'u32'), f('umask', 'u32'), f('open_flags', 'u32')]);
/** WRITE: followed by `size` bytes of payload. */
export const fuse_write_in = struct('fuse_write_in', [
  f('fh', 'u64'), f('offset', 'u64'), f('size', 'u32'), f('write_flags', 'u32'), f('lock_owner', 'u64'),
  f('flags', 'u32'), f('padding', 'u32'),
]);
export const fuse_write_out = struct('fuse_write_out', [f('size', 'u32'), f('padding', 'u32')]);
/**
 * SETXATTR: followed by the name and the value. Without FUSE_SETXATTR_EXT (not negotiated)
 * the kernel sends only size and flags: FUSE_COMPAT_SETXATTR_IN_SIZE bytes.
 */
export const fuse_setxattr_in = struct('fuse_setxattr_in', [f('size', 'u32'), f('flags', 'u32'), f('setxattr_flags', 'u32'), f('padding', 'u32')]);
export const FUSE_COMPAT_SETXATTR_IN_SIZE = 8;
export const fuse_fallocate_in = struct('fuse_fallocate_in', [
  f('fh', 'u64'), f('offset', 'u64'), f('length', 'u64'), f('mode', 'u32'), f('padding', 'u32'),
]);
export const fuse_copy_file_range_in = struct('fuse_copy_file_range_in', [
  f('fh_in', 'u64'), f('off_in', 'u64'), f('nodeid_out', 'u64'), f('fh_out', 'u64'), f('off_out', 'u64'),
  f('len', 'u64'), f('flags', 'u64'),
]);

/** Followed by the name (namelen bytes) and zero padding to 8 bytes; FUSE_NAME_OFFSET = 24. */
export const fuse_dirent = struct('fuse_dirent', [f('ino', 'u64'), f('off', 'u64'), f('namelen', 'u32'), f('type', 'u32')]);

// ---- 7.39: FUSE_STATX and its structs --------------------------------------------------------
// Newer than the installed header (7.38): from libfuse's include/fuse_kernel.h (protocol 7.39+,
// ../shared/peers/libfuse-*.tar.gz). Field names are the C names; every field says `since: 39`.
// fuse_statx is bit-for-bit the statx(2) struct statx (the kernel copies its fields one by one).
const v39 = <N extends string>(name: N, type: FieldType, more: Omit<FieldSpec, 'name' | 'type' | 'since'> = {}) => f(name, type, { since: 39, ...more });
/** struct statx_timestamp: seconds since the epoch (signed), nanoseconds. */
export const fuse_sx_time = struct('fuse_sx_time', [v39('tv_sec', 'i64'), v39('tv_nsec', 'u32'), v39('__reserved', 'i32')]);
const SX_TIME = { count: fuse_sx_time.size / 8 };
export const fuse_statx = struct('fuse_statx', [
  v39('mask', 'u32'), v39('blksize', 'u32'), v39('attributes', 'u64'), v39('nlink', 'u32'), v39('uid', 'u32'),
  v39('gid', 'u32'), v39('mode', 'u16'), v39('__spare0', 'u16', { count: 1 }), v39('ino', 'u64'), v39('size', 'u64'),
  v39('blocks', 'u64'), v39('attributes_mask', 'u64'), v39('atime', 'u64', SX_TIME), v39('btime', 'u64', SX_TIME),
  v39('ctime', 'u64', SX_TIME), v39('mtime', 'u64', SX_TIME), v39('rdev_major', 'u32'), v39('rdev_minor', 'u32'),
  v39('dev_major', 'u32'), v39('dev_minor', 'u32'), v39('__spare2', 'u64', { count: 14 }),
]);
export const fuse_statx_in = struct('fuse_statx_in', [
  v39('getattr_flags', 'u32'), v39('reserved', 'u32'), v39('fh', 'u64'), v39('sx_flags', 'u32'), v39('sx_mask', 'u32'),
]);
export const fuse_statx_out = struct('fuse_statx_out', [
  v39('attr_valid', 'u64'), v39('attr_valid_nsec', 'u32'), v39('flags', 'u32'), v39('spare', 'u64', { count: 2 }),
  v39('stat', 'u64', { count: fuse_statx.size / 8 }),
]);

/** Every layout, for the ABI check (test/unit/abi.test.ts). fuse_direntplus is entry_out + dirent. */
export const STRUCTS: ReadonlyArray<StructLayout<string>> = [
  fuse_in_header, fuse_out_header, fuse_init_in, fuse_init_out, fuse_attr, fuse_entry_out,
  fuse_attr_out, fuse_getattr_in, fuse_open_in, fuse_open_out, fuse_read_in, fuse_release_in,
  fuse_flush_in, fuse_fsync_in, fuse_forget_in, fuse_batch_forget_in, fuse_forget_one, fuse_kstatfs,
  fuse_getxattr_in, fuse_getxattr_out, fuse_access_in, fuse_lseek_in, fuse_lseek_out,
  fuse_interrupt_in, fuse_dirent, fuse_sx_time, fuse_statx, fuse_statx_in, fuse_statx_out,
  fuse_setattr_in, fuse_mknod_in, fuse_mkdir_in, fuse_rename_in, fuse_rename2_in, fuse_link_in,
  fuse_create_in, fuse_write_in, fuse_write_out, fuse_setxattr_in, fuse_fallocate_in, fuse_copy_file_range_in,
];
