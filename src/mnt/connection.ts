// How a FUSE connection is obtained and given back, whoever runs the server: root mounts with
// mount(2) on a /dev/fuse it opens itself (kernel.ts); anyone else, and any server asked for
// auto_unmount or for the helper by name, gets the device fd from fusermount3
// (fusermount.ts). api/mount.ts only calls prepare -> mount -> release/unmount.
import type { Logger } from 'pino';
import { addon } from '../addon.js';
import { SplicefsError } from '../errors.js';
import type { PathArg } from '../paths.js';
import { helperDetach, helperMount, helperUnmount, FUSERMOUNT, type HelperMount } from './fusermount.js';
import { detach, mountFuse, openDevice, unmountPath } from './kernel.js';
import { startWatchdog } from './watchdog.js';

/** What mounts: mount(2) by this process, or the fusermount3 helper. */
export type MountMechanism = 'mount(2)' | 'fusermount3';
/** MountOptions.mountHelper: auto (mount(2) as root, fusermount3 otherwise), or forced. */
export type MountHelper = 'auto' | 'none' | 'fusermount3';
export const MOUNT_HELPERS: readonly MountHelper[] = ['auto', 'none', 'fusermount3'];

/**
 * The mechanism for `helper` and `autoUnmount` run by `euid`: fusermount3 when asked for, for
 * auto_unmount (only the helper can outlive this process, as libfuse does for root too) and for
 * anyone but root; mount(2) for root otherwise, or when asked for ('none'). Throws a
 * SplicefsError (exit 2) for auto_unmount with 'none'.
 */
export function chooseMechanism(helper: MountHelper = 'auto', autoUnmount = false, euid = process.geteuid?.() ?? 0): MountMechanism {
  if (helper === 'none') {
    if (autoUnmount) throw new SplicefsError(`auto_unmount needs ${FUSERMOUNT}: it cannot go with mount_helper=none`, 2);
    return 'mount(2)';
  }
  return helper === 'fusermount3' || autoUnmount || euid !== 0 ? 'fusermount3' : 'mount(2)';
}

/** What is mounted (for mount(2), kernel.ts mountFuse's fields without the fd). */
export type ConnectionMount = HelperMount & { fstype: string };

/** A mounted connection: its device fd, how it was made, and how to let go of it. */
export interface Connection {
  readonly devfd: number;
  readonly via: MountMechanism;
  /** the helper stays to unmount after a crash */
  readonly autoUnmount: boolean;
  /**
   * The session is over: detach the mount if `stillMounted` (never leave a stale one), close
   * the device fd and the helper's socket. Never throws.
   */
  release(stillMounted: boolean): Promise<void>;
}

/** A connection about to be made: prepare()'s result, whose mount() may run once. */
export interface PendingConnection {
  readonly via: MountMechanism;
  /** Mount; resolves with the connection. A one-line SplicefsError, nothing left, on failure. */
  mount(m: ConnectionMount, logger: Logger): Promise<Connection>;
  /** Give back what prepare() made if mount() never ran or failed. Idempotent. */
  abandon(): void;
}

/**
 * The first step, where the errors of the mechanism belong: for mount(2) the device is opened
 * now (a one-line SplicefsError if it cannot be); for fusermount3 nothing is needed yet.
 */
export function prepare(via: MountMechanism): PendingConnection {
  if (via === 'fusermount3') return { via, mount: viaHelper, abandon: () => {} };
  let devfd = openDevice();
  return {
    via,
    abandon: () => {
      if (devfd >= 0) addon.close(devfd);
      devfd = -1;
    },
    mount: async (m) => {
      mountFuse({ ...m, devfd });
      const fd = devfd;
      devfd = -1; // the connection owns it from here
      return {
        devfd: fd,
        via,
        autoUnmount: false,
        release: async (stillMounted) => {
          if (stillMounted) detach(m.mountpoint);
          addon.close(fd);
        },
      };
    },
  };
}

async function viaHelper(m: ConnectionMount, logger: Logger): Promise<Connection> {
  const h = await helperMount(m);
  for (const w of h.warnings) logger.warn({ helper: FUSERMOUNT }, w);
  // Not root: fusermount3 < 3.15 leaves a user's mount behind after all (watchdog.ts), so our
  // own watchdog does the unmount too. Root keeps the helper's own auto_unmount only.
  const watchdog = h.commfd >= 0 && (process.geteuid?.() ?? 0) !== 0 ? startWatchdog(m.mountpoint, logger) : null;
  return {
    devfd: h.devfd,
    via: 'fusermount3',
    autoUnmount: h.commfd >= 0,
    release: async (stillMounted) => {
      // The device first: a lazy unmount must never wait on a server that no longer reads
      // (libfuse's fuse_kern_unmount closes first too).
      addon.close(h.devfd);
      if (stillMounted) await unmountAt(m.mountpoint, 'detach');
      // Right after our unmount (api/mount.ts's unmount() has unmounted before the session
      // closed): from here the watchdog could only unmount someone else's later mount.
      watchdog?.stop();
      if (h.commfd >= 0) addon.close(h.commfd);
    },
  };
}

/**
 * Unmount `mountpoint` as this process may: umount2 as root (kernel.ts unmountPath), else
 * `fusermount3 -u` (the mount must be this user's). 'unmounted' | 'detached' (it was busy: a lazy
 * detach). `how` 'detach': a lazy detach at once, failure ignored (resolves 'detached').
 * Otherwise rejects with a one-line SplicefsError.
 */
export async function unmountAt(mountpoint: PathArg, how: 'unmount' | 'detach' = 'unmount', euid = process.geteuid?.() ?? 0): Promise<'unmounted' | 'detached'> {
  if (how === 'detach') {
    if (euid === 0) detach(mountpoint);
    else await helperDetach(mountpoint);
    return 'detached';
  }
  if (euid === 0) return unmountPath(mountpoint);
  return helperUnmount(mountpoint);
}
