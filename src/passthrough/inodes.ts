// The inode table: node identities and lifetimes, and the only way to a node's fd.
//
// A node is a source object the kernel knows by nodeid. Identity is (st_dev, st_ino), so hard
// links share a node (and the kernel sees one inode). A node reaches its object through an
// O_PATH|O_NOFOLLOW fd: every operation is an *at call relative to it, so no path string inside
// the source is ever resolved again and a symlink is never followed out of the source tree.
// The fd may have been given back under the fd budget: fd(node) gets it again (node-fds.ts).
import { constants } from 'node:os';
import { addon } from '../addon.js';
import { FUSE_ROOT_ID } from '../kernel/abi.js';
import { AT_EMPTY_PATH, AT_STATX_DONT_SYNC, AT_SYMLINK_NOFOLLOW, O_DIRECTORY, O_NOFOLLOW, O_PATH, RESOLVE_NO_XDEV, S_IFDIR, S_IFMT } from '../kernel/linux.js';
import { InoMap } from './ino-map.js';
import { NO_FD, NodeFds } from './node-fds.js';
import type { NodeNames } from './node-names.js';
import { modeOf, St, type StatArray } from './stat.js';

const E = constants.errno;

export interface Node {
  readonly nodeid: number;
  /** The source's st_dev and st_ino (exact 64-bit). */
  readonly dev: bigint;
  readonly ino: bigint;
  /** The inode number callers see through the mount (ino-map.ts): unique across filesystems. */
  readonly mountIno: bigint;
  /** Lookups the kernel holds on this node (FUSE lookup count); the root is never forgotten. */
  nlookup: number;
  /** Set when splice from this file failed for lack of splice_read: copy from now on. */
  noSplice: boolean;
  // ---- owned by node-fds.ts: nobody else reads or writes these; use InodeTable.fd(node) ----
  /** The O_PATH fd, NO_FD when given back (re-opened on demand), or < NO_FD once dropped. */
  heldFd: number;
  /** How to re-open: file handle bytes (latin1), or with `parent` set, the name's bytes. */
  reopen: string | null;
  /** Set for nodes that re-open by name: the directory the name is in (holds a ref on it). */
  parent: Node | null;
  /** Nodes that re-open by name in this one: it stays in the table while any does. */
  refs: number;
  /** Open file and directory handles (the root: 1 for good): while > 0 the fd stays. */
  opens: number;
}

export class InodeTable {
  private readonly byId = new Map<number, Node>();
  private readonly byKey = new ByIdentity();
  private nextId = FUSE_ROOT_ID + 1;
  /** The st_dev of the last node made: nodes of one filesystem share one bigint (24 bytes each). */
  private lastDev = -1n;
  readonly root: Node;
  readonly inoMap: InoMap;
  /** Our own mount, where it can be reached from inside the source (setOwnMount). */
  private own: { dev: bigint; coveredFd: number } | null = null;
  /** openat2 is there (Linux 5.6+): a lookup tries RESOLVE_NO_XDEV first (find). */
  private noXdev = true;
  /** Set only while the log is at debug level: told every name a lookup finds (node-names.ts). */
  names: NodeNames | null = null;

  /** Opens the source root; throws an errno number if it cannot. */
  constructor(
    source: string | Uint8Array,
    st: StatArray,
    private readonly fds: NodeFds,
  ) {
    const fd = addon.openat(-100 /* AT_FDCWD */, source, O_PATH | O_DIRECTORY, 0);
    const r = statOrClose(fd, st);
    if (r < 0) throw -r;
    this.inoMap = new InoMap(st[St.dev]);
    this.root = this.insert(FUSE_ROOT_ID, st[St.dev], st[St.ino]);
    this.root.nlookup = 1;
    fds.adoptRoot(this.root, fd);
  }

  /** Nodes in the table (those the kernel holds, and parents kept for their children's names). */
  get size(): number {
    return this.byId.size;
  }

  get(nodeid: number): Node | undefined {
    return this.byId.get(nodeid);
  }

  /**
   * The node's O_PATH fd, re-opened if it was given back; -errno if that fails (ESTALE: the
   * object is gone, or its name now names another object). Use it at once: it is valid only
   * until the next call into this table.
   */
  fd(node: Node): number {
    return this.fds.get(node);
  }

  /**
   * Open a new fd from the node's (an open file or directory handle): `open` gets the node's fd
   * and returns a new fd or -errno. On EMFILE/ENFILE node fds are given back and it runs once
   * more. The caller owns the result.
   */
  open(node: Node, open: (fd: number) => number): number {
    return this.fds.open(() => {
      const fd = this.fds.get(node);
      return fd < 0 ? fd : open(fd);
    });
  }

  /** An open handle on the node keeps its fd (call unpin when the handle is released). */
  pin(node: Node): void {
    this.fds.pin(node);
  }

  unpin(node: Node): void {
    this.fds.unpin(node);
  }

  /**
   * LOOKUP of `name` in `parent`: stat into `st` and return the node with its lookup count
   * raised by one, or -errno. Never follows a symlink in the last component.
   */
  lookup(parent: Node, name: Uint8Array, st: StatArray): Node | number {
    const r = this.find(parent, name, st);
    if (this.names !== null && typeof r !== 'number') this.names.learn(r, parent, name);
    return r;
  }

