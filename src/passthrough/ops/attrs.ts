// Attributes and what a node says of itself: GETATTR, STATX, READLINK, STATFS, ACCESS. All
// through the node's O_PATH fd (fs.inodes.fd: re-opened if it was given back), never a path string.
import { constants } from 'node:os';
import { addon } from '../../addon.js';
import { AT_EMPTY_PATH, AT_STATX_SYNC_TYPE, AT_SYMLINK_NOFOLLOW, W_OK } from '../../kernel/linux.js';
import type { AccessIn, GetattrIn, StatxIn } from '../../kernel/request.js';
import type { AttrOut, Kstatfs, StatxOut } from '../../kernel/reply.js';
import type { Caller, Passthrough } from '../fs.js';
import { newStatx, statPart, toStatx } from '../statx.js';

const E = constants.errno;
/** PATH_MAX: the longest symlink target readlink can return. */
const PATH_MAX = 4096;
const linkBuf = Buffer.allocUnsafe(PATH_MAX);
const vfs = new BigUint64Array(8);
const sx = newStatx();
const sxStat = statPart(sx);

export function getattr(fs: Passthrough, c: Caller, _req: GetattrIn): AttrOut | number {
  const node = fs.node(c.nodeid);
  if (typeof node === 'number') return node;
  // The node's fd always names the file; GETATTR's fh adds nothing for a passthrough.
  const r = fs.inodes.stat(node, fs.st);
  if (r < 0) return r;
  return { attrValid: fs.cfg.timeout, attr: fs.attr(node, fs.st) };
}

/**
 * STATX (7.39; the kernel sends it when a caller's statx(2) wants btime): the source's statx of
 * the node, asked with the kernel's mask and sync flags. Every fuse_attr field, the inode number
 * included, is made by Passthrough.attr as for GETATTR, so both always agree.
 */
export function statx(fs: Passthrough, c: Caller, req: StatxIn): StatxOut | number {
  const node = fs.node(c.nodeid);
  if (typeof node === 'number') return node;
  // As for GETATTR, the node's fd names the file: the fh adds nothing.
  const flags = AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | (req.sxFlags & AT_STATX_SYNC_TYPE);
  const fd = fs.inodes.fd(node);
  if (fd < 0) return fd;
  const r = addon.statx(fd, '', flags, req.sxMask, sx);
  if (r < 0) return r;
  return { attrValid: fs.cfg.timeout, stat: toStatx(sx, fs.attr(node, sxStat)) };
}

/** The link target's bytes (a view of a reused buffer: valid until the next READLINK). */
export function readlink(fs: Passthrough, c: Caller): Buffer | number {
  const node = fs.node(c.nodeid);
  if (typeof node === 'number') return node;
  const fd = fs.inodes.fd(node);
  if (fd < 0) return fd;
  const n = addon.readlinkat(fd, '', linkBuf);
  return n < 0 ? n : linkBuf.subarray(0, n);
}

export function statfs(fs: Passthrough): Kstatfs | number {
  const fd = fs.inodes.fd(fs.inodes.root);
  if (fd < 0) return fd;
  const r = addon.fstatvfs(fd, vfs);
  if (r < 0) return r;
  // vfs = bsize, frsize, blocks, bfree, bavail, files, ffree, namemax (addon/fsops.cc)
  return {
    bsize: Number(vfs[0]),
    frsize: Number(vfs[1]),
    blocks: vfs[2],
    bfree: vfs[3],
    bavail: vfs[4],
    files: vfs[5],
    ffree: vfs[6],
    namelen: Number(vfs[7]),
  };
}

export function access(fs: Passthrough, c: Caller, req: AccessIn): void | number {
  const node = fs.node(c.nodeid);
  if (typeof node === 'number') return node;
  if (fs.readOnly && req.mask & W_OK) return -E.EROFS;
  const fd = fs.inodes.fd(node);
  if (fd < 0) return fd;
  const r = addon.access(fd, req.mask);
  return r < 0 ? r : undefined;
}
