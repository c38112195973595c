// Node fds under a budget: which nodes hold an O_PATH fd, which give it back, how they get it
// again. The inode table (inodes.ts) decides node lifetimes; this decides fds, and is the only
// code that reads or writes a node's fd fields.
//
// Each node the kernel remembers used to pin an fd until FORGET, so RLIMIT_NOFILE capped the
// tree a user could walk. Now a node past the budget gives its fd back, least recently used
// first (the root and nodes with open handles never do), and gets it again on demand:
//   - by file handle (name_to_handle_at at lookup, open_by_handle_at with one real fd per
//     filesystem), where the filesystem makes handles that open again;
//   - else by parent node and name (overlayfs without nfs_export, procfs, sysfs): the node keeps
//     its name and a reference on its parent, which keeps the parent in the table.
// Either way the re-opened object must still be (st_dev, st_ino), else ESTALE: a name that now
// names another file must not answer for the old one.
import { constants } from 'node:os';
import type { Logger } from 'pino';
import { addon } from '../addon.js';
import { errnoName } from '../errors.js';
import { AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, O_DIRECTORY, O_NOFOLLOW, O_PATH, O_RDONLY } from '../kernel/linux.js';
import { MIN_NODE_FDS } from './fd-limit.js';
import type { Node } from './inodes.js';
import { newStat, St } from './stat.js';

const E = constants.errno;
/** heldFd of a node that gave its fd back (it re-opens on demand). */
export const NO_FD = -1;
/** heldFd of a node the table dropped: any later use is stale. */
const DROPPED = -2;

/** What the fd budget did, for stats (counts since mount). */
export interface NodeFdStats {
  /** Node fds allowed before least-recently-used nodes give theirs back. */
  budget: number;
  /** Node fds held now (the root's and those of nodes with open handles included). */
  held: number;
  /** Node fds given back. */
  shed: number;
  reopenedByHandle: number;
  reopenedByName: number;
  /** Re-opens that found the object gone or another object under the name (ESTALE). */
  stale: number;
  /** Opens that failed with EMFILE/ENFILE (each shed fds and retried once). */
  limitHits: number;
  /** Filesystems seen (st_dev values), and how many of them re-open by file handle. */
  filesystems: number;
  handleFilesystems: number;
}

export class NodeFds {
  /** Sheddable nodes holding an fd, least recently used first (Set keeps insertion order). */
  private readonly lru = new Set<Node>();
  /** Held fds of pinned nodes (root, open handles): not in the LRU. */
  private pinnedHeld = 0;
  /** The node touched last: touching it again needs no reordering. */
  private last: Node | null = null;
  /** Per st_dev: a real (not O_PATH) fd for open_by_handle_at, or -errno: no handles there. */
  private readonly devs = new Map<bigint, number>();
  private readonly handleBuf = Buffer.allocUnsafe(4 + addon.MAX_HANDLE_SZ);
  private readonly nameBuf = Buffer.allocUnsafe(4096);
  /** Own scratch stat: re-opens happen inside handlers that hold the caller's stat array. */
  private readonly st = newStat();
  private readonly n = { shed: 0, reopenedByHandle: 0, reopenedByName: 0, stale: 0, limitHits: 0, filesystems: 0, handleFilesystems: 0 };
  private budgetLogged = false;
  private limitLogged = false;

  /** `budget`: node fds to hold at most (see fd-limit.ts nodeFdBudget). */
  constructor(
    private budget: number,
    private readonly logger?: Logger,
  ) {}

  /** The root's fd: held for good (pinned), and its filesystem probed for handles. */
  adoptRoot(root: Node, fd: number): void {
    root.opens = 1; // never released: the root never gives its fd back
    this.probeDev(root.dev, fd);
    this.hold(root, fd);
  }

  /**
   * A node new to the table, with the fd its lookup opened: learn how to re-open it and hold the
   * fd. On a filesystem with file handles the handle is made only when the fd is given back
   * (shed): most nodes are forgotten before that, and a listing admits one node per entry.
   * Elsewhere the node re-opens by `name` in `parent`, taking a reference on the parent.
   */
  admit(node: Node, fd: number, parent: Node, name: Uint8Array, isDir: boolean): void {
    let mountFd = this.devs.get(node.dev);
    // A filesystem is judged by its first directory: the handle fd must be a real open.
    if (mountFd === undefined && isDir) mountFd = this.probeDev(node.dev, fd);
    if (mountFd === undefined || mountFd < 0) {
      node.reopen = Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString('latin1');
      node.parent = parent;
      parent.refs++;
    }
    this.hold(node, fd);
  }

  /**
   * A node new to the table that has no name (an O_TMPFILE file): re-open by file handle where
   * its filesystem makes them; else it is pinned (opens + 1), since nothing could re-open it.
   */
  admitUnnamed(node: Node, fd: number): void {
    const mountFd = this.devs.get(node.dev);
    const h = mountFd !== undefined && mountFd >= 0 ? addon.nameToHandle(fd, this.handleBuf) : -E.EOPNOTSUPP;
    if (h > 0) node.reopen = this.handleBuf.toString('latin1', 0, h);
    else node.opens++;
    this.hold(node, fd);
  }

