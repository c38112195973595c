// What the system says about mounts: /proc/self/mountinfo look-ups, a FUSE connection's abort
// switch (fusectl) and its bdi readahead knob, and /proc/sys values. Reads and writes of
// /proc and /sys only; mount(2) and umount2(2) are kernel.ts's.
// Nothing here ever touches a path inside a FUSE mount we serve (that would deadlock the loop).
import { readFileSync, writeFileSync } from 'node:fs';
import { SplicefsError } from '../errors.js';

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
