// Directories: OPENDIR, READDIR, READDIRPLUS, RELEASEDIR. A listing is a snapshot taken when
// the kernel asks for offset 0, so offsets (entry index + 1) stay stable while the directory
// changes underneath.
//
// A listing is complete or it fails: the kernel reads an empty page as the end of the
// directory, so no page may come back empty while entries remain, and only an entry that left
// the source (ENOENT at lookup) may be missing.
import { constants } from 'node:os';
import { addon } from '../../addon.js';
import { O_DIRECTORY, O_RDONLY, SEEK_SET } from '../../kernel/linux.js';
import type { FsyncIn, OpenIn, ReadIn, ReleaseIn } from '../../kernel/request.js';
import { direntplusSize, direntSize, type DirPage, type EntryOut, type OpenOut } from '../../kernel/reply.js';
import type { DirEntry, DirHandle } from '../handles.js';
import type { Caller, Passthrough } from '../fs.js';

const E = constants.errno;
const dentBuf = Buffer.allocUnsafe(64 * 1024);
const seekOut = new BigInt64Array(1);
/** d_type values (dirent.h) */
const DT_UNKNOWN = 0;
const DT_DIR = 4;

export function opendir(fs: Passthrough, c: Caller, _req: OpenIn): OpenOut | number {
  const node = fs.node(c.nodeid);
  if (typeof node === 'number') return node;
  const fd = fs.inodes.open(node, (nfd) => addon.openat(nfd, '.', O_RDONLY | O_DIRECTORY, 0));
  if (fd < 0) return fd;
  fs.inodes.pin(node); // READDIRPLUS looks up in it: it keeps its fd while open
  return { fh: fs.dirs.add({ fd, node, entries: null }), openFlags: 0 };
}

export function releasedir(fs: Passthrough, _c: Caller, req: ReleaseIn): void {
  const h = fs.dirs.get(req.fh);
  if (!h) return;
  fs.dirs.release(req.fh);
  fs.inodes.unpin(h.node);
}

/** FSYNCDIR: the directory's entries to disk (fsync of the handle's fd). */
export function fsyncdir(fs: Passthrough, _c: Caller, req: FsyncIn): void | number {
  const h = fs.dirs.get(req.fh);
  if (!h) return -constants.errno.EBADF;
  const r = addon.fsync(h.fd, req.fsyncFlags & 1);
  return r < 0 ? r : undefined;
}

export function readdir(fs: Passthrough, _c: Caller, req: ReadIn): DirPage | number {
  return listDir(fs, req, false);
}

export function readdirplus(fs: Passthrough, _c: Caller, req: ReadIn): DirPage | number {
  return listDir(fs, req, true);
}

/**
 * One page of a listing, as many entries from `offset` as fit in the size asked. In plus mode
 * every entry returned (but . and ..) counts as a lookup, so an entry is only looked up once it
 * is known to fit. A lookup that fails for any reason but ENOENT ends the page before that
 * entry (the kernel asks again from it); on an empty page its -errno is the reply, so the
 * caller sees the error instead of a short listing. -EINVAL if the next entry cannot fit in
 * `size` at all (an empty page would read as the end).
 */
function listDir(fs: Passthrough, req: ReadIn, plus: boolean): DirPage | number {
  const h = fs.dirs.get(req.fh);
  if (!h) return -E.EBADF;
  const offset = Number(req.offset);
  if (h.entries === null || offset === 0) {
    const loaded = loadEntries(h);
    if (typeof loaded === 'number') return loaded;
    h.entries = loaded;
  }
  const page: DirPage = { entries: [] };
  let room = Math.min(req.size, fs.cfg.replyRoom);
  for (let i = offset; i < h.entries.length; i++) {
    const e = h.entries[i];
    const need = plus ? direntplusSize(e.name.length) : direntSize(e.name.length);
    if (need > room) {
      if (page.entries.length === 0) return -E.EINVAL;
      break;
    }
    // Every entry has one shape (entry undefined in plain mode): the encoder's loads stay monomorphic.
    const dots = dotsOf(e.name);
    let ino: bigint;
    let entry: EntryOut | undefined;
    if (dots === 1) {
      ino = h.node.mountIno;
      if (plus) entry = uninstantiated(ino, e.type);
    } else if (dots === 2) {
      ino = fs.inodes.inoMap.map(h.node.dev, e.ino);
      if (plus) entry = uninstantiated(ino, e.type);
    } else if (!plus) {
      // d_ino must equal the st_ino a lookup gives (find, du and tar compare them).
      ino = fs.inodes.direntIno(h.node, h.fd, e.name, e.ino, e.type === DT_DIR || e.type === DT_UNKNOWN, fs.st);
    } else {
      const node = fs.inodes.lookup(h.node, e.name, fs.st);
      if (node === -E.ENOENT) continue; // left the source since the snapshot: really gone
      if (typeof node === 'number') {
        if (page.entries.length === 0) return node;
        break;
      }
      ino = node.mountIno;
      entry = fs.entry(node, fs.st);
    }
    page.entries.push({ ino, off: BigInt(i + 1), type: e.type, name: e.name, entry });
    room -= need;
  }
  return page;
}

/** 1 for ".", 2 for "..", else 0 (by bytes: Buffer.equals is a call into C++, twice per entry). */
function dotsOf(name: Buffer): number {
  if (name.length === 0 || name.length > 2 || name[0] !== 0x2e) return 0;
  return name.length === 1 ? 1 : name[1] === 0x2e ? 2 : 0;
}

/** . and .. in READDIRPLUS: nodeid 0 tells the kernel not to instantiate them (no lookup counted). */
function uninstantiated(ino: bigint, type: number): EntryOut {
  return { nodeid: 0, generation: 0, entryValid: 0, attrValid: 0, attr: { ...zeroAttr, ino, mode: type << 12 } };
}

const zeroAttr = {
  ino: 0n, size: 0n, blocks: 0n, atime: 0n, mtime: 0n, ctime: 0n, atimensec: 0, mtimensec: 0,
  ctimensec: 0, mode: 0, nlink: 0, uid: 0, gid: 0, rdev: 0, blksize: 0,
};

/** Every entry of the directory, from the start (linux_dirent64 records from getdents64). */
function loadEntries(h: DirHandle): DirEntry[] | number {
  const r0 = addon.lseek(h.fd, 0n, SEEK_SET, seekOut);
  if (r0 < 0) return r0;
  const out: DirEntry[] = [];
  const b = dentBuf;
  for (;;) {
    const n = addon.getdents(h.fd, b);
    if (n < 0) return n;
    if (n === 0) return out;
    // linux_dirent64: u64 ino, s64 off, u16 reclen, u8 type, NUL-terminated name
    for (let p = 0; p < n; ) {
      const reclen = b.readUInt16LE(p + 16);
      const nameEnd = b.indexOf(0, p + 19);
      out.push({
        ino: b.readBigUInt64LE(p),
        type: b[p + 18],
        name: Buffer.from(b.subarray(p + 19, nameEnd < 0 || nameEnd > p + reclen ? p + reclen : nameEnd)),
      });
      p += reclen;
    }
  }
}
