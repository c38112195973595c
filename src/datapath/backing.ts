// Kernel passthrough (FUSE_PASSTHROUGH, kernel 6.9+): the backing ids an OPEN or CREATE reply
// names with FOPEN_PASSTHROUGH, so that reads, writes, splice and mmap of that file go to the
// backing file inside the kernel and never reach the server. This file owns every id: it is
// registered (FUSE_DEV_IOC_BACKING_OPEN) at the first passthrough open of an inode, shared by
// that inode's later opens, and closed (FUSE_DEV_IOC_BACKING_CLOSE) at the RELEASE of the last
// one, or at shutdown. Whether a handle should pass through is datapath/read.ts's decision
// (the read mode); whether it can is decided here, and each refusal is counted by reason and
// logged once.
//
// Kernel facts (fs/fuse/iomode.c, ../shared/DESIGN.md):
//  - One I/O mode per inode: while any file of an inode is open with FOPEN_PASSTHROUGH, every
//    other open of it must be too (with the same backing file), and while one is open in the
//    caching mode (an ordinary open without FOPEN_DIRECT_IO) none may pass through. A server
//    that breaks either rule makes the caller's open(2) fail with EIO. So an inode that passes
//    through keeps passing through for every new open until its last handle is released, and an
//    inode open through the server keeps going through the server.
//  - The kernel opens its own backing file per open, with the caller's open flags, on the path
//    of the registered one, with the credentials of whoever registered it: one id per inode is
//    enough whatever the access modes of its opens.
//  - The id needs CAP_SYS_ADMIN (EPERM without), a backing filesystem that can be stacked on
//    (ELOOP under another FUSE passthrough or overlayfs at max_stack_depth 1), and is refused
//    with the writeback cache (the kernel then does not grant FUSE_PASSTHROUGH at INIT).
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import type { Logger } from 'pino';
import { addon } from '../addon.js';
import type { FileHandle } from '../passthrough/handles.js';
import type { Node } from '../passthrough/inodes.js';

const E = constants.errno;
/** capability(7) number of CAP_SYS_ADMIN: FUSE_DEV_IOC_BACKING_OPEN needs it in the initial user namespace. */
const CAP_SYS_ADMIN = 21n;

/** Whether this process's effective capabilities (CapEff in /proc/self/status) hold CAP_SYS_ADMIN. */
export function hasCapSysAdmin(status?: string): boolean {
  try {
    const text = status ?? readFileSync('/proc/self/status', 'utf8');
    const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(text)?.[1];
    return hex !== undefined && ((BigInt(`0x${hex}`) >> CAP_SYS_ADMIN) & 1n) === 1n;
  } catch {
    return false;
  }
}

/** Opens that wanted passthrough and went through the server instead, by reason. */
export interface PassthroughFallbacks {
  /** the kernel did not grant FUSE_PASSTHROUGH at INIT (older than 6.9, or built without it) */
  notOffered: number;
  /** `-o writeback_cache`: the kernel does not pass through with its writeback cache */
  writebackCache: number;
  /** the server lacks CAP_SYS_ADMIN (a mount by an ordinary user): EPERM */
  noCapability: number;
  /** the source cannot be stacked on (ELOOP: FUSE passthrough or overlayfs below; EOPNOTSUPP) */
  notStackable: number;
  /** a direct-I/O open (--direct-io, or a file whose size says nothing of its content) */
  directIo: number;
  /**
   * a set-user-ID (or set-group-ID and group-executable) file: the kernel's passthrough writes
   * run with the server's credentials and never clear those bits for an unprivileged writer,
   * so such a file goes through the server, which clears them (FUSE_HANDLE_KILLPRIV_V2)
   */
  setId: number;
  /** the inode is open through the server already: the kernel keeps one I/O mode per inode */
  openThroughServer: number;
  /** any other refusal of the backing open (counted, logged once with its errno) */
  backingError: number;
}

export interface PassthroughCounts {
  /** opens (OPEN, CREATE, TMPFILE) answered with FOPEN_PASSTHROUGH */
  opens: number;
  /** FUSE_DEV_IOC_BACKING_OPEN / _CLOSE made */
  backingOpens: number;
  backingCloses: number;
  /** backing ids registered now (one per inode with a passthrough handle open) */
  backingIds: number;
  fallbacks: PassthroughFallbacks;
}

/** FUSE_DEV_IOC_BACKING_OPEN / _CLOSE (addon/backing.cc): an id > 0, or -errno; 0 or -errno. */
export interface BackingIoctls {
  backingOpen(devfd: number, fd: number): number;
  backingClose(devfd: number, id: number): number;
}

/** One inode's open handles as the kernel's I/O mode sees them. */
interface InodeIo {
  /** the backing id its passthrough handles share (0: none) */
  backingId: number;
  /** handles open with FOPEN_PASSTHROUGH */
  passthrough: number;
  /** handles open through the server (caching mode, or direct I/O, which a shared mmap turns to caching) */
  cached: number;
}

export class BackingFiles {
  readonly counts: PassthroughCounts = {
    opens: 0,
    backingOpens: 0,
    backingCloses: 0,
    backingIds: 0,
    fallbacks: { notOffered: 0, writebackCache: 0, noCapability: 0, notStackable: 0, directIo: 0, setId: 0, openThroughServer: 0, backingError: 0 },
  };
  /** Why no open can pass through on this mount (null: they can). Until INIT: not offered. */
  private unavailable: keyof PassthroughFallbacks | null = 'notOffered';
  private readonly inodes = new Map<Node, InodeIo>();
  /** Handles opened with FOPEN_PASSTHROUGH, and those counted as caching opens. */
  private readonly handles = new WeakMap<FileHandle, 'passthrough' | 'cached'>();
  private readonly logged = new Set<string>();

