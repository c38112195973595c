// The system side of a mount: /proc/self/mountinfo look-ups, unmounting (including a stale
// mount left by a killed server), the connection's abort switch and the bdi readahead knob.
// Nothing here ever touches a path inside a FUSE mount we serve (that would deadlock the loop).
import { readFileSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { addon } from './addon.js';
import { errnoName, SplicefsError } from './errors.js';

const E = constants.errno;
export const MNT_DETACH = 2;

export interface MountEntry {
  /** st_dev of the mount as "major:minor". */
  major: number;
  minor: number;
  mountpoint: string;
  fstype: string;
  source: string;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function readMountinfo(): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    if (!line) continue;
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep < 0 || f.length < sep + 3) continue;
    const [major, minor] = f[2].split(':').map(Number);
    out.push({ major, minor, mountpoint: unescape(f[4]), fstype: f[sep + 1], source: unescape(f[sep + 2]) });
  }
  return out;
}

/** The last (topmost) mount at exactly this path, if any. */
export function findMount(mountpoint: string): MountEntry | undefined {
  const all = readMountinfo().filter((m) => m.mountpoint === mountpoint);
  return all[all.length - 1];
}

/**
 * Unmount `mountpoint`: a plain umount, or a lazy detach when it is busy (open files keep the
 * connection until they close). Returns 'unmounted' | 'detached'. Works on a stale mount whose
 * server died (ENOTCONN), which is what `splicefs umount` is for.
 */
export function unmountPath(mountpoint: string): 'unmounted' | 'detached' {
  let r = addon.umount(mountpoint, 0);
  if (r === 0) return 'unmounted';
  if (r === -E.EBUSY) {
    r = addon.umount(mountpoint, MNT_DETACH);
    if (r === 0) return 'detached';
  }
  switch (-r) {
    case E.EINVAL:
      throw new SplicefsError(`${mountpoint} is not a mount point`);
    case E.ENOENT:
      throw new SplicefsError(`${mountpoint} does not exist`);
    case E.EPERM:
      throw new SplicefsError(`cannot unmount ${mountpoint}: permission denied (unmounting needs root)`);
    default:
      throw new SplicefsError(`cannot unmount ${mountpoint}: ${errnoName(r)}`);
  }
}

/**
 * End a FUSE connection at once (its fuse.ko abort switch): outstanding requests fail and the
 * server's device read returns ENODEV. Used when a detached mount stays busy too long.
 */
export function abortConnection(minor: number): boolean {
  try {
    writeFileSync(`/sys/fs/fuse/connections/${minor}/abort`, '1');
    return true;
  } catch {
    return false;
  }
}

/** The readahead window of a FUSE mount's bdi ("0:minor"), in KiB; null if unreadable. */
export function readReadahead(minor: number): number | null {
  try {
    return Number(readFileSync(`/sys/class/bdi/0:${minor}/read_ahead_kb`, 'utf8').trim());
  } catch {
    return null;
  }
}

export function writeReadahead(minor: number, kb: number): void {
  try {
    writeFileSync(`/sys/class/bdi/0:${minor}/read_ahead_kb`, String(kb));
  } catch (err) {
    throw new SplicefsError(`cannot set read_ahead_kb of the mount: ${(err as Error).message}`);
  }
}

/** A /proc/sys value as a number, or the fallback where the file is missing (older kernels). */
export function readSysctl(path: string, fallback: number): number {
  try {
    const v = Number(readFileSync(path, 'utf8').trim());
    return Number.isFinite(v) && v > 0 ? v : fallback;
  } catch {
    return fallback;
  }
}