  private find(parent: Node, name: Uint8Array, st: StatArray): Node | number {
    // One open that may not cross a mount: a name on the source's own mount (nearly every
    // name) needs no more, since only a mount point can lead onto our own mount.
    let fd = -E.EXDEV;
    if (this.own !== null && this.noXdev) {
      fd = this.open(parent, (pfd) => addon.openStat(pfd, name, O_PATH | O_NOFOLLOW, RESOLVE_NO_XDEV, st));
      if (fd === -E.ENOSYS) {
        this.noXdev = false; // no openat2 (before Linux 5.6): every lookup takes the long way
        fd = -E.EXDEV;
      }
    }
    if (fd === -E.EXDEV) {
      // A mount point (or no openat2). First from the kernel's cache only: if the name leads
      // onto our own mount, a real stat would be a request to ourselves that this thread, busy
      // here, could never answer (a hang for good). By name, not by fd: fstat of an fd (an
      // empty path) ignores AT_STATX_DONT_SYNC.
      if (this.own !== null) {
        const r = this.open(parent, (pfd) => addon.fstatat(pfd, name, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC, st));
        if (r >= 0 && st[St.dev] === this.own.dev) return this.coveredNode(st);
      }
      // Then for real, by the fd: DONT_SYNC may have answered from a network filesystem's cache.
      fd = this.open(parent, (pfd) => addon.openStat(pfd, name, O_PATH | O_NOFOLLOW, 0, st));
    }
    if (fd < 0) return fd;
    const existing = this.known(fd, st);
    if (existing) {
      const oldParent = this.fds.repoint(existing, parent, name); // the name that works now
      if (oldParent !== null) this.release(oldParent);
      return existing;
    }
    const node = this.newNode(st);
    this.fds.admit(node, fd, parent, name, (modeOf(st) & S_IFMT) === S_IFDIR);
    return node;
  }

  /**
   * The node of the object `fd` (an O_PATH fd, or -errno from opening it) names, its lookup
   * count raised by one: stat into `st`; the node already in the table (offered the fd), or a
   * new one whose fd `hold` takes. -errno (fd closed) if the stat fails.
   */
  private knownOrNew(fd: number, st: StatArray, hold: (node: Node) => void): Node | number {
    const r = statOrClose(fd, st);
    if (r < 0) return r;
    const existing = this.known(fd, st);
    if (existing) return existing;
    const node = this.newNode(st);
    hold(node);
    return node;
  }

  /** A new node for the object `st` describes, with one lookup. */
  private newNode(st: StatArray): Node {
    const node = this.insert(this.nextId++, st[St.dev], st[St.ino]);
    node.nlookup = 1;
    return node;
  }

  /**
   * A node for the object an O_PATH `fd` names, found without a name (an O_TMPFILE file): stat
   * into `st`, then the node already known for it or a new one, its lookup count raised by one.
   * Takes `fd` (closed on error). Such a node re-opens by file handle where its filesystem makes
   * them, else keeps its fd for good: it has no name to re-open by.
   */
  adopt(fd: number, st: StatArray): Node | number {
    return this.knownOrNew(fd, st, (node) => this.fds.admitUnnamed(node, fd));
  }

  /**
   * `name` in `parent` was renamed to (or, by RENAME_EXCHANGE, swapped with) another name: a
   * node that re-opens by name follows the object to its new name, `newName` in `newParent`.
   * Stats the new name only from the cache of the source (never a request to ourselves).
   */
  renamed(newParent: Node, newName: Uint8Array, st: StatArray): void {
    const pfd = this.fds.get(newParent);
    if (pfd < 0 || addon.fstatat(pfd, newName, AT_SYMLINK_NOFOLLOW, st) < 0) return;
    const node = this.byKey.get(st[St.dev], st[St.ino]);
    if (!node || node.parent === null) return;
    const oldParent = this.fds.repoint(node, newParent, newName);
    if (oldParent !== null) this.release(oldParent);
  }

  /**
   * Our mount, reachable from inside the source: `dev` is its st_dev; `coveredFd` an O_PATH fd of
   * the directory it covers, opened before mounting (-1 when the mountpoint is not inside the
   * source). A name that leads onto the mount is answered with the covered directory, as the
   * source looked before the mount, so no lookup ever recurses into the server itself.
   */
  setOwnMount(dev: bigint, coveredFd: number): void {
    this.own = { dev, coveredFd };
  }

  /**
   * The covered directory's node, or ELOOP when the own mount was reached some other way. Its fd
   * is pinned: re-opening it by name would walk onto the mount again.
   */
  private coveredNode(st: StatArray): Node | number {
    const covered = this.own?.coveredFd ?? -1;
    if (covered < 0) return -E.ELOOP;
    // "." of the covered directory stays on it: a dot never crosses onto a mount.
    const fd = addon.openat(covered, '.', O_PATH | O_DIRECTORY, 0);
    return this.knownOrNew(fd, st, (node) => this.fds.adoptRoot(node, fd)); // held for good, like the root's
  }

