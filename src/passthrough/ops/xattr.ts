// Extended attributes: GETXATTR and LISTXATTR (size queries included), SETXATTR and
// REMOVEXATTR, through the node's fd.
import { constants } from 'node:os';
import { addon } from '../../addon.js';
import type { GetxattrIn, ListxattrIn, NameIn, SetxattrIn } from '../../kernel/request.js';
import type { Caller, Passthrough } from '../fs.js';

/** XATTR_SIZE_MAX and XATTR_LIST_MAX: the largest value or name list Linux returns. */
const XATTR_MAX = 64 * 1024;
const valueBuf = Buffer.allocUnsafe(XATTR_MAX);
const E = constants.errno;
const ACL_NAMES = new Set(['system.posix_acl_access', 'system.posix_acl_default']);

/** The answer to an xattr request: the size it needs (size-0 query), or the bytes. */
export type XattrResult = { size: number } | Buffer;

/** size 0 asks how much room the value needs; otherwise the value itself, or ERANGE. */
function xattrCall(size: number, call: (buf: Buffer) => number): XattrResult | number {
  if (size === 0) {
    const n = call(valueBuf.subarray(0, 0));
    return n < 0 ? n : { size: n };
  }
  const n = call(valueBuf.subarray(0, Math.min(size, XATTR_MAX)));
  return n < 0 ? n : valueBuf.subarray(0, n);
}

/**
 * GETXATTR. When the kernel checks ACLs (fs.kernelAcls), it asks for system.posix_acl_* to
 * decide an access, and reads any error but ENODATA as the access's answer: a source file
 * system without ACL support (EOPNOTSUPP: ramfs, /proc, ...) would deny every user who is not
 * the owner. Such a file has no ACL, so the answer is ENODATA and the mode bits decide, as on
 * the source. (A user's own getfacl then shows the mode as an ACL rather than "not supported".)
 */
export function getxattr(fs: Passthrough, c: Caller, req: GetxattrIn): XattrResult | number {
  const node = fs.node(c.nodeid);
  if (typeof node === 'number') return node;
  const fd = fs.inodes.fd(node);
  if (fd < 0) return fd;
  const r = xattrCall(req.size, (buf) => addon.getxattr(fd, req.name, buf));
  if (r === -E.EOPNOTSUPP && fs.kernelAcls && ACL_NAMES.has(req.name.toString('latin1'))) return -E.ENODATA;
  return r;
}

export function listxattr(fs: Passthrough, c: Caller, req: ListxattrIn): XattrResult | number {
  const node = fs.node(c.nodeid);
  if (typeof node === 'number') return node;
  const fd = fs.inodes.fd(node);
  if (fd < 0) return fd;
  return xattrCall(req.size, (buf) => addon.listxattr(fd, buf));
}

/** SETXATTR: XATTR_CREATE (EEXIST) and XATTR_REPLACE (ENODATA) as the source answers them. */
export function setxattr(fs: Passthrough, c: Caller, req: SetxattrIn): void | number {
  if (fs.readOnly) return -E.EROFS;
  const node = fs.node(c.nodeid);
  if (typeof node === 'number') return node;
  const fd = fs.inodes.fd(node);
  if (fd < 0) return fd;
  const r = addon.setxattr(fd, req.name, req.value, req.flags);
  return r < 0 ? r : undefined;
}

export function removexattr(fs: Passthrough, c: Caller, req: NameIn): void | number {
  if (fs.readOnly) return -E.EROFS;
  const node = fs.node(c.nodeid);
  if (typeof node === 'number') return node;
  const fd = fs.inodes.fd(node);
  if (fd < 0) return fd;
  const r = addon.removexattr(fd, req.name);
  return r < 0 ? r : undefined;
}
