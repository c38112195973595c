// The opcode table: every operation is one row (name, smallest body, decoder, handler, reply
// encoder), INIT and READ included. Adding an operation is one row here and one typed handler
// in passthrough/ops/. Opcodes without a row get ENOSYS; on a read-only mount (`-o ro`) the
// modifying ones answer EROFS from their handlers. test/unit/optable.test.ts walks the table.
import { constants } from 'node:os';
import { Opcode, type OpcodeName } from '../kernel/abi.js';
import * as K from '../kernel/abi.js';
import * as D from '../kernel/request.js';
import type { Request } from '../kernel/request.js';
import * as R from '../kernel/reply.js';
import type { Reply } from '../kernel/reply.js';
import type { Passthrough } from '../passthrough/fs.js';
import * as attrs from '../passthrough/ops/attrs.js';
import * as create from '../passthrough/ops/create.js';
import * as dirs from '../passthrough/ops/dirs.js';
import * as entries from '../passthrough/ops/entries.js';
import * as files from '../passthrough/ops/files.js';
import * as names from '../passthrough/ops/names.js';
import * as setattr from '../passthrough/ops/setattr.js';
import * as xattr from '../passthrough/ops/xattr.js';

const E = constants.errno;

/** How the request reached us: the fd its reply goes back on, and a worker's failed READ plan. */
export interface Via {
  replyFd: number;
  /** the failure code of the READ plan a worker tried (0 if none) */
  prior: number;
}

/** What the rows need besides the filesystem: the session's INIT and the data path's READ. */
export interface OpContext {
  fs: Passthrough;
  /** INIT: the reply to send, or -errno. */
  init(req: D.InitIn): R.InitOut | number;
  /** READ: move the bytes; 0 when the reply went out, or -errno to send as an error. */
  read(unique: bigint, target: files.ReadTarget, via: Via): number;
  /** WRITE: the payload into the backing file; bytes written, or -errno. */
  write(target: files.WriteTarget): { size: number } | number;
}

/** A row bound to its context: > 0 a reply of that length is in rep, < 0 -errno, 0 no reply. */
export type Run = (req: Request, rep: Reply, via: Via) => number;

export interface OpSpec {
  name: OpcodeName;
  /** Bytes of body the request must have; shorter is EINVAL before the handler runs. */
  minBody: number;
  /** The kernel expects no reply (FORGET, BATCH_FORGET, INTERRUPT): errors are dropped too. */
  noReply: boolean;
  bind(ctx: OpContext): Run;
}

type Handler<B, T> = (ctx: OpContext, req: Request, body: B, via: Via) => T | number;

/** A row: decode the body, run the handler, encode its result (a number from it is -errno or "replied"). */
function op<B, T>(name: OpcodeName, minBody: number, decode: (r: Request) => B, handle: Handler<B, T>, encode: (rep: Reply, v: T) => number): OpSpec {
  return {
    name,
    minBody,
    noReply: false,
    bind: (ctx) => (req, rep, via) => {
      const res = handle(ctx, req, decode(req), via);
      return typeof res === 'number' ? res : encode(rep, res);
    },
  };
}

/** A row the kernel expects no reply to. */
function noReply<B>(name: OpcodeName, minBody: number, decode: (r: Request) => B, handle: (ctx: OpContext, req: Request, body: B) => void): OpSpec {
  return {
    name,
    minBody,
    noReply: true,
    bind: (ctx) => (req) => {
      handle(ctx, req, decode(req));
      return 0;
    },
  };
}

/** A one-byte name and its NUL. */
const NAME = 2;

