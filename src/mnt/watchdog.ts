// Our own auto_unmount for a user's mount, where fusermount3's does not work: fusermount3 before
// libfuse 3.15 (Debian 12 has 3.14), woken by the server's death, opens the mountpoint as root,
// gets EACCES (without allow_other the kernel lets in the mounting user only) and exits leaving
// the stale mount. So for a mount made through fusermount3 with auto_unmount by a server that is
// not root, connection.ts also starts this watchdog: a detached child (its own session: a kill
// of the server's process group or terminal does not take it along; stdin is its end of a
// socket, stdout and stderr /dev/null) that blocks reading the socket and, at EOF (the server
// died or exited: the kernel closes the server's end, which only the server holds), runs
// `fusermount3 -u -z -- MOUNTPOINT` as the mount's owner, which unmounts a stale mount of this
// user. Root keeps fusermount3's own auto_unmount only (it works there).
//
// The watchdog is `/bin/sh -c 'while read -r _; do :; done; exec fusermount3 -u -z -q -- "$1"'
// splicefs-watchdog MOUNTPOINT`: one small process (a few hundred kB, against a Node process's
// tens of MB for a script of ours), no dependency beyond sh, and its command line names it and
// the mountpoint (what the tests look for). `read` returns only at EOF: nothing is ever written.
// The server's end is a socket Node makes close-on-exec (libuv's stdio 'pipe' is a socketpair
// with SOCK_CLOEXEC), so no other child of the server (fusermount3 -u, a daemon's children)
// holds it and keeps the watchdog waiting after the server is gone.
//
// A clean end (unmount(), a signal, `splicefs umount`: the session closes and the connection is
// released) stops the watchdog with SIGKILL right after the server's own unmount, so it never
// unmounts a later mount of the same mountpoint. Residual race, after a crash only: fusermount3's
// auto_unmount checks that the mount it unmounts is still the one it made (it looks for its
// connection going stale); the watchdog does not. If the server dies and someone mounts on the
// same mountpoint, as the same user, before the watchdog has run fusermount3 (milliseconds), the
// watchdog detaches that new mount. fusermount3 -u only unmounts the user's own mounts.
import { spawn, type ChildProcess } from 'node:child_process';
import { isUtf8 } from 'node:buffer';
import type { Logger } from 'pino';
import { pathBytes, showPath, type PathArg } from '../paths.js';
import { FUSERMOUNT } from './fusermount.js';

/** The watchdog's $0: what its command line shows (ps, /proc/PID/cmdline). */
export const WATCHDOG_NAME = 'splicefs-watchdog';
const SCRIPT = `while read -r _; do :; done; exec ${FUSERMOUNT} -u -z -q -- "$1"`;

/** A running watchdog: stop() before (or right after) a clean unmount. */
export interface Watchdog {
  readonly pid: number | undefined;
  /** Kill it (SIGKILL) and close our end: it will not unmount anything. Idempotent. */
  stop(): void;
}

/**
 * Start the watchdog for `mountpoint` (a path fusermount3 can be given: UTF-8; connection.ts
 * only mounts through the helper with one). Never throws: a watchdog that cannot be started
 * is logged (warn), and the mount goes on without it.
 */
export function startWatchdog(mountpoint: PathArg, logger: Logger): Watchdog {
  const b = pathBytes(mountpoint);
  if (!isUtf8(b)) return { pid: undefined, stop: () => {} };
  let child: ChildProcess | null;
  try {
    child = spawn('/bin/sh', ['-c', SCRIPT, WATCHDOG_NAME, b.toString('utf8')], {
      detached: true, // setsid(): its own session and process group
      stdio: ['pipe', 'ignore', 'ignore'],
      env: process.env,
    });
  } catch (err) {
    logger.warn({ err, mountpoint: showPath(b) }, 'cannot start the auto_unmount watchdog');
    return { pid: undefined, stop: () => {} };
  }
  child.on('error', (err) => logger.warn({ err, mountpoint: showPath(b) }, 'cannot start the auto_unmount watchdog'));
  // Never written: an EPIPE (the watchdog gone) is nothing to report.
  child.stdin?.on('error', () => {});
  // Neither the child nor our end may hold this process's event loop.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return {
    pid: child.pid,
    stop: () => {
      if (!child) return;
      const c = child;
      child = null;
      // Node sends nothing to a child it has already reaped (no pid reuse).
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      c.stdin?.destroy();
    },
  };
}
