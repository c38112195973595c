// The passthrough's state: the source's inode table, the open file and directory handles, the
// configuration, and scratch memory the handlers reuse. The handlers themselves live in ops/,
// one file per family; each takes this state, the caller and a decoded request, and returns a
// typed result or -errno. None of them sees a wire offset or /dev/fuse.
import { constants } from 'node:os';
import type { Logger } from 'pino';
import { addon } from '../addon.js';
import type { Attr, EntryOut } from '../kernel/reply.js';
import { DirectIoPolicy, type DirectIoLog } from './direct-io.js';
import { Credentials } from './creds.js';
import { HandleTable, type DirHandle, type FileHandle } from './handles.js';
import { InodeTable, type Node } from './inodes.js';
import { currentFdLimit, nodeFdBudget } from './fd-limit.js';
import { NodeFds, type NodeFdStats } from './node-fds.js';
import { newStat, toAttr, type StatArray } from './stat.js';

const E = constants.errno;
/** Node fds given back per idle step: some 50 µs of work, about what a spin waits. */
const IDLE_SHED = 16;

/** Who sent a request (fuse_in_header): the node it is about and the caller's ids. */
export interface Caller {
  readonly nodeid: number;
  readonly uid: number;
  readonly gid: number;
  readonly pid: number;
}

export interface FsConfig {
  /** The source directory: bytes (need not be UTF-8) or a string. */
  source: string | Uint8Array;
  /** Entry and attribute cache timeout, seconds. */
  timeout: number;
  /** FOPEN_DIRECT_IO on every open (--direct-io); without it, only where the size misleads (direct-io.ts). */
  directIo: boolean;
  /** Where the first direct-I/O open of each reason is logged. */
  directIoLog?: DirectIoLog;
  /** Every modifying operation is refused with EROFS (`-o ro`). */
  readOnly?: boolean;
  /**
   * The kernel caches writes (`-o writeback_cache`): it may READ through a handle the caller
   * opened write-only, and it places O_APPEND writes itself, so handles open the backing file
   * read-write and without O_APPEND.
   */
  writebackCache?: boolean;
  /** Bytes a reply body may take (READDIR pages are cut to fit). */
  replyRoom: number;
  /**
   * Node fds held at most before least recently used nodes give theirs back. Default: from the
   * current soft RLIMIT_NOFILE (fd-limit.ts nodeFdBudget).
   */
  nodeFdBudget?: number;
  /** Where the fd budget logs (once) that it was reached, or that a limit was hit. */
  logger?: Logger;
  /**
   * The backing id a new handle passes through the kernel with (FOPEN_PASSTHROUGH), or 0
   * (datapath/read.ts decides, datapath/backing.ts owns the ids); `direct`: the open gets
   * FOPEN_DIRECT_IO; `setId`: the file is set-user-ID, or set-group-ID and group-executable.
   * Absent: nothing passes through.
   */
  passthroughFor?(h: FileHandle, direct: boolean, setId: boolean): number;
  /** A file handle was opened / is about to be released (the data path's per-handle plan). */
  onFileOpened?(h: FileHandle): void;
  onFileReleased?(h: FileHandle): void;
}

export class Passthrough {
  readonly inodes: InodeTable;
  private readonly nodeFds: NodeFds;
  // A file's close can wait on its filesystem (NFS writes back, a FUSE file sends FLUSH), and a
  // hung one would stall the event loop at RELEASE: files close on the addon's closer thread.
  readonly files = new HandleTable<FileHandle>(addon.closeLater);
  readonly dirs = new HandleTable<DirHandle>();
  /** Scratch stat for handlers (the event loop runs one handler at a time). */
  readonly st: StatArray = newStat();
  /** Which opens get FOPEN_DIRECT_IO; counts them by reason. */
  readonly directIo: DirectIoPolicy;
  /**
   * The kernel checks ACLs itself (FUSE_POSIX_ACL granted at INIT): its GETXATTRs of
   * system.posix_acl_* are permission checks, not a user's question (see ops/xattr.ts).
   */
  kernelAcls = false;
  /** Runs the operations that make new objects as their caller (creds.ts). */
  readonly creds = new Credentials();
  readonly readOnly: boolean;

  /** Throws an errno number if the source cannot be opened. */
  constructor(readonly cfg: FsConfig) {
    this.nodeFds = new NodeFds(cfg.nodeFdBudget ?? nodeFdBudget(currentFdLimit()), cfg.logger);
    this.inodes = new InodeTable(cfg.source, this.st, this.nodeFds);
    this.directIo = new DirectIoPolicy(cfg.directIo, cfg.directIoLog);
    this.readOnly = cfg.readOnly ?? false;
  }

  /**
   * The entry of `name` in `parent` just made by an operation (MKDIR, CREATE, LINK, ...): looked
   * up like LOOKUP, so the kernel's lookup count on the node goes up by one.
   */
  newEntry(parent: Node, name: Uint8Array): EntryOut | number {
    const node = this.inodes.lookup(parent, name, this.st);
    return typeof node === 'number' ? node : this.entry(node, this.st);
  }

  /**
   * One short step of housekeeping while no request waits (the event loop found the device
   * empty): node fds given back ahead of the budget (node-fds.ts shedAhead). True if it did any.
   */
  idle(): boolean {
    return this.nodeFds.shedAhead(IDLE_SHED);
  }

  /** What the node fd budget did (counters since mount). */
  fdStats(): NodeFdStats {
    return this.nodeFds.stats();
  }

  /** The node a request is about, or -ESTALE when the kernel names one we no longer hold. */
  node(nodeid: number): Node | number {
    return this.inodes.get(nodeid) ?? -E.ESTALE;
  }

  /** fuse_attr of `node` from a stat of it. */
  attr(node: Node, st: StatArray): Attr {
    return toAttr(st, node.mountIno);
  }

  /** fuse_entry_out for a node just looked up (its lookup count already raised). */
  entry(node: Node, st: StatArray): EntryOut {
    const t = this.cfg.timeout;
    return { nodeid: node.nodeid, generation: 0, entryValid: t, attrValid: t, attr: this.attr(node, st) };
  }

  closeAll(): void {
    this.files.closeAll();
    this.dirs.closeAll();
    this.inodes.closeAll();
  }
}
