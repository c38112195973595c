// Which open files get FOPEN_DIRECT_IO, and why.
//
// The kernel serves a cached FUSE file from its page cache and never reads past the st_size it
// was told: a file whose size says 0 but has content (/proc/sys/kernel/ostype, most of /proc)
// reads as empty, and a sysfs attribute (st_size 4096, a few bytes of content that change) is cut
// to the length of the first read. With FOPEN_DIRECT_IO every read(2) becomes a READ, so the
// content comes from the source as it is now. Chosen per open handle:
//   option   --direct-io: every open;
//   pseudoFs the file lives on a filesystem whose sizes say nothing of the content (by
//            fstatfs f_type: proc, sysfs, debugfs, tracefs, cgroup, ...);
//   zeroSize any regular file whose st_size is 0 at open (content may be generated, or the file
//            may grow while it is open: an empty file costs nothing to read directly).
// mmap keeps working: the session always negotiates FUSE_DIRECT_IO_ALLOW_MMAP (kernel 6.6+),
// without which a shared mapping of a FOPEN_DIRECT_IO file fails with ENODEV.
import { addon } from '../addon.js';
import { AT_EMPTY_PATH, S_IFMT, S_IFREG } from '../kernel/linux.js';
import { St, type StatArray } from './stat.js';

export type DirectIoReason = 'option' | 'pseudoFs' | 'zeroSize';
export type DirectIoCounts = Record<DirectIoReason, number>;

/**
 * Filesystems whose regular files are generated on read (linux/magic.h): their st_size is 0 or a
 * page, whatever the content is. Name by magic, for the log line.
 */
export const PSEUDO_FS: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x62656570, 'configfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0xcafe4a11, 'bpf'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
  [0xf97cff8c, 'selinuxfs'],
  [0x43415d53, 'smackfs'],
  [0x65735543, 'fusectl'],
  [0x42494e4d, 'binfmt_misc'],
  [0x7655821, 'resctrl'],
  [0x19800202, 'mqueue'],
  [0x6e667364, 'nfsd'],
  [0x67596969, 'rpc_pipefs'],
  [0x6c6f6f70, 'binderfs'],
  [0xabba1974, 'xenfs'],
  [0x9fa1, 'openpromfs'],
  [0x687970, 'hypfs'],
]);

/** Logs one line (info) the first time each reason applies. */
export type DirectIoLog = (fields: Record<string, unknown>, msg: string) => void;

export class DirectIoPolicy {
  /** Opens served with FOPEN_DIRECT_IO, by reason. */
  readonly counts: DirectIoCounts = { option: 0, pseudoFs: 0, zeroSize: 0 };
  private readonly logged = new Set<DirectIoReason>();

  /** `all`: the --direct-io option (every open, no checks). */
  constructor(private readonly all: boolean, private readonly log?: DirectIoLog) {}

  /**
   * The reason the file open on `fd` (a real fd, not O_PATH) needs FOPEN_DIRECT_IO, or null
   * for the page cache. Costs an fstat and an fstatfs of the fd; `st` is scratch. A failed
   * check (it does not happen on an open fd) leaves the file cached, as before. `beingWritten`:
   * an empty regular file is a file being written, not one whose size misleads, so it keeps
   * the page cache: the handle was opened for writing (a CREATE, an O_TRUNC), or the mount has
   * the writeback cache (the kernel's size is the true one; a direct read of a file it has not
   * written back yet would find the source short and read nothing).
   */
  decide(fd: number, st: StatArray, beingWritten = false): DirectIoReason | null {
    if (this.all) return this.count('option', {});
    if (addon.fstatat(fd, '', AT_EMPTY_PATH, st) < 0) return null;
    if ((Number(st[St.mode]) & S_IFMT) !== S_IFREG) return null;
    const magic = addon.fstatfsType(fd);
    const fsName = magic >= 0 ? PSEUDO_FS.get(magic) : undefined;
    if (fsName !== undefined) return this.count('pseudoFs', { fs: fsName, ino: String(st[St.ino]) });
    if (st[St.size] === 0n && !beingWritten) return this.count('zeroSize', { ino: String(st[St.ino]) });
    return null;
  }

  private count(reason: DirectIoReason, fields: Record<string, unknown>): DirectIoReason {
    this.counts[reason]++;
    if (reason !== 'option' && !this.logged.has(reason)) {
      this.logged.add(reason);
      this.log?.(
        { reason, ...fields },
        "direct I/O for files whose size does not tell their content (logged once per reason; stats().directIoOpens counts them)",
      );
    }
    return reason;
  }
}
