// The read-only passthrough filesystem: one handler per operation. Handlers decode their
// request (codec), do *at calls relative to node fds (addon), and encode a reply into the
// session's reply buffer. They never touch /dev/fuse: they return the reply length (> 0),
// -errno for an error reply, or NO_REPLY. READ is only resolved here (readTarget); how its
// bytes travel is read-path.ts's decision.
import { constants } from 'node:os';
import { addon } from '../addon.js';
import {
  FOPEN_DIRECT_IO,
  O_ACCMODE,
  O_DIRECTORY,
  O_NONBLOCK,
  O_RDONLY,
  SEEK_SET,
  Size,
  W_OK,
} from '../kernel/abi.js';
import {
  BODY,
  decodeAccess,
  decodeBatchForget,
  decodeForget,
  decodeGetattr,
  decodeGetxattr,
  decodeListxattr,
  decodeLseek,
  decodeOpen,
  decodeRead,
  decodeRelease,
  direntSize,
  encodeAttrOut,
  encodeDirent,
  encodeEntry,
  encodeLseek,
  encodeOpen,
  encodeStatfs,
  encodeXattrSize,
  readU64,
  type Reply,
  type Request,
} from '../kernel/codec.js';
import type { ReadTarget } from '../read-path.js';
import { HandleTable, type DirEntry, type DirHandle, type FileHandle } from './handles.js';
import { InodeTable, type Node } from './inodes.js';
import { newStat } from './stat.js';

const E = constants.errno;
export const NO_REPLY = 0;
const DOT = Buffer.from('.');
const DOTDOT = Buffer.from('..');

export interface FsConfig {
  source: string;
  /** Entry and attribute cache timeout, seconds. */
  timeout: number;
  directIo: boolean;
  /** A file handle was opened / is about to be released (the worker threads' plans). */
  onFileOpened?(h: FileHandle): void;
  onFileReleased?(h: FileHandle): void;
}

export class PassthroughFs {
  readonly inodes: InodeTable;
  readonly files = new HandleTable<FileHandle>();
  readonly dirs = new HandleTable<DirHandle>();
  private readonly st = newStat();
  private readonly vfs = new Float64Array(8);
  private readonly dentBuf = Buffer.allocUnsafe(64 * 1024);

  /** Throws an errno number if the source cannot be opened. */
  constructor(
    private readonly cfg: FsConfig,
    private readonly rep: Reply,
  ) {
    this.inodes = new InodeTable(cfg.source, this.st);
  }

  private node(r: Request): Node | number {
    return this.inodes.get(r.nodeid) ?? -E.ESTALE;
  }

  lookup(r: Request): number {
    const parent = this.node(r);
    if (typeof parent === 'number') return parent;
    const name = r.name(0);
    if (name.length > 255) return -E.ENAMETOOLONG;
    if (parent === this.inodes.root && name.equals(DOTDOT)) return -E.ENOENT; // never above the source
    const node = this.inodes.lookup(parent, name, this.st);
    if (typeof node === 'number') return node;
    return encodeEntry(this.rep.buf, BODY, node.nodeid, 0, this.cfg.timeout, this.cfg.timeout, this.st);
  }

  forget(r: Request): number {
    this.inodes.forget(r.nodeid, decodeForget(r));
    return NO_REPLY;
  }

  batchForget(r: Request): number {
    for (const f of decodeBatchForget(r)) this.inodes.forget(f.nodeid, f.nlookup);
    return NO_REPLY;
  }

  getattr(r: Request): number {
    const node = this.node(r);
    if (typeof node === 'number') return node;
    const res = this.inodes.stat(node, this.st);
    if (res < 0) return res;
    void decodeGetattr(r); // the node fd always names the file; fh adds nothing here
    return encodeAttrOut(this.rep, this.cfg.timeout, this.st);
  }

  readlink(r: Request): number {
    const node = this.node(r);
    if (typeof node === 'number') return node;
    const n = addon.readlinkat(node.fd, '', this.rep.buf.subarray(BODY));
    return n < 0 ? n : BODY + n;
  }

  open(r: Request): number {
    const node = this.node(r);
    if (typeof node === 'number') return node;
    const { flags } = decodeOpen(r);
    if ((flags & O_ACCMODE) !== O_RDONLY) return -E.EROFS;
    const fd = addon.openProc(node.fd, O_RDONLY | O_NONBLOCK);
    if (fd < 0) return fd;
    const h: FileHandle = { fh: 0, fd, node };
    h.fh = this.files.add(h);
    this.cfg.onFileOpened?.(h);
    return encodeOpen(this.rep, h.fh, this.cfg.directIo ? FOPEN_DIRECT_IO : 0);
  }

  /** READ: which fd and node the handle names; the read path moves the bytes. */
  readTarget(r: Request): { target: ReadTarget; offset: number; size: number } | number {
    const inn = decodeRead(r);
    const h = this.files.get(inn.fh);
    if (!h) return -E.EBADF;
    return { target: h, offset: inn.offset, size: inn.size };
  }

  flush(_r: Request): number {
    return BODY; // nothing is buffered on our side
  }

  fsync(_r: Request): number {
    return BODY; // read-only: nothing of ours to write back
  }

  release(r: Request): number {
    const { fh } = decodeRelease(r);
    const h = this.files.get(fh);
    if (h) this.cfg.onFileReleased?.(h); // before its fd closes: no worker may use it after
    this.files.release(fh);
    return BODY;
  }