  /**
   * `devfd`: the connection's /dev/fuse fd, or given later by useDevice (the fd may come from
   * fusermount3 after the server is built); `ioctls`: the two device calls (the addon's; a unit
   * test may stand in for the kernel); `capable`: CAP_SYS_ADMIN, when the caller knows already.
   */
  constructor(private readonly cfg: { devfd?: number; logger: Logger; ioctls?: BackingIoctls; capable?: boolean }) {
    this.ioctls = cfg.ioctls ?? addon;
    this.devfd = cfg.devfd ?? -1;
  }
  private readonly ioctls: BackingIoctls;
  private devfd: number;

  /** The connection's /dev/fuse fd, once it is there (before INIT: no OPEN comes earlier). */
  useDevice(devfd: number): void {
    this.devfd = devfd;
  }

  /**
   * What INIT settled: `granted` = FUSE_PASSTHROUGH is on (kernel offered it, we asked);
   * `writebackCache` = the writeback cache was asked for (which is why it was not asked for);
   * `capable` = this process has CAP_SYS_ADMIN, without which every backing open is EPERM
   * (default: read from /proc/self/status).
   */
  negotiated(granted: boolean, writebackCache: boolean, capable: boolean = this.cfg.capable ?? hasCapSysAdmin()): void {
    this.unavailable = !capable ? 'noCapability' : !granted ? (writebackCache ? 'writebackCache' : 'notOffered') : null;
    if (this.unavailable) this.logOnce(this.unavailable, {}, 'kernel passthrough is off for this mount: reads go through the server');
  }

  /** MountInfo.passthrough: 'on', 'unused' (the read mode does not ask for it), or why it is off. */
  state(wanted: boolean): string {
    return this.unavailable ?? (wanted ? 'on' : 'unused');
  }

  /** null when opens can pass through on this mount, else the reason none can. */
  get offMountWide(): keyof PassthroughFallbacks | null {
    return this.unavailable;
  }

  /**
   * The backing id `h` (just opened) passes through with, or 0 for the server's own path.
   * `wanted`: the read mode asks for passthrough; `direct`: the open gets FOPEN_DIRECT_IO;
   * `setId`: the file is set-user-ID, or set-group-ID and group-executable (see fallbacks.setId).
   * An inode that passes through already shares its id whatever is wanted (the kernel fails
   * a mixed open with EIO); an inode open through the server in the caching mode stays there.
   * Never throws; a refusal is counted and the handle goes through the server.
   */
  open(h: FileHandle, wanted: boolean, direct: boolean, setId = false): number {
    const io = this.inodes.get(h.node) ?? { backingId: 0, passthrough: 0, cached: 0 };
    if (io.backingId === 0 && wanted) io.backingId = this.register(h, io, direct, setId);
    if (io.backingId !== 0) {
      io.passthrough++;
      this.handles.set(h, 'passthrough');
      this.counts.opens++;
    } else {
      // A direct-I/O open is the kernel's neutral mode only until its first shared mmap, which
      // we never see (DIRECT_IO_ALLOW_MMAP) and which turns the inode to the caching mode: so
      // it blocks passthrough like a caching open.
      io.cached++;
      this.handles.set(h, 'cached');
    }
    this.inodes.set(h.node, io);
    return io.backingId;
  }

  /** `h` is being released: drop it, and close its inode's id with the last passthrough handle. */
  release(h: FileHandle): void {
    const kind = this.handles.get(h);
    const io = this.inodes.get(h.node);
    if (kind === undefined || io === undefined) return;
    this.handles.delete(h);
    if (kind === 'passthrough' && --io.passthrough === 0) {
      this.close(io.backingId);
      io.backingId = 0;
    } else if (kind === 'cached') io.cached--;
    if (io.passthrough === 0 && io.cached === 0) this.inodes.delete(h.node);
  }

  /** Close every id (shutdown); the kernel drops them with the connection anyway. */
  closeAll(): void {
    for (const io of this.inodes.values()) if (io.backingId !== 0) this.close(io.backingId);
    this.inodes.clear();
  }

  /** A new id for `h`'s inode, or 0 with the reason counted. */
  private register(h: FileHandle, io: InodeIo, direct: boolean, setId: boolean): number {
    const f = this.counts.fallbacks;
    if (this.unavailable) return (f[this.unavailable]++, 0);
    if (direct) return (f.directIo++, 0);
    if (setId) return (f.setId++, 0);
    if (io.cached > 0) return (f.openThroughServer++, 0);
    const id = this.ioctls.backingOpen(this.devfd, h.fd);
    if (id > 0) {
      this.counts.backingOpens++;
      this.counts.backingIds++;
      return id;
    }
    const reason = id === -E.EPERM ? 'noCapability' : id === -E.ELOOP || id === -E.EOPNOTSUPP ? 'notStackable' : 'backingError';
    f[reason]++;
    // Without the capability no open ever will: stop asking the kernel.
    if (reason === 'noCapability') this.unavailable = 'noCapability';
    this.logOnce(reason, { errno: -id, ino: String(h.node.ino) }, 'kernel passthrough refused: this file goes through the server');
    return 0;
  }

  private close(id: number): void {
    const r = this.ioctls.backingClose(this.devfd, id);
    this.counts.backingCloses++;
    this.counts.backingIds--;
    if (r < 0) this.logOnce('close', { errno: -r, id }, 'closing a passthrough backing id failed');
  }

  private logOnce(key: string, fields: Record<string, unknown>, msg: string): void {
    if (this.logged.has(key)) return;
    this.logged.add(key);
    this.cfg.logger.info({ reason: key, ...fields }, msg);
  }
}