  /** A lookup opened a fresh fd for a node the table already has: keep it if the node has none. */
  offer(node: Node, fd: number): void {
    if (node.heldFd === NO_FD) this.hold(node, fd);
    else addon.close(fd);
  }

  /**
   * A node that re-opens by name was just found as `name` in `parent`: re-open by that name from
   * now on (its old name may have been renamed or unlinked in the source since; a hard link has
   * several). Returns the old parent when it changed (its reference is dropped: the caller may
   * release it), else null. Only to a parent older than the node (smaller nodeid), so parent
   * references never form a cycle and a re-open by name always ends at the root.
   */
  repoint(node: Node, parent: Node, name: Uint8Array): Node | null {
    const old = node.parent;
    if (old === null || parent.nodeid >= node.nodeid) return null;
    const bytes = Buffer.from(name.buffer, name.byteOffset, name.byteLength).toString('latin1');
    if (old === parent) {
      node.reopen = bytes;
      return null;
    }
    node.reopen = bytes;
    node.parent = parent;
    parent.refs++;
    old.refs--;
    return old;
  }

  /**
   * The node's O_PATH fd, re-opened if it was given back, or -errno (ESTALE: the object is gone
   * or its name now names another one). Valid until the next call into this table: use it at
   * once, never keep it.
   */
  get(node: Node): number {
    const fd = node.heldFd;
    if (fd >= 0) {
      if (node.opens === 0 && node !== this.last) {
        this.lru.delete(node);
        this.lru.add(node);
        this.last = node;
      }
      return fd;
    }
    if (fd === DROPPED) return -E.ESTALE;
    return this.reopen(node);
  }

  /** An open handle on the node: its fd stays until unpin. */
  pin(node: Node): void {
    if (node.opens++ === 0 && node.heldFd >= 0) {
      this.lru.delete(node);
      this.pinnedHeld++;
    }
  }

  /** The handle is gone: at zero open handles the node may give its fd back again. */
  unpin(node: Node): void {
    if (--node.opens === 0 && node.heldFd >= 0) {
      this.pinnedHeld--;
      const fd = node.heldFd;
      node.heldFd = NO_FD;
      this.hold(node, fd);
    }
  }

  /** The table dropped the node: close its fd; later uses get ESTALE. */
  drop(node: Node): void {
    if (node.heldFd >= 0) {
      addon.close(node.heldFd);
      if (node.opens > 0) this.pinnedHeld--;
      else this.lru.delete(node);
    }
    node.heldFd = DROPPED;
    if (this.last === node) this.last = null;
  }

  /**
   * Run `open` (which must get every fd it uses through get(), so a retry gets them again); on
   * EMFILE/ENFILE give back a quarter of the held node fds, lower the budget to what is left,
   * and run it once more. Returns its result (an fd or -errno). Logged once per mount.
   */
  open(open: () => number): number {
    const fd = open();
    if (fd !== -E.EMFILE && fd !== -E.ENFILE) return fd;
    this.n.limitHits++;
    const shed = this.shed(Math.max(16, this.lru.size >> 2));
    const was = this.budget;
    this.budget = Math.max(MIN_NODE_FDS, this.lru.size);
    if (!this.limitLogged) {
      this.limitLogged = true;
      this.logger?.warn(
        { errno: errnoName(fd), shed, held: this.held, budget: this.budget, budgetWas: was },
        'fd limit hit: gave back node fds, lowered the node fd budget and retried (logged once; counted in stats fds.limitHits)',
      );
    }
    return open();
  }

  get held(): number {
    return this.lru.size + this.pinnedHeld;
  }

  stats(): NodeFdStats {
    return { budget: this.budget, held: this.held, ...this.n };
  }

  /** Close the per-filesystem fds (node fds go with drop(), node by node). */
  closeDevs(): void {
    for (const fd of this.devs.values()) if (fd >= 0) addon.close(fd);
    this.devs.clear();
  }

  /** Hold `fd` for `node`: pinned nodes outside the LRU; others at its end, making room first. */
  private hold(node: Node, fd: number): void {
    node.heldFd = fd;
    if (node.opens > 0) {
      this.pinnedHeld++;
      return;
    }
    // Room first, so the fd just handed out is never the one given back.
    if (this.lru.size >= this.budget) this.shedForBudget();
    this.lru.add(node);
    this.last = node;
  }

  /**
   * Idle time (nothing to read from the device): give fds back ahead of need, at most `max` now,
   * down to one batch below the budget, so that the lookups of the next listing seldom wait for
   * hold() to shed (a shed fd costs a file handle and a close, some 3 µs). True if it gave any
   * back: the caller looks for a request before asking for more. The budget itself is unchanged.
   */
  shedAhead(max: number): boolean {
    const over = this.lru.size - (this.budget - this.batch());
    if (over <= 0) return false;
    this.logBudget();
    return this.shed(Math.min(over, max)) > 0;
  }