  opendir(r: Request): number {
    const node = this.node(r);
    if (typeof node === 'number') return node;
    const fd = addon.openat(node.fd, '.', O_RDONLY | O_DIRECTORY, 0);
    if (fd < 0) return fd;
    const fh = this.dirs.add({ fd, node, entries: null });
    return encodeOpen(this.rep, fh, 0);
  }

  releasedir(r: Request): number {
    this.dirs.release(decodeRelease(r).fh);
    return BODY;
  }

  readdir(r: Request): number {
    return this.listDir(r, false);
  }

  readdirplus(r: Request): number {
    return this.listDir(r, true);
  }

  /**
   * READDIR(PLUS): entries from a snapshot taken when the kernel asks for offset 0, so offsets
   * stay stable while the directory changes. In plus mode every entry returned (but . and ..)
   * counts as a lookup, so an entry is only looked up once it is known to fit.
   */
  private listDir(r: Request, plus: boolean): number {
    const inn = decodeRead(r);
    const fh = inn.fh;
    const offset = inn.offset;
    const size = Math.min(inn.size, this.rep.buf.length - BODY);
    const h = this.dirs.get(fh);
    if (!h) return -E.EBADF;
    if (h.entries === null || offset === 0) {
      const loaded = this.loadEntries(h.fd);
      if (typeof loaded === 'number') return loaded;
      h.entries = loaded;
    }
    const b = this.rep.buf;
    const limit = BODY + size;
    let at: number = BODY;
    for (let i = offset; i < h.entries.length; i++) {
      const e = h.entries[i];
      const need = (plus ? Size.entryOut : 0) + direntSize(e.name.length);
      if (at + need > limit) break;
      if (plus) {
        if (e.name.equals(DOT) || e.name.equals(DOTDOT)) {
          // No lookup for . and ..: nodeid 0 tells the kernel not to instantiate them.
          this.st.fill(0);
          this.st[1] = e.ino;
          this.st[2] = e.type << 12;
          at = encodeEntry(b, at, 0, 0, 0, 0, this.st);
        } else {
          const node = this.inodes.lookup(h.node, e.name, this.st);
          if (typeof node === 'number') continue; // vanished since the snapshot
          at = encodeEntry(b, at, node.nodeid, 0, this.cfg.timeout, this.cfg.timeout, this.st);
        }
      }
      at = encodeDirent(b, at, e.ino, i + 1, e.type, e.name);
    }
    return at;
  }

  private loadEntries(fd: number): DirEntry[] | number {
    const r0 = addon.lseek(fd, 0, SEEK_SET);
    if (r0 < 0) return r0;
    const out: DirEntry[] = [];
    const b = this.dentBuf;
    for (;;) {
      const n = addon.getdents(fd, b);
      if (n < 0) return n;
      if (n === 0) return out;
      // linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, NUL-terminated name
      for (let p = 0; p < n; ) {
        const reclen = b.readUInt16LE(p + 16);
        const nameEnd = b.indexOf(0, p + 19);
        out.push({
          ino: readU64(b, p),
          type: b[p + 18],
          name: Buffer.from(b.subarray(p + 19, nameEnd < 0 || nameEnd > p + reclen ? p + reclen : nameEnd)),
        });
        p += reclen;
      }
    }
  }

  statfs(_r: Request): number {
    const res = addon.fstatvfs(this.inodes.root.fd, this.vfs);
    if (res < 0) return res;
    return encodeStatfs(this.rep, this.vfs);
  }

  access(r: Request): number {
    const node = this.node(r);
    if (typeof node === 'number') return node;
    const { mask } = decodeAccess(r);
    if (mask & W_OK) return -E.EROFS;
    const res = addon.access(node.fd, mask);
    return res < 0 ? res : BODY;
  }

  getxattr(r: Request): number {
    const node = this.node(r);
    if (typeof node === 'number') return node;
    const { size, name } = decodeGetxattr(r);
    return this.xattrReply(size, (buf) => addon.getxattr(node.fd, name, buf));
  }

  listxattr(r: Request): number {
    const node = this.node(r);
    if (typeof node === 'number') return node;
    const { size } = decodeListxattr(r);
    return this.xattrReply(size, (buf) => addon.listxattr(node.fd, buf));
  }

  /** size 0 asks how much room the value needs; otherwise the value itself, or ERANGE. */
  private xattrReply(size: number, call: (buf: Buffer) => number): number {
    const b = this.rep.buf;
    if (size === 0) {
      const n = call(b.subarray(0, 0));
      return n < 0 ? n : encodeXattrSize(this.rep, n);
    }
    const room = Math.min(size, b.length - BODY);
    const n = call(b.subarray(BODY, BODY + room));
    return n < 0 ? n : BODY + n;
  }

  lseek(r: Request): number {
    const { fh, offset, whence } = decodeLseek(r);
    const h = this.files.get(fh);
    if (!h) return -E.EBADF;
    const res = addon.lseek(h.fd, offset, whence);
    return res < 0 ? res : encodeLseek(this.rep, res);
  }

  /** Every modifying operation on this read-only mount. */
  readOnly(_r: Request): number {
    return -E.EROFS;
  }

  closeAll(): void {
    this.files.closeAll();
    this.dirs.closeAll();
    this.inodes.closeAll();
  }
}
