// The inode table: node identities and lifetimes, and the only way to a node's fd.
//
// A node is a source object the kernel knows by nodeid. Identity is (st_dev, st_ino), so hard
// links share a node (and the kernel sees one inode). A node reaches its object through an
// O_PATH|O_NOFOLLOW fd: every operation is an *at call relative to it, so no path string inside
// the source is ever resolved again and a symlink is never followed out of the source tree.
// The fd may have been given back under the fd budget: fd(node) gets it again (node-fds.ts).
import { addon } from '../addon.js';
import { FUSE_ROOT_ID } from '../kernel/abi.js';
import { AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW, O_DIRECTORY, O_NOFOLLOW, O_PATH, S_IFDIR, S_IFMT } from '../kernel/linux.js';
import { NO_FD, NodeFds } from './node-fds.js';
import { modeOf, St, type StatArray } from './stat.js';

export interface Node {
  readonly nodeid: number;
  /** The source's st_dev and st_ino (exact 64-bit). */
  readonly dev: bigint;
  readonly ino: bigint;
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
  private readonly byKey = new Map<string, Node>();
  private nextId = FUSE_ROOT_ID + 1;
  /** The st_dev of the last node made: nodes of one filesystem share one bigint (24 bytes each). */
  private lastDev = -1n;
  readonly root: Node;

  /** Opens the source root; throws an errno number if it cannot. */
  constructor(
    source: string,
    private readonly st: StatArray,
    private readonly fds: NodeFds,
  ) {
    const fd = addon.openat(-100 /* AT_FDCWD */, source, O_PATH | O_DIRECTORY, 0);
    if (fd < 0) throw -fd;
    const r = addon.fstatat(fd, '', AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, st);
    if (r < 0) {
      addon.close(fd);
      throw -r;
    }
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
    const fd = this.open(parent, (pfd) => addon.openat(pfd, name, O_PATH | O_NOFOLLOW, 0));
    if (fd < 0) return fd;
    const r = addon.fstatat(fd, '', AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, st);
    if (r < 0) {
      addon.close(fd);
      return r;
    }
    const existing = this.byKey.get(key(st[St.dev], st[St.ino]));
    if (existing) {
      this.fds.offer(existing, fd); // kept if the node had given its fd back, else closed
      existing.nlookup++;
      const oldParent = this.fds.repoint(existing, parent, name); // the name that works now
      if (oldParent !== null) this.release(oldParent);
      return existing;
    }
    const node = this.insert(this.nextId++, st[St.dev], st[St.ino]);
    node.nlookup = 1;
    this.fds.admit(node, fd, parent, name, (modeOf(st) & S_IFMT) === S_IFDIR);
    return node;
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
      this.byKey.delete(key(node.dev, node.ino));
      this.fds.drop(node);
      const parent: Node | null = node.parent;
      node.parent = null;
      if (parent !== null) parent.refs--;
      node = parent;
    }
  }

  private insert(nodeid: number, stDev: bigint, ino: bigint): Node {
    const dev = stDev === this.lastDev ? this.lastDev : (this.lastDev = stDev);
    const node: Node = { nodeid, dev, ino, nlookup: 0, noSplice: false, heldFd: NO_FD, reopen: null, parent: null, refs: 0, opens: 0 };
    this.byId.set(nodeid, node);
    this.byKey.set(key(dev, ino), node);
    return node;
  }
}

function key(dev: bigint, ino: bigint): string {
  return `${dev}:${ino}`;
}