  /** Fds given back at once when the budget is reached: 1/32 of it, so the cost is paid once per many lookups. */
  private batch(): number {
    return Math.max(1, this.budget >> 5);
  }

  private shedForBudget(): void {
    this.shed(this.batch());
    this.logBudget();
  }

  private logBudget(): void {
    if (!this.budgetLogged) {
      this.budgetLogged = true;
      this.logger?.info(
        { budget: this.budget },
        'node fd budget reached: least recently used nodes give back their fds and re-open on demand (logged once)',
      );
    }
  }

  /** Give back the fds of the `count` least recently used nodes; returns how many. */
  private shed(count: number): number {
    let done = 0;
    for (const node of this.lru) {
      if (done >= count) break;
      this.lru.delete(node); // deleting the visited entry keeps a Set iterator valid
      if (node.parent === null && node.reopen === null && !this.makeHandle(node)) continue;
      addon.close(node.heldFd);
      node.heldFd = NO_FD;
      done++;
    }
    if (this.last !== null && this.last.heldFd < 0) this.last = null;
    this.n.shed += done;
    return done;
  }

  /**
   * The file handle a node admitted without one re-opens by, made from its fd before it goes.
   * Where the filesystem will not make one for this object (it made one for the filesystem's
   * first directory), the node has no other way back: it keeps its fd for good, pinned. False then.
   */
  private makeHandle(node: Node): boolean {
    const h = addon.nameToHandle(node.heldFd, this.handleBuf);
    if (h > 0) {
      node.reopen = this.handleBuf.toString('latin1', 0, h);
      return true;
    }
    node.opens++;
    this.pinnedHeld++;
    return false;
  }

  private reopen(node: Node): number {
    const fd = node.parent !== null ? this.reopenByName(node, node.parent) : this.reopenByHandle(node);
    if (fd < 0) {
      if (fd === -E.ESTALE) this.n.stale++;
      return fd;
    }
    // The same object, or nothing: never another file under the old name (or a recycled handle).
    const r = addon.fstatat(fd, '', AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, this.st);
    if (r < 0 || this.st[St.dev] !== node.dev || this.st[St.ino] !== node.ino) {
      addon.close(fd);
      this.n.stale++;
      return -E.ESTALE;
    }
    if (node.parent !== null) this.n.reopenedByName++;
    else this.n.reopenedByHandle++;
    this.hold(node, fd);
    return fd;
  }

  private reopenByHandle(node: Node): number {
    const mountFd = this.devs.get(node.dev);
    if (node.reopen === null || mountFd === undefined || mountFd < 0) return -E.ESTALE;
    const handle = node.reopen;
    return this.open(() => {
      const n = this.handleBuf.write(handle, 'latin1');
      return addon.openByHandle(mountFd, this.handleBuf.subarray(0, n), O_PATH);
    });
  }

  private reopenByName(node: Node, parent: Node): number {
    const name = node.reopen;
    if (name === null) return -E.ESTALE;
    const fd = this.open(() => {
      const pfd = this.get(parent); // may re-open the parent (and its parents) first
      if (pfd < 0) return pfd;
      const n = this.nameBuf.write(name, 'latin1');
      return addon.openat(pfd, this.nameBuf.subarray(0, n), O_PATH | O_NOFOLLOW, 0);
    });
    return fd === -E.ENOENT ? -E.ESTALE : fd; // the name left: the node is stale, not "no such name"
  }

  /**
   * Judge a filesystem by a directory on it: a real fd for open_by_handle_at, kept if a handle of
   * that directory opens again (needs CAP_DAC_READ_SEARCH; overlayfs without nfs_export makes
   * handles that do not). Returns the fd or -errno (then its nodes re-open by name).
   */
  private probeDev(dev: bigint, dirFd: number): number {
    let result = addon.nameToHandle(dirFd, this.handleBuf);
    if (result > 0) {
      const mountFd = this.open(() => addon.openat(dirFd, '.', O_RDONLY | O_DIRECTORY, 0));
      const back = mountFd < 0 ? mountFd : addon.openByHandle(mountFd, this.handleBuf.subarray(0, result), O_PATH);
      if (back >= 0) addon.close(back);
      else if (mountFd >= 0) addon.close(mountFd);
      result = back >= 0 ? mountFd : back;
    }
    this.devs.set(dev, result);
    this.n.filesystems++;
    if (result >= 0) this.n.handleFilesystems++;
    this.logger?.debug(
      { dev: String(dev), handles: result >= 0, why: result < 0 ? errnoName(result) : undefined },
      result >= 0 ? 'filesystem nodes re-open by file handle' : 'filesystem without usable file handles: nodes re-open by parent and name',
    );
    return result;
  }
}
