// mount(2) and umount2(2) as root: the kernel mount of a FUSE connection and its removal
// (including a stale mount left by a killed server). fusermount.ts mounts without root;
// connection.ts chooses.
import { constants } from 'node:os';
import { addon } from '../addon.js';
import { errnoName, SplicefsError } from '../errors.js';
import { pathBytes, showPath, type PathArg } from '../paths.js';

const E = constants.errno;
/** umount2 flag: detach now, let open files keep the connection until they close. */
export const MNT_DETACH = 2;

/**
 * Unmount `mountpoint`: a plain umount, or a lazy detach when it is busy (open files keep the
 * connection until they close). Returns 'unmounted' | 'detached'. Works on a stale mount whose
 * server died (ENOTCONN), which is what `splicefs umount` is for. The path goes to umount2 as
 * bytes (it need not be UTF-8); messages show it escaped (showPath). Throws a SplicefsError.
 */
export function unmountPath(mountpoint: PathArg): 'unmounted' | 'detached' {
  const bytes = pathBytes(mountpoint);
  const shown = showPath(bytes);
  let r = addon.umount(bytes, 0);
  if (r === 0) return 'unmounted';
  if (r === -E.EBUSY) {
    r = addon.umount(bytes, MNT_DETACH);
    if (r === 0) return 'detached';
  }
  switch (-r) {
    case E.EINVAL:
      throw new SplicefsError(`${shown} is not a mount point`);
    case E.ENOENT:
      throw new SplicefsError(`${shown} does not exist`);
    case E.EPERM:
      throw new SplicefsError(`cannot unmount ${shown}: permission denied (unmounting needs root)`);
    default:
      throw new SplicefsError(`cannot unmount ${shown}: ${errnoName(r)}`);
  }
}


/** mount(2) flags (include/uapi/linux/mount.h) that splicefs sets. */
export const MS = {
  RDONLY: 1,
  NOSUID: 2,
  NODEV: 4,
  NOEXEC: 8,
  NOATIME: 1 << 10,
  NODIRATIME: 1 << 11,
  RELATIME: 1 << 21,
  STRICTATIME: 1 << 24,
} as const;

/** What the mount flags are made from (MountOptions' fields of the same names). */
export interface MountFlagOptions {
  suid?: boolean;
  dev?: boolean;
  exec?: boolean;
  atime?: 'relatime' | 'noatime' | 'strictatime';
  diratime?: boolean;
  /** MS_RDONLY (`-o ro`) */
  readOnly?: boolean;
}

/**
 * The mount(2) flags for `o`: MS_RDONLY for a read-only mount, and MS_NOSUID | MS_NODEV unless
 * suid / dev are asked for (libfuse's defaults too). Without an atime choice no atime flag is
 * given and the kernel applies relatime.
 */
export function mountFlags(o: MountFlagOptions): number {
  let f = o.readOnly ? MS.RDONLY : 0;
  if (!o.suid) f |= MS.NOSUID;
  if (!o.dev) f |= MS.NODEV;
  if (o.exec === false) f |= MS.NOEXEC;
  if (o.atime === 'noatime') f |= MS.NOATIME;
  else if (o.atime === 'strictatime') f |= MS.STRICTATIME;
  else if (o.atime === 'relatime') f |= MS.RELATIME;
  if (o.diratime === false) f |= MS.NODIRATIME;
  return f;
}

/** The flags by the names mount(8) gives them (rw/ro first; mountinfo shows no strictatime), for the mount line. */
export function mountFlagNames(flags: number): string[] {
  const names = [flags & MS.RDONLY ? 'ro' : 'rw'];
  const table: Array<[number, string]> = [
    [MS.NOSUID, 'nosuid'],
    [MS.NODEV, 'nodev'],
    [MS.NOEXEC, 'noexec'],
    [MS.NOATIME, 'noatime'],
    [MS.NODIRATIME, 'nodiratime'],
    [MS.STRICTATIME, 'strictatime'],
  ];
  for (const [bit, name] of table) if (flags & bit) names.push(name);
  // relatime is what the kernel applies when neither noatime nor strictatime is asked for.
  if (!(flags & (MS.NOATIME | MS.STRICTATIME))) names.push('relatime');
  return names;
}

/** The filesystem type: fuse.splicefs, or fuse.SUBTYPE as libfuse names it with subtype=. */
export function fsType(subtype?: string): string {
  return `fuse.${subtype ?? 'splicefs'}`;
}

export interface KernelMount {
  devfd: number;
  /** what mountinfo shows as the source (fsname=; bytes, like a source path) */
  fsname: PathArg;
  mountpoint: PathArg;
  /** fuse.splicefs, or fuse.SUBTYPE (fsType) */
  fstype: string;
  /** mount(2) flags (mountFlags) */
  flags: number;
  /** bytes; the kernel's max_read mount option */
  maxRead: number;
  allowOther: boolean;
  /** The kernel checks permissions with the caller's credentials (see api/permissions.ts). */
  defaultPermissions: boolean;
}

/**
 * mount(2) of a FUSE connection: "fd=N,rootmode=...,user_id=...,group_id=..." as the kernel's
 * fuse_parse_param reads it (fs/fuse/inode.c), with the flags and type of `m`. Throws a
 * one-line SplicefsError.
 */
export function mountFuse(m: KernelMount): void {
  const data = [
    `fd=${m.devfd}`,
    'rootmode=40000',
    `user_id=${process.getuid?.() ?? 0}`,
    `group_id=${process.getgid?.() ?? 0}`,
    `max_read=${m.maxRead}`,
    ...(m.allowOther ? ['allow_other'] : []),
    ...(m.defaultPermissions ? ['default_permissions'] : []),
  ].join(',');
  const r = addon.mount(pathBytes(m.fsname), pathBytes(m.mountpoint), m.fstype, m.flags, data);
  const shown = showPath(m.mountpoint);
  if (r === -E.EPERM) throw new SplicefsError(`cannot mount on ${shown}: permission denied (mounting needs root)`);
  if (r < 0) throw new SplicefsError(`cannot mount on ${shown}: ${errnoName(r)}`);
}

/** fd of a fresh /dev/fuse (close-on-exec, O_NONBLOCK), or a one-line SplicefsError. */
export function openDevice(): number {
  const fd = addon.openDevice();
  if (fd === -E.ENOENT) throw new SplicefsError('/dev/fuse does not exist (is the fuse module loaded?)');
  if (fd === -E.EACCES || fd === -E.EPERM)
    throw new SplicefsError('cannot open /dev/fuse: permission denied (splicefs mounts with mount(2) and needs root)');
  if (fd < 0) throw new SplicefsError(`cannot open /dev/fuse: ${errnoName(fd)}`);
  return fd;
}

/** Detach a mount, ignoring failure (it may be gone already): never leave one behind a dead server. */
export function detach(mountpoint: PathArg): void {
  addon.umount(pathBytes(mountpoint), MNT_DETACH);
}
