// Operations on names: UNLINK, RMDIR, RENAME, RENAME2 and LINK. They run with the server's
// credentials (the kernel has checked the caller: default_permissions), relative to the parent
// nodes' fds. Nodes are identities, not names: an unlinked file's node keeps working through its
// open handles, and a renamed directory's nodes below it keep their fds.
import { constants } from 'node:os';
import { addon } from '../../addon.js';
import { AT_REMOVEDIR, RENAME_EXCHANGE, RENAME_NOREPLACE, RENAME_WHITEOUT } from '../../kernel/linux.js';
import type { LinkIn, NameIn, RenameIn } from '../../kernel/request.js';
import type { EntryOut } from '../../kernel/reply.js';
import type { Caller, Passthrough } from '../fs.js';
import type { Node } from '../inodes.js';
import { parentFor } from './create.js';

const E = constants.errno;

export function unlink(fs: Passthrough, c: Caller, req: NameIn): void | number {
  return remove(fs, c, req.name, 0);
}

export function rmdir(fs: Passthrough, c: Caller, req: NameIn): void | number {
  return remove(fs, c, req.name, AT_REMOVEDIR);
}

function remove(fs: Passthrough, c: Caller, name: Uint8Array, flags: number): void | number {
  const parent = parentFor(fs, c, name);
  if (typeof parent === 'number') return parent;
  const pfd = fs.inodes.fd(parent);
  if (pfd < 0) return pfd;
  const r = addon.unlinkat(pfd, name, flags);
  return r < 0 ? r : undefined;
}

/**
 * Run `op` with the fds of two nodes at once. Both are pinned meanwhile: getting the second
 * may re-open it, and a re-open may give back least recently used fds (node-fds.ts), which must
 * not be the first.
 */
function withTwo(fs: Passthrough, a: Node, b: Node, op: (afd: number, bfd: number) => number): number {
  fs.inodes.pin(a);
  fs.inodes.pin(b);
  try {
    const afd = fs.inodes.fd(a);
    if (afd < 0) return afd;
    const bfd = fs.inodes.fd(b);
    if (bfd < 0) return bfd;
    return op(afd, bfd);
  } finally {
    fs.inodes.unpin(b);
    fs.inodes.unpin(a);
  }
}

/** RENAME (flags 0) and RENAME2: renameat2 with NOREPLACE and EXCHANGE; WHITEOUT is refused. */
export function rename(fs: Passthrough, c: Caller, req: RenameIn): void | number {
  // RENAME_WHITEOUT is for overlayfs' upper layer: a character device the mirror cannot make
  // on the caller's behalf without CAP_MKNOD semantics of its own. Refused, as on tmpfs without it.
  if (req.flags & RENAME_WHITEOUT || req.flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) return -E.EINVAL;
  const from = parentFor(fs, c, req.oldName);
  if (typeof from === 'number') return from;
  const to = parentFor(fs, { ...c, nodeid: req.newdir }, req.newName);
  if (typeof to === 'number') return to;
  const r = withTwo(fs, from, to, (ffd, tfd) => addon.renameat2(ffd, req.oldName, tfd, req.newName, req.flags));
  if (r < 0) return r;
  // Nodes that re-open by name follow their object to its new name (node-fds.ts).
  fs.inodes.renamed(to, req.newName, fs.st);
  if (req.flags & RENAME_EXCHANGE) fs.inodes.renamed(from, req.oldName, fs.st);
  return undefined;
}

/** LINK: a new name for an existing node (hard links share one node, so one inode in the kernel). */
export function link(fs: Passthrough, c: Caller, req: LinkIn): EntryOut | number {
  const parent = parentFor(fs, c, req.newName);
  if (typeof parent === 'number') return parent;
  const node = fs.node(req.oldnodeid);
  if (typeof node === 'number') return node;
  const r = withTwo(fs, node, parent, (nfd, pfd) => addon.linkat(nfd, pfd, req.newName));
  return r < 0 ? r : fs.newEntry(parent, req.newName);
}
