// Acting as the caller: operations that make a new object (CREATE, MKNOD, MKDIR, SYMLINK,
// TMPFILE) run with the caller's fsuid, fsgid and supplementary groups and umask, so the new
// object belongs to whom it would on the source (a set-group-ID directory's group, the
// set-group-ID bit kept or dropped by group membership) and the source's own permission checks
// are the caller's.
//
// Credentials are per thread in the kernel; the addon switches those of the calling thread only
// (raw syscalls, addon/writeops.cc), and handlers run on the event loop's thread one at a time,
// so the switch never leaks to another request or to the worker threads. The umask is the
// process's, but only the event loop creates files, so setting it around one call is safe.
//
// Only root may switch: a server run by a user (mounted through fusermount3) creates
// everything as that user, as the source would for any process of theirs; whoever else reaches
// the mount (allow_other) gets objects owned by the server's user, never an EPERM.
//
// Everything else (SETATTR, RENAME, UNLINK, LINK, WRITE) runs with the server's own
// credentials: with default_permissions the kernel has checked the caller already, and the
// source must not refuse what the kernel allowed (a writer's kill of set-user-ID, sent as a
// SETATTR of the mode, comes from a caller who may not own the file).
import { readFileSync } from 'node:fs';
import { addon } from '../addon.js';
import type { Caller } from './fs.js';

/** What a credential switch did, for stats. */
export interface CredStats {
  /** operations run as a caller other than the server itself */
  switched: number;
  /** callers whose process had gone (or changed ids) before its groups were read: no supplementary groups */
  groupsUnknown: number;
}

const NO_GROUPS = new Uint32Array(0);

export class Credentials {
  readonly stats: CredStats = { switched: 0, groupsUnknown: 0 };
  private readonly ownUid = process.getuid?.() ?? 0;
  private readonly ownGid = process.getgid?.() ?? 0;
  /** Switching needs root (CAP_SETUID, CAP_SETGID): anyone else runs every op as itself. */
  private readonly canSwitch = (process.geteuid?.() ?? 0) === 0;

  /**
   * Run `op` as `c` with umask `umask` (the caller's, from the request; FUSE_DONT_MASK) and
   * return its result. A caller who is the server itself runs without a switch (only the umask).
   * A server that is not root never switches (every op runs as its own user). -EPERM if a
   * switch is refused.
   */
  asCaller(c: Caller, umask: number, op: () => number): number {
    const oldMask = addon.umask(umask & 0o777);
    try {
      if (!this.canSwitch || (c.uid === this.ownUid && c.gid === this.ownGid)) return op();
      const r = addon.setCreds(c.uid, c.gid, this.groupsOf(c));
      if (r < 0) {
        addon.restoreCreds();
        return r;
      }
      this.stats.switched++;
      try {
        return op();
      } finally {
        const back = addon.restoreCreds();
        // Cannot happen for a root server; if it did, every later request would run as this caller.
        if (back < 0) throw new Error(`could not restore the server's credentials: errno ${-back}`);
      }
    } finally {
      addon.umask(oldMask);
    }
  }

  /**
   * The caller's supplementary groups from /proc/PID/status. The request carries uid, gid and
   * pid only; the groups are trusted only if that process still has the request's fsuid and
   * fsgid (a pid that exited and was reused belongs to someone else): else none.
   */
  private groupsOf(c: Caller): Uint32Array {
    let text: string;
    try {
      text = readFileSync(`/proc/${c.pid}/status`, 'latin1');
    } catch {
      this.stats.groupsUnknown++;
      return NO_GROUPS;
    }
    const ids = (key: string): string[] => {
      const m = new RegExp(`^${key}:\\s*(.*)$`, 'm').exec(text);
      return m?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
    };
    // Uid:/Gid: list real, effective, saved and filesystem ids: the fourth is what the kernel sent.
    if (Number(ids('Uid')[3]) !== c.uid || Number(ids('Gid')[3]) !== c.gid) {
      this.stats.groupsUnknown++;
      return NO_GROUPS;
    }
    return Uint32Array.from(ids('Groups').map(Number));
  }
}
