// Operations that make a new object: MKNOD, MKDIR, SYMLINK, CREATE and TMPFILE. Each runs as
// its caller (creds.ts: owner, group, set-group-ID directories and the umask as the source
// would apply them), relative to the parent node's fd, and answers with the new node's entry
// (its lookup count raised by one, as LOOKUP does).
import { constants } from 'node:os';
import { addon } from '../../addon.js';
import { O_CREAT, O_EXCL, O_NOFOLLOW, O_PATH, O_TMPFILE } from '../../kernel/linux.js';
import type { CreateIn, MakeIn, SymlinkIn } from '../../kernel/request.js';
import type { CreateOut, EntryOut } from '../../kernel/reply.js';
import type { Caller, Passthrough } from '../fs.js';
import type { Node } from '../inodes.js';
import { addHandle, backingFlags } from './files.js';

const E = constants.errno;
/** NAME_MAX: longer names fail before any syscall, as on the source. */
const NAME_MAX = 255;

/** The parent directory a new name goes in, or -errno (EROFS on a read-only mount). */
export function parentFor(fs: Passthrough, c: Caller, name: Uint8Array): Node | number {
  if (fs.readOnly) return -E.EROFS;
  if (name.length > NAME_MAX) return -E.ENAMETOOLONG;
  return fs.node(c.nodeid);
}

/** Run `make(parentFd)` as the caller with `umask`, then answer with the new name's entry. */
function make(fs: Passthrough, c: Caller, name: Uint8Array, umask: number, make: (pfd: number) => number): EntryOut | number {
  const parent = parentFor(fs, c, name);
  if (typeof parent === 'number') return parent;
  const pfd = fs.inodes.fd(parent);
  if (pfd < 0) return pfd;
  const r = fs.creds.asCaller(c, umask, () => make(pfd));
  return r < 0 ? r : fs.newEntry(parent, name);
}

export function mknod(fs: Passthrough, c: Caller, req: MakeIn): EntryOut | number {
  return make(fs, c, req.name, req.umask, (pfd) => addon.mknodat(pfd, req.name, req.mode, req.rdev));
}

export function mkdir(fs: Passthrough, c: Caller, req: MakeIn): EntryOut | number {
  return make(fs, c, req.name, req.umask, (pfd) => addon.mkdirat(pfd, req.name, req.mode));
}

export function symlink(fs: Passthrough, c: Caller, req: SymlinkIn): EntryOut | number {
  // A symlink's mode is always 0777: no umask applies.
  return make(fs, c, req.name, 0, (pfd) => addon.symlinkat(req.target, pfd, req.name));
}

/** CREATE: make and open in one step (O_EXCL as the caller asked), never through a symlink. */
export function create(fs: Passthrough, c: Caller, req: CreateIn): CreateOut | number {
  const parent = parentFor(fs, c, req.name);
  if (typeof parent === 'number') return parent;
  const flags = backingFlags(fs, req.flags) | (req.flags & O_EXCL) | O_CREAT | O_NOFOLLOW;
  const fd = fs.inodes.open(parent, (pfd) => fs.creds.asCaller(c, req.umask, () => addon.openat(pfd, req.name, flags, req.mode)));
  if (fd < 0) return fd;
  const entry = fs.newEntry(parent, req.name);
  if (typeof entry === 'number') {
    addon.close(fd);
    return entry;
  }
  const node = fs.inodes.get(entry.nodeid);
  if (!node) {
    addon.close(fd);
    return -E.ESTALE;
  }
  return { entry, open: addHandle(fs, node, fd, req.flags) };
}

/**
 * TMPFILE (O_TMPFILE): an unnamed file in the parent's filesystem; a later LINK of its node
 * gives it a name (unless it was opened with O_EXCL).
 */
export function tmpfile(fs: Passthrough, c: Caller, req: CreateIn): CreateOut | number {
  if (fs.readOnly) return -E.EROFS;
  const parent = fs.node(c.nodeid);
  if (typeof parent === 'number') return parent;
  const flags = backingFlags(fs, req.flags) | (req.flags & O_EXCL) | O_TMPFILE;
  const fd = fs.inodes.open(parent, (pfd) => fs.creds.asCaller(c, req.umask, () => addon.openat(pfd, '.', flags & ~O_CREAT, req.mode)));
  if (fd < 0) return fd;
  // The node's own O_PATH fd, made from the open one: there is no name to open it by.
  const pathFd = addon.openProc(fd, O_PATH);
  const node = pathFd < 0 ? pathFd : fs.inodes.adopt(pathFd, fs.st);
  if (typeof node === 'number') {
    addon.close(fd);
    return node;
  }
  const entry = fs.entry(node, fs.st);
  return { entry, open: addHandle(fs, node, fd, req.flags) };
}
