// `splicefs umount MOUNTPOINT`: unmount; a busy mount is detached (its open files keep the
// connection until they close), and a stale mount of a killed server (ENOTCONN) is cleaned.
// As root with umount2, as anyone else through `fusermount3 -u` (mnt/connection.ts).
// Only FUSE mounts, as fusermount3 -u: as root, umount2 would take /proc or a disk just as well,
// and a lazy detach of a busy system mount is not what this command is for.
import { lstatSync, realpathSync } from 'node:fs';
import { SplicefsError } from '../errors.js';
import { unmountAt } from '../mnt/connection.js';
import { findMount } from '../mnt/mountinfo.js';
import { showPath } from '../paths.js';
import { scanArgs, usageError } from './args.js';

const SLASH = 0x2f;

/**
 * `mnt` as mountinfo spells it: resolved by the kernel (realpath). A stale mount cannot be
 * stat'ed (ENOTCONN), so then its parent is resolved and the last name kept. Bytes throughout.
 */
export function resolveMountpoint(mnt: Buffer): Buffer {
  try {
    return realpathSync.native(mnt, { encoding: 'buffer' });
  } catch {
    let end = mnt.length;
    while (end > 1 && mnt[end - 1] === SLASH) end--;
    const trimmed = mnt.subarray(0, end);
    const cut = trimmed.lastIndexOf(SLASH);
    const parent = cut < 0 ? Buffer.from('.') : cut === 0 ? Buffer.from('/') : trimmed.subarray(0, cut);
    try {
      const dir = realpathSync.native(parent, { encoding: 'buffer' });
      const name = trimmed.subarray(cut + 1);
      return Buffer.concat([dir, dir.at(-1) === SLASH ? Buffer.alloc(0) : Buffer.from('/'), name]);
    } catch {
      return mnt;
    }
  }
}

/** Whether the path names anything (a stale mount's ENOTCONN counts as something). */
function exists(path: Buffer): boolean {
  try {
    lstatSync(path);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/** A FUSE mount's type: fuse, fuse.SUBTYPE (fuse.splicefs, fuse.sshfs, ...) or fuseblk. */
export function isFuseType(fstype: string): boolean {
  return fstype === 'fuse' || fstype === 'fuseblk' || fstype.startsWith('fuse.');
}

/** args: the bytes after `umount`. Resolves with the exit code; throws a SplicefsError. */
export async function umountCommand(args: readonly Buffer[]): Promise<number> {
  const { positionals } = scanArgs(args, []);
  if (positionals.length !== 1) usageError('umount takes one MOUNTPOINT');
  const given = args[positionals[0]!]!;
  const mnt = resolveMountpoint(given);
  const entry = findMount(mnt);
  if (!entry) throw new SplicefsError(`${showPath(given)} ${exists(mnt) ? 'is not a mount point' : 'does not exist'}`);
  if (!isFuseType(entry.fstype))
    throw new SplicefsError(`${showPath(given)} is a ${entry.fstype} mount, not a FUSE mount: splicefs umount leaves it alone`);
  if ((await unmountAt(mnt)) === 'detached') process.stderr.write(`splicefs: ${showPath(given)} was busy: detached\n`);
  return 0;
}