export const OP_SPECS: readonly OpSpec[] = [
  op('INIT', D.INIT_IN_MIN, D.decodeInit, (ctx, _r, b) => ctx.init(b), R.encodeInit),
  op('LOOKUP', NAME, D.decodeLookup, (ctx, r, b) => entries.lookup(ctx.fs, r, b), R.encodeEntry),
  noReply('FORGET', K.fuse_forget_in.size, D.decodeForget, (ctx, r, b) => entries.forget(ctx.fs, r, b)),
  noReply('BATCH_FORGET', K.fuse_batch_forget_in.size, D.decodeBatchForget, (ctx, r, b) => entries.batchForget(ctx.fs, r, b)),
  op('GETATTR', 0, D.decodeGetattr, (ctx, r, b) => attrs.getattr(ctx.fs, r, b), R.encodeAttrOut),
  op('STATX', K.fuse_statx_in.size, D.decodeStatx, (ctx, r, b) => attrs.statx(ctx.fs, r, b), R.encodeStatxOut),
  op('READLINK', 0, D.decodeNone, (ctx, r) => attrs.readlink(ctx.fs, r), R.encodeBytes),
  op('STATFS', 0, D.decodeNone, (ctx) => attrs.statfs(ctx.fs), R.encodeStatfs),
  op('ACCESS', K.fuse_access_in.size, D.decodeAccess, (ctx, r, b) => attrs.access(ctx.fs, r, b), R.encodeEmpty),
  op('OPEN', K.fuse_open_in.size, D.decodeOpen, (ctx, r, b) => files.open(ctx.fs, r, b), R.encodeOpen),
  op('READ', K.fuse_read_in.size, D.decodeRead, readRow, R.encodeEmpty),
  op('FLUSH', K.fuse_flush_in.size, D.decodeFlush, (ctx, r, b) => files.flush(ctx.fs, r, b), R.encodeEmpty),
  op('FSYNC', K.fuse_fsync_in.size, D.decodeFsync, (ctx, r, b) => files.fsync(ctx.fs, r, b), R.encodeEmpty),
  op('RELEASE', K.fuse_release_in.size, D.decodeRelease, (ctx, r, b) => files.release(ctx.fs, r, b), R.encodeEmpty),
  op('LSEEK', K.fuse_lseek_in.size, D.decodeLseek, (ctx, r, b) => files.lseek(ctx.fs, r, b), R.encodeLseek),
  op('OPENDIR', K.fuse_open_in.size, D.decodeOpen, (ctx, r, b) => dirs.opendir(ctx.fs, r, b), R.encodeOpen),
  op('READDIR', K.fuse_read_in.size, D.decodeRead, (ctx, r, b) => dirs.readdir(ctx.fs, r, b), R.encodeDirPage),
  op('READDIRPLUS', K.fuse_read_in.size, D.decodeRead, (ctx, r, b) => dirs.readdirplus(ctx.fs, r, b), R.encodeDirPage),
  op('RELEASEDIR', K.fuse_release_in.size, D.decodeRelease, (ctx, r, b) => dirs.releasedir(ctx.fs, r, b), R.encodeEmpty),
  op('FSYNCDIR', K.fuse_fsync_in.size, D.decodeFsync, (ctx, r, b) => dirs.fsyncdir(ctx.fs, r, b), R.encodeEmpty),
  op('GETXATTR', K.fuse_getxattr_in.size + NAME, D.decodeGetxattr, (ctx, r, b) => xattr.getxattr(ctx.fs, r, b), encodeXattr),
  op('LISTXATTR', K.fuse_getxattr_in.size, D.decodeListxattr, (ctx, r, b) => xattr.listxattr(ctx.fs, r, b), encodeXattr),
  // INTERRUPT: replies go out as soon as a request is handled, so there is nothing to cancel.
  noReply('INTERRUPT', K.fuse_interrupt_in.size, D.decodeInterrupt, () => undefined),
  op('DESTROY', 0, D.decodeNone, () => undefined, R.encodeEmpty),
  // Read-write: each handler answers EROFS itself on a read-only mount.
  op('SETATTR', K.fuse_setattr_in.size, D.decodeSetattr, (ctx, r, b) => setattr.setattr(ctx.fs, r, b), R.encodeAttrOut),
  op('MKNOD', K.fuse_mknod_in.size + NAME, D.decodeMknod, (ctx, r, b) => create.mknod(ctx.fs, r, b), R.encodeEntry),
  op('MKDIR', K.fuse_mkdir_in.size + NAME, D.decodeMkdir, (ctx, r, b) => create.mkdir(ctx.fs, r, b), R.encodeEntry),
  op('SYMLINK', 2 * NAME, D.decodeSymlink, (ctx, r, b) => create.symlink(ctx.fs, r, b), R.encodeEntry),
  op('CREATE', K.fuse_create_in.size + NAME, D.decodeCreate, (ctx, r, b) => create.create(ctx.fs, r, b), R.encodeCreate),
  op('TMPFILE', K.fuse_create_in.size + NAME, D.decodeCreate, (ctx, r, b) => create.tmpfile(ctx.fs, r, b), R.encodeCreate),
  op('UNLINK', NAME, D.decodeName, (ctx, r, b) => names.unlink(ctx.fs, r, b), R.encodeEmpty),
  op('RMDIR', NAME, D.decodeName, (ctx, r, b) => names.rmdir(ctx.fs, r, b), R.encodeEmpty),
  op('RENAME', K.fuse_rename_in.size + 2 * NAME, D.decodeRename, (ctx, r, b) => names.rename(ctx.fs, r, b), R.encodeEmpty),
  op('RENAME2', K.fuse_rename2_in.size + 2 * NAME, D.decodeRename2, (ctx, r, b) => names.rename(ctx.fs, r, b), R.encodeEmpty),
  op('LINK', K.fuse_link_in.size + NAME, D.decodeLink, (ctx, r, b) => names.link(ctx.fs, r, b), R.encodeEntry),
  op('WRITE', K.fuse_write_in.size, D.decodeWrite, writeRow, R.encodeWriteOut),
  op('FALLOCATE', K.fuse_fallocate_in.size, D.decodeFallocate, (ctx, r, b) => files.fallocate(ctx.fs, r, b), R.encodeEmpty),
  op('COPY_FILE_RANGE', K.fuse_copy_file_range_in.size, D.decodeCopyFileRange, (ctx, r, b) => files.copyFileRange(ctx.fs, r, b), R.encodeWriteOut),
  // The same request, its count answered in 64 bits (7.45).
  op('COPY_FILE_RANGE_64', K.fuse_copy_file_range_in.size, D.decodeCopyFileRange, (ctx, r, b) => files.copyFileRange(ctx.fs, r, b), R.encodeCopyFileRangeOut),
  op('SETXATTR', K.FUSE_COMPAT_SETXATTR_IN_SIZE + NAME, D.decodeSetxattr, (ctx, r, b) => xattr.setxattr(ctx.fs, r, b), R.encodeEmpty),
  op('REMOVEXATTR', NAME, D.decodeName, (ctx, r, b) => xattr.removexattr(ctx.fs, r, b), R.encodeEmpty),
];

