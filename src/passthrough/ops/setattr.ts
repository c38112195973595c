// SETATTR: mode, owner, size and times of a node, in that order, then its attributes as they
// are now. Runs with the server's credentials: the kernel has checked the caller
// (default_permissions), and a writer's kill of the set-user-ID bit arrives as a mode change
// from a caller who may not own the file.
import { constants } from 'node:os';
import { addon } from '../../addon.js';
import { O_NONBLOCK, O_WRONLY, UTIME_NOW, UTIME_OMIT } from '../../kernel/linux.js';
import { FATTR, type SetattrIn } from '../../kernel/request.js';
import type { AttrOut } from '../../kernel/reply.js';
import type { Caller, Passthrough } from '../fs.js';
import type { Node } from '../inodes.js';

const E = constants.errno;
const times = new BigInt64Array(4);
/** chown's "leave this one as it is" */
const KEEP = 0xffffffff;

export function setattr(fs: Passthrough, c: Caller, req: SetattrIn): AttrOut | number {
  if (fs.readOnly) return -E.EROFS;
  const node = fs.node(c.nodeid);
  if (typeof node === 'number') return node;
  const v = req.valid;
  // The node stays pinned while several calls use its fd (a re-open elsewhere must not shed it).
  fs.inodes.pin(node);
  try {
    const r = apply(fs, node, req, v);
    if (r < 0) return r;
  } finally {
    fs.inodes.unpin(node);
  }
  const r = fs.inodes.stat(node, fs.st);
  return r < 0 ? r : { attrValid: fs.cfg.timeout, attr: fs.attr(node, fs.st) };
}

function apply(fs: Passthrough, node: Node, req: SetattrIn, v: number): number {
  const fd = fs.inodes.fd(node);
  if (fd < 0) return fd;
  let r = 0;
  if (v & FATTR.MODE) r = addon.chmod(fd, req.mode & 0o7777);
  if (r >= 0 && v & (FATTR.UID | FATTR.GID)) r = addon.chown(fd, v & FATTR.UID ? req.uid : KEEP, v & FATTR.GID ? req.gid : KEEP);
  if (r >= 0 && v & FATTR.SIZE) r = truncate(fs, node, req);
  if (r >= 0 && v & (FATTR.ATIME | FATTR.MTIME)) {
    setTime(0, v & FATTR.ATIME, v & FATTR.ATIME_NOW, req.atime, req.atimensec);
    setTime(2, v & FATTR.MTIME, v & FATTR.MTIME_NOW, req.mtime, req.mtimensec);
    r = addon.utimens(fd, times);
  }
  // FATTR_CTIME: the source sets ctime itself on each change above; it cannot be set directly.
  return r;
}

/** Through the open handle when the kernel names one (ftruncate of a file opened for writing). */
function truncate(fs: Passthrough, node: Node, req: SetattrIn): number {
  const size = BigInt.asIntN(64, req.size);
  const h = req.valid & FATTR.FH ? fs.files.get(req.fh) : undefined;
  if (h) return addon.ftruncate(h.fd, size);
  const wfd = fs.inodes.open(node, (nfd) => addon.openProc(nfd, O_WRONLY | O_NONBLOCK));
  if (wfd < 0) return wfd;
  const r = addon.ftruncate(wfd, size);
  addon.close(wfd);
  return r;
}

function setTime(at: number, set: number, now: number, sec: bigint, nsec: number): void {
  times[at] = 0n;
  times[at + 1] = !set ? UTIME_OMIT : now ? UTIME_NOW : BigInt(nsec);
  if (set && !now) times[at] = sec;
}
