// Linux syscall constants the passthrough needs (the generic values of x86_64 and aarch64,
// from <fcntl.h>, <unistd.h> and <sys/stat.h>). Not part of the FUSE protocol: abi.ts is that.
export const O_ACCMODE = 0o3;
export const O_RDONLY = 0;
export const O_WRONLY = 0o1;
export const O_RDWR = 0o2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_DIRECT = 0o40000;
/** O_TMPFILE includes O_DIRECTORY (__O_TMPFILE | O_DIRECTORY). */
export const O_TMPFILE = 0o20200000;
export const AT_REMOVEDIR = 0x200;
export const RENAME_NOREPLACE = 1 << 0;
export const RENAME_EXCHANGE = 1 << 1;
export const RENAME_WHITEOUT = 1 << 2;
/** utimensat(2) nanosecond values: set to the current time / leave unchanged. */
export const UTIME_NOW = (1n << 30n) - 1n;
export const UTIME_OMIT = (1n << 30n) - 2n;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_PATH = 0o10000000;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_EMPTY_PATH = 0x1000;
/** statx/fstatat: answer from the filesystem's cache, never ask its server (a FUSE mount: no request). */
export const AT_STATX_DONT_SYNC = 0x4000;
/** openat2's how.resolve: refuse (EXDEV) to cross a mount point anywhere in the path. */
export const RESOLVE_NO_XDEV = 0x01;
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
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_IXGRP = 0o010;
// statx(2) (<linux/stat.h>, <fcntl.h>): the fields a mask names, file attribute bits, sync flags.
export const STATX_TYPE = 0x1;
export const STATX_MODE = 0x2;
export const STATX_NLINK = 0x4;
export const STATX_UID = 0x8;
export const STATX_GID = 0x10;
export const STATX_ATIME = 0x20;
export const STATX_MTIME = 0x40;
export const STATX_CTIME = 0x80;
export const STATX_INO = 0x100;
export const STATX_SIZE = 0x200;
export const STATX_BLOCKS = 0x400;
export const STATX_BASIC_STATS = 0x7ff;
export const STATX_BTIME = 0x800;
export const STATX_ATTR_COMPRESSED = 0x4n;
export const STATX_ATTR_IMMUTABLE = 0x10n;
export const STATX_ATTR_APPEND = 0x20n;
export const STATX_ATTR_NODUMP = 0x40n;
export const STATX_ATTR_ENCRYPTED = 0x800n;
export const STATX_ATTR_VERITY = 0x100000n;
/** AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC */
export const AT_STATX_SYNC_TYPE = 0x6000;
