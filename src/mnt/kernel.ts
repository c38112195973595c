// mount(2) and umount2(2) as root: the kernel mount of a FUSE connection and its removal
// (including a stale mount left by a killed server). A later fusermount.ts mounts without root.
import { constants } from 'node:os';
import { addon } from '../addon.js';
import { errnoName, SplicefsError } from '../errors.js';

const E = constants.errno;
/** umount2 flag: detach now, let open files keep the connection until they close. */
export const MNT_DETACH = 2;

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

