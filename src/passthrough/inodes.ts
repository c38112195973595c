// The inode table: the only place that opens or closes node fds.
//
// A node is a source object the kernel knows by nodeid. Identity is (st_dev, st_ino), so hard
// links share a node (and the kernel sees one inode). Each node holds an O_PATH|O_NOFOLLOW fd:
// every later operation is an *at call relative to it, so no path string inside the source is
// ever resolved again and a symlink is never followed out of the source tree.
import { addon } from '../addon.js';
import { FUSE_ROOT_ID } from '../kernel/abi.js';
import { constants } from 'node:os';
import { AT_EMPTY_PATH, AT_STATX_DONT_SYNC, AT_SYMLINK_NOFOLLOW, O_DIRECTORY, O_NOFOLLOW, O_PATH } from '../kernel/linux.js';
import { InoMap } from './ino-map.js';
import { St, type StatArray } from './stat.js';

export interface Node {
  readonly nodeid: number;
  readonly fd: number;
  /** The source's st_dev and st_ino (exact 64-bit). */
  readonly dev: bigint;
  readonly ino: bigint;
  /** The inode number callers see through the mount (ino-map.ts): unique across filesystems. */
  readonly mountIno: bigint;
  /** Lookups the kernel holds on this node (FUSE lookup count); the root is never forgotten. */
  nlookup: number;
  /** Set when splice from this file failed for lack of splice_read: copy from now on. */
  noSplice: boolean;
}

export class InodeTable {
  private readonly byId = new Map<number, Node>();
  private readonly byKey = new Map<string, Node>();
  private nextId = FUSE_ROOT_ID + 1;
  readonly root: Node;
  readonly inoMap: InoMap;
  /** Our own mount, where it can be reached from inside the source (setOwnMount). */
  private own: { dev: bigint; coveredFd: number } | null = null;

  /** Opens the source root; throws an errno number if it cannot. */
  constructor(source: string | Uint8Array, private readonly st: StatArray) {
    const fd = addon.openat(-100 /* AT_FDCWD */, source, O_PATH | O_DIRECTORY, 0);
    if (fd < 0) throw -fd;
    const r = addon.fstatat(fd, '', AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, st);
    if (r < 0) {
      addon.close(fd);
      throw -r;
    }
    this.inoMap = new InoMap(st[St.dev]);
    this.root = this.insert(FUSE_ROOT_ID, fd, st[St.dev], st[St.ino]);
    this.root.nlookup = 1;
  }

  get size(): number {
    return this.byId.size;
  }

  get(nodeid: number): Node | undefined {
    return this.byId.get(nodeid);
  }

  /**
   * LOOKUP of `name` in `parent`: stat into `st` and return the node with its lookup count
   * raised by one, or -errno. Never follows a symlink in the last component.
   */
  lookup(parent: Node, name: Uint8Array, st: StatArray): Node | number {
    const fd = addon.openat(parent.fd, name, O_PATH | O_NOFOLLOW, 0);
    if (fd < 0) return fd;
    // First from the kernel's cache only: if the name leads onto our own mount, a real stat would
    // be a request to ourselves that this thread, busy here, could never answer (a hang for good).
    // By name, not by fd: fstat of an fd (an empty path) ignores AT_STATX_DONT_SYNC.
    let r = addon.fstatat(parent.fd, name, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC, st);
    if (r >= 0 && this.own !== null && st[St.dev] === this.own.dev) {
      addon.close(fd);
      return this.coveredNode(st);
    }
    // Then for real: DONT_SYNC may have answered from a network filesystem's stale cache.
    if (r >= 0) r = addon.fstatat(fd, '', AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, st);
    if (r < 0) {
      addon.close(fd);
      return r;
    }
    return this.adopt(fd, st);
  }

  /** The node for the object `fd` names (stat in st): an existing one (fd closed) or a new one. */
  private adopt(fd: number, st: StatArray): Node {
    const existing = this.byKey.get(key(st[St.dev], st[St.ino]));
    if (existing) {
      addon.close(fd); // the node already has its fd; this one was only needed to stat
      existing.nlookup++;
      return existing;
    }
    const node = this.insert(this.nextId++, fd, st[St.dev], st[St.ino]);
    node.nlookup = 1;
    return node;
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

  /** The covered directory's node, or ELOOP when the own mount was reached some other way. */
  private coveredNode(st: StatArray): Node | number {
    const covered = this.own?.coveredFd ?? -1;
    if (covered < 0) return -constants.errno.ELOOP;
    // "." of the covered directory stays on it: a dot never crosses onto a mount.
    const fd = addon.openat(covered, '.', O_PATH | O_DIRECTORY, 0);
    if (fd < 0) return fd;
    const r = addon.fstatat(fd, '', AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, st);
    if (r < 0) {
      addon.close(fd);
      return r;
    }
    return this.adopt(fd, st);
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

  /** FORGET: drop n lookups; the node goes (and its fd closes) at zero. */
  forget(nodeid: number, n: number): void {
    const node = this.byId.get(nodeid);
    if (!node || node.nodeid === FUSE_ROOT_ID) return;
    node.nlookup -= n;
    if (node.nlookup <= 0) {
      this.byId.delete(nodeid);
      this.byKey.delete(key(node.dev, node.ino));
      addon.close(node.fd);
    }
  }

  /** stat of the node itself into `st`; 0 or -errno. */
  stat(node: Node, st: StatArray): number {
    return addon.fstatat(node.fd, '', AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, st);
  }

  /** Close every fd (at shutdown). */
  closeAll(): void {
    for (const node of this.byId.values()) addon.close(node.fd);
    if (this.own && this.own.coveredFd >= 0) addon.close(this.own.coveredFd);
    this.own = null;
    this.byId.clear();
    this.byKey.clear();
  }

  private insert(nodeid: number, fd: number, dev: bigint, ino: bigint): Node {
    const node: Node = { nodeid, fd, dev, ino, mountIno: this.inoMap.map(dev, ino), nlookup: 0, noSplice: false };
    this.byId.set(nodeid, node);
    this.byKey.set(key(dev, ino), node);
    return node;
  }
}

function key(dev: bigint, ino: bigint): string {
  return `${dev}:${ino}`;
}
