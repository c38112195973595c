// What the system says about mounts: /proc/self/mountinfo look-ups, a FUSE connection's abort
// switch (fusectl) and its bdi readahead knob, and /proc/sys values. Reads and writes of
// /proc and /sys only; mount(2) and umount2(2) are kernel.ts's.
// Nothing here ever touches a path inside a FUSE mount we serve (that would deadlock the loop).
import { readFileSync, writeFileSync } from 'node:fs';
import { SplicefsError } from '../errors.js';
import { pathBytes, showPath, type PathArg } from '../paths.js';

export interface MountEntry {
  /** st_dev of the mount as "major:minor". */
  major: number;
  minor: number;
  /** The mountpoint for messages (showPath: non-UTF-8 bytes escaped as \xNN). */
  mountpoint: string;
  /** The mountpoint's bytes, as mount(2) and umount2 take them (need not be UTF-8). */
  mountpointBytes: Buffer;
  fstype: string;
  /** The mount's source (fsname) for messages, escaped as mountpoint is. */
  source: string;
  /** The super block's options as mountinfo has them (a FUSE mount's carry user_id=UID). */
  superOptions: string;
}

const SPACE = 0x20;
const NEWLINE = 0x0a;
const BACKSLASH = 0x5c;

/** The kernel escapes space, tab, newline and backslash in mountinfo fields as \ooo (octal). */
function unescapeBytes(field: Buffer): Buffer {
  if (!field.includes(BACKSLASH)) return field;
  const out: number[] = [];
  for (let i = 0; i < field.length; i++) {
    const oct = field.toString('latin1', i + 1, i + 4);
    if (field[i] === BACKSLASH && /^[0-7]{3}$/.test(oct)) {
      out.push(parseInt(oct, 8) & 0xff);
      i += 3;
    } else out.push(field[i]);
  }
  return Buffer.from(out);
}

/** Buffer split on one byte value. */
function splitBytes(b: Buffer, sep: number): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  for (let i = b.indexOf(sep); i >= 0; i = b.indexOf(sep, start)) {
    parts.push(b.subarray(start, i));
    start = i + 1;
  }
  parts.push(b.subarray(start));
  return parts;
}

/**
 * Every mount this process sees. Read as bytes: a mountpoint that is not UTF-8 is found by its
 * bytes (a lossy decode would turn it into a path that does not exist).
 */
export function readMountinfo(): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of splitBytes(readFileSync('/proc/self/mountinfo'), NEWLINE)) {
    if (line.length === 0) continue;
    const f = splitBytes(line, SPACE);
    const sep = f.findIndex((x) => x.length === 1 && x[0] === 0x2d /* '-' */);
    if (sep < 0 || f.length < sep + 3) continue;
    const [major, minor] = f[2].toString('latin1').split(':').map(Number);
    const mountpointBytes = Buffer.from(unescapeBytes(f[4]));
    out.push({
      major,
      minor,
      mountpoint: showPath(mountpointBytes),
      mountpointBytes,
      fstype: f[sep + 1].toString('utf8'),
      source: showPath(unescapeBytes(f[sep + 2])),
      superOptions: f[sep + 3]?.toString('utf8') ?? '',
    });
  }
  return out;
}

/** The last (topmost) mount at exactly this path (compared as bytes), if any. */
export function findMount(mountpoint: PathArg): MountEntry | undefined {
  const want = pathBytes(mountpoint);
  const all = readMountinfo().filter((m) => m.mountpointBytes.equals(want));
  return all[all.length - 1];
}

/** The user_id= of a FUSE mount (the uid its server mounted it as), or undefined. */
export function fuseOwner(entry: MountEntry): number | undefined {
  if (!entry.fstype.startsWith('fuse')) return undefined;
  const m = /(?:^|,)user_id=(\d+)(?:,|$)/.exec(entry.superOptions);
  return m ? Number(m[1]) : undefined;
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