  /**
   * The node already in the table for the object `st` describes, with one more lookup and `fd`
   * offered to it (kept if it had given its fd back, else closed); null if there is none.
   */
  private known(fd: number, st: StatArray): Node | null {
    const existing = this.byKey.get(st[St.dev], st[St.ino]);
    if (!existing) return null;
    this.fds.offer(existing, fd);
    existing.nlookup++;
    return existing;
  }

  /**
   * The inode number a directory entry shows (readdir's d_ino), equal to what a lookup of it
   * gives: the entry's d_ino on the directory's filesystem, unless the entry is a mountpoint (a
   * directory whose stat names another filesystem). Stats only from the cache (see lookup).
   */
  direntIno(dir: Node, dirfd: number, name: Uint8Array, dIno: bigint, mayBeMountpoint: boolean, st: StatArray): bigint {
    if (mayBeMountpoint && addon.fstatat(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC, st) >= 0) {
      const dev = st[St.dev];
      if (dev !== dir.dev && !(this.own !== null && dev === this.own.dev)) return this.inoMap.map(dev, st[St.ino]);
    }
    return this.inoMap.map(dir.dev, dIno);
  }

  /** FORGET: drop n lookups; the node goes (and its fd closes) at zero, unless names need it. */
  forget(nodeid: number, n: number): void {
    const node = this.byId.get(nodeid);
    if (!node || node === this.root) return;
    node.nlookup -= n;
    this.release(node);
  }

  /** stat of the node itself into `st`; 0 or -errno. */
  stat(node: Node, st: StatArray): number {
    const fd = this.fds.get(node);
    return fd < 0 ? fd : addon.fstatat(fd, '', AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, st);
  }

  /** Close every fd (at shutdown). */
  closeAll(): void {
    for (const node of this.byId.values()) this.fds.drop(node);
    this.fds.closeDevs();
    if (this.own && this.own.coveredFd >= 0) addon.close(this.own.coveredFd);
    this.own = null;
    this.byId.clear();
    this.byKey.clear();
  }

  /**
   * Drop a node nobody needs any more (no kernel lookups, no child re-opening by name through
   * it), then its parent if that was the last thing keeping it. A loop, not recursion: a
   * chain can be as deep as the tree.
   */
  private release(start: Node): void {
    let node: Node | null = start;
    while (node !== null && node !== this.root && node.nlookup <= 0 && node.refs === 0) {
      this.byId.delete(node.nodeid);
      this.byKey.delete(node);
      this.fds.drop(node);
      const parent: Node | null = node.parent;
      node.parent = null;
      if (parent !== null) parent.refs--;
      node = parent;
    }
  }

  private insert(nodeid: number, stDev: bigint, ino: bigint): Node {
    const dev = stDev === this.lastDev ? this.lastDev : (this.lastDev = stDev);
    const node: Node = { nodeid, dev, ino, mountIno: this.inoMap.map(dev, ino), nlookup: 0, noSplice: false, heldFd: NO_FD, reopen: null, parent: null, refs: 0, opens: 0 };
    this.byId.set(nodeid, node);
    this.byKey.set(node);
    return node;
  }
}

/** stat of what `fd` (or -errno from opening it) names, into st: 0, or -errno with fd closed. */
function statOrClose(fd: number, st: StatArray): number {
  if (fd < 0) return fd;
  const r = addon.fstatat(fd, '', AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, st);
  if (r < 0) addon.close(fd);
  return r;
}

/**
 * Nodes by identity (st_dev, st_ino): inode numbers by filesystem. An inode number below 2^53
 * (nearly all) is its map key as a number, which hashes and compares in place; a bigint key
 * costs a call into the runtime for every comparison on the way (a listing looks up every
 * entry, mostly missing), and a string key a string per lookup. Larger numbers stay bigints.
 */
class ByIdentity {
  private readonly devs = new Map<bigint, Map<number | bigint, Node>>();
  /** The filesystem asked for last and its map: the next question is nearly always the same. */
  private lastDev = -1n;
  private lastInos: Map<number | bigint, Node> | undefined = undefined;

  get(dev: bigint, ino: bigint): Node | undefined {
    return this.inosOf(dev)?.get(inoKey(ino));
  }

  set(node: Node): void {
    let inos = this.inosOf(node.dev);
    if (inos === undefined) {
      this.devs.set(node.dev, (inos = new Map()));
      this.lastInos = inos;
    }
    inos.set(inoKey(node.ino), node);
  }

  delete(node: Node): void {
    this.inosOf(node.dev)?.delete(inoKey(node.ino));
  }

  clear(): void {
    this.devs.clear();
    this.lastDev = -1n;
    this.lastInos = undefined;
  }

  private inosOf(dev: bigint): Map<number | bigint, Node> | undefined {
    if (dev !== this.lastDev) {
      this.lastDev = dev;
      this.lastInos = this.devs.get(dev);
    }
    return this.lastInos;
  }
}

const TWO_53 = 1n << 53n;
function inoKey(ino: bigint): number | bigint {
  return ino < TWO_53 ? Number(ino) : ino;
}
