// The opcode table: opcode -> name, smallest body it may have, handler. Adding an operation is
// one row here and one handler in passthrough/fs.ts. INIT and READ are the session's own
// (negotiation; the read path), so they are listed for the body check but routed there.
// Opcodes without a row get ENOSYS; modifying ones get EROFS (the mount is read-only).
import { Opcode, Size, type OpcodeName } from './kernel/abi.js';
import type { Request } from './kernel/codec.js';
import type { PassthroughFs } from './passthrough/fs.js';

export interface OpRow {
  name: OpcodeName;
  /** Bytes of body the request must have; shorter is EINVAL before the handler runs. */
  minBody: number;
  run(r: Request): number;
}
export type OpTable = Array<OpRow | undefined>;

/** name -> [minimum body size, handler]. */
type Spec = [OpcodeName, number, (fs: PassthroughFs, r: Request) => number];

const NAME = 2; // a one-byte name plus its NUL

export const OP_SPECS: readonly Spec[] = [
  ['LOOKUP', NAME, (fs, r) => fs.lookup(r)],
  ['FORGET', Size.forgetIn, (fs, r) => fs.forget(r)],
  ['BATCH_FORGET', Size.batchForgetIn, (fs, r) => fs.batchForget(r)],
  ['GETATTR', 0, (fs, r) => fs.getattr(r)],
  ['READLINK', 0, (fs, r) => fs.readlink(r)],
  ['OPEN', Size.openIn, (fs, r) => fs.open(r)],
  ['FLUSH', Size.flushIn, (fs, r) => fs.flush(r)],
  ['FSYNC', 8, (fs, r) => fs.fsync(r)],
  ['RELEASE', Size.releaseIn, (fs, r) => fs.release(r)],
  ['OPENDIR', Size.openIn, (fs, r) => fs.opendir(r)],
  ['READDIR', Size.readIn, (fs, r) => fs.readdir(r)],
  ['READDIRPLUS', Size.readIn, (fs, r) => fs.readdirplus(r)],
  ['RELEASEDIR', Size.releaseIn, (fs, r) => fs.releasedir(r)],
  ['FSYNCDIR', 8, (fs, r) => fs.fsync(r)],
  ['STATFS', 0, (fs, r) => fs.statfs(r)],
  ['ACCESS', Size.accessIn, (fs, r) => fs.access(r)],
  ['GETXATTR', Size.getxattrIn + NAME, (fs, r) => fs.getxattr(r)],
  ['LISTXATTR', Size.getxattrIn, (fs, r) => fs.listxattr(r)],
  ['LSEEK', Size.lseekIn, (fs, r) => fs.lseek(r)],
  // INTERRUPT: replies go out as soon as a request is handled, so there is nothing to cancel;
  // the kernel expects no reply to the INTERRUPT itself.
  ['INTERRUPT', Size.interruptIn, () => 0],
  ['DESTROY', 0, () => 16],
  // The read-only mount: every modifying operation.
  ...(
    [
      'SETATTR',
      'SYMLINK',
      'MKNOD',
      'MKDIR',
      'UNLINK',
      'RMDIR',
      'RENAME',
      'RENAME2',
      'LINK',
      'WRITE',
      'CREATE',
      'TMPFILE',
      'SETXATTR',
      'REMOVEXATTR',
      'FALLOCATE',
      'COPY_FILE_RANGE',
    ] as const
  ).map((name): Spec => [name, 0, (fs, r) => fs.readOnly(r)]),
];

/** Requests the kernel sends without waiting for a reply. */
export const NO_REPLY_OPS: ReadonlySet<OpcodeName> = new Set<OpcodeName>(['FORGET', 'BATCH_FORGET', 'INTERRUPT']);

export function buildOpTable(fs: PassthroughFs): OpTable {
  const table: OpTable = [];
  for (const [name, minBody, handler] of OP_SPECS) {
    const code = Opcode[name];
    if (table[code]) throw new Error(`opcode ${name} listed twice`);
    // The kernel expects no reply to these: a malformed one is dropped, never answered.
    const tooShort = NO_REPLY_OPS.has(name) ? 0 : -22; /* EINVAL */
    table[code] = {
      name,
      minBody,
      run: (r) => (r.bodyLength < minBody ? tooShort : handler(fs, r)),
    };
  }
  return table;
}
