// Names and node lifetimes: LOOKUP hands a node to the kernel (one lookup), FORGET and
// BATCH_FORGET give lookups back; a node whose count reaches zero is dropped with its fd.
import { constants } from 'node:os';
import type { ForgetOne, LookupIn } from '../../kernel/request.js';
import type { EntryOut } from '../../kernel/reply.js';
import type { Caller, Passthrough } from '../fs.js';

const E = constants.errno;
const DOTDOT = Buffer.from('..');
/** NAME_MAX: longer names fail before any syscall, as on the source. */
const NAME_MAX = 255;

export function lookup(fs: Passthrough, c: Caller, req: LookupIn): EntryOut | number {
  const parent = fs.node(c.nodeid);
  if (typeof parent === 'number') return parent;
  if (req.name.length > NAME_MAX) return -E.ENAMETOOLONG;
  if (parent === fs.inodes.root && req.name.equals(DOTDOT)) return -E.ENOENT; // never above the source
  const node = fs.inodes.lookup(parent, req.name, fs.st);
  if (typeof node === 'number') return node;
  return fs.entry(node, fs.st);
}

export function forget(fs: Passthrough, _c: Caller, req: ForgetOne): void {
  fs.inodes.forget(req.nodeid, req.nlookup);
}

export function batchForget(fs: Passthrough, _c: Caller, req: ForgetOne[]): void {
  for (const f of req) fs.inodes.forget(f.nodeid, f.nlookup);
}