/** READ: the filesystem names the handle and range, the data path moves the bytes. */
function readRow(ctx: OpContext, req: Request, body: D.ReadIn, via: Via): number {
  const t = files.readTarget(ctx.fs, req, body);
  return typeof t === 'number' ? t : ctx.read(req.unique, t, via);
}

/** WRITE: the filesystem names the handle and range, the data path moves the payload. */
function writeRow(ctx: OpContext, req: Request, body: D.WriteIn): { size: number } | number {
  const t = files.writeTarget(ctx.fs, req, body);
  if (typeof t === 'number') return t;
  const r = ctx.write(t);
  // The bytes are in the file either way, so the reply reports them; should the mode change fail,
  // the bits stay as a privileged writer would have left them.
  if (t.killSuidgid && typeof r !== 'number') files.killSuidgid(ctx.fs, t.handle.node);
  return r;
}

function encodeXattr(rep: Reply, v: xattr.XattrResult): number {
  return Buffer.isBuffer(v) ? R.encodeBytes(rep, v) : R.encodeXattrSize(rep, v.size);
}

/** One entry per opcode number: the bound row, or undefined (ENOSYS). */
export interface OpRow {
  name: OpcodeName;
  noReply: boolean;
  run: Run;
}
export type OpTable = Array<OpRow | undefined>;

/** Bind every row to `ctx`; the body-size check runs before the decoder. */
export function buildOpTable(ctx: OpContext, specs: readonly OpSpec[] = OP_SPECS): OpTable {
  const table: OpTable = [];
  for (const spec of specs) {
    const code = Opcode[spec.name];
    if (table[code]) throw new Error(`opcode ${spec.name} listed twice`);
    const tooShort = spec.noReply ? 0 : -E.EINVAL; // a malformed no-reply request is dropped
    const run = spec.bind(ctx);
    table[code] = {
      name: spec.name,
      noReply: spec.noReply,
      run: (req, rep, via) => (req.bodyLength < spec.minBody ? tooShort : run(req, rep, via)),
    };
  }
  return table;
}
