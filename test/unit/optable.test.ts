// The opcode table (src/server/optable.ts): every row names a real opcode once; each opcode is
// routed to its handler with its decoded body and its result encoded by the right encoder (the
// handler modules replaced by recording fakes), the modifying operations included; an opcode
// without a row is ENOSYS (absent from the table, answered by the dispatcher); a body shorter
// than a row's minimum is EINVAL (dropped for no-reply ops) before the handler runs. Then the
// real handlers against a temporary source directory: optable-real.test.ts.
import { constants } from 'node:os';
import { pino } from 'pino';
import t from 'tap';
import { Opcode, type OpcodeName } from '../../src/kernel/abi.js';
import { Reply, type Attr, type Statx } from '../../src/kernel/reply.js';
import { Passthrough } from '../../src/passthrough/fs.js';
import { Dispatcher } from '../../src/server/dispatch.js';
import * as real from '../../src/server/optable.js';
import type { OpContext, OpSpec, OpTable, Via } from '../../src/server/optable.js';
import { bytesOf, copyIn, createIn, cstr, makeRequest, MODIFYING, setattrIn, throwsMalformed, u32, u64, via, writeIn } from '../helpers/fuse-bytes.js';

const E = constants.errno;

const HANDLED: OpcodeName[] = [
  'INIT', 'LOOKUP', 'FORGET', 'BATCH_FORGET', 'GETATTR', 'READLINK', 'OPEN', 'READ', 'FLUSH', 'FSYNC',
  'RELEASE', 'OPENDIR', 'READDIR', 'READDIRPLUS', 'RELEASEDIR', 'FSYNCDIR', 'STATFS', 'ACCESS',
  'GETXATTR', 'LISTXATTR', 'LSEEK', 'INTERRUPT', 'DESTROY', 'STATX',
];
const NO_REPLY: OpcodeName[] = ['FORGET', 'BATCH_FORGET', 'INTERRUPT'];
const UNHANDLED: OpcodeName[] = ['GETLK', 'SETLK', 'SETLKW', 'BMAP', 'IOCTL', 'POLL', 'NOTIFY_REPLY', 'SETUPMAPPING', 'REMOVEMAPPING', 'SYNCFS'];

/**
 * A context whose fs is a read-only flag and nothing else: the rows under test never reach it,
 * except the modifying ones, which must answer EROFS from that flag before touching anything
 * (a handler that went further would throw a TypeError on the missing members).
 */
function bareContext(): OpContext {
  return { fs: { readOnly: true } as Passthrough, init: () => -E.EIO, read: () => -E.EIO, write: () => -E.EIO };
}
/** Buffers (names, payloads, values) as their text, for comparing decoded bodies. */
function plain(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('latin1');
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
}

// ---- the rows ----------------------------------------------------------------------------------

t.test('OP_SPECS: every row names a real opcode, once', async (t) => {
  const seen = new Set<number>();
  for (const spec of real.OP_SPECS) {
    t.type(Opcode[spec.name], 'number', `${spec.name} is an opcode`);
    t.notOk(seen.has(Opcode[spec.name]), `${spec.name} (${Opcode[spec.name]}) appears once`);
    seen.add(Opcode[spec.name]);
    t.ok(Number.isInteger(spec.minBody) && spec.minBody >= 0, `${spec.name}: minBody ${spec.minBody} is a size`);
    t.type(spec.bind, 'function', `${spec.name}: binds to a handler`);
    t.equal(spec.noReply, NO_REPLY.includes(spec.name), `${spec.name}: ${spec.noReply ? 'no reply' : 'a reply'}`);
  }
  t.equal(seen.size, HANDLED.length + MODIFYING.length, 'the handled and the modifying operations, nothing else');
  for (const name of HANDLED) t.ok(seen.has(Opcode[name]), `${name} is handled`);
  for (const name of MODIFYING) t.ok(seen.has(Opcode[name]), `${name} is handled (a modifying operation)`);
  for (const name of UNHANDLED) t.notOk(seen.has(Opcode[name]), `${name} has no row`);
  t.doesNotThrow(() => real.buildOpTable(bareContext()), 'buildOpTable accepts the real specs');
  const lookup = real.OP_SPECS.find((s) => s.name === 'LOOKUP') as OpSpec;
  t.throws(() => real.buildOpTable(bareContext(), [lookup, lookup]), /twice/, 'an opcode listed twice is refused');

  // The minimum bodies the layouts demand (fuse_*_in sizes from linux/fuse.h; a name is 'x\0').
  const min = Object.fromEntries(real.OP_SPECS.map((s) => [s.name, s.minBody]));
  t.strictSame(
    min,
    {
      INIT: 16, // fuse_init_in before 7.36: major, minor, max_readahead, flags
      LOOKUP: 2,
      FORGET: 8, // fuse_forget_in
      BATCH_FORGET: 8, // fuse_batch_forget_in
      GETATTR: 0, // kernels before 7.9 send no fuse_getattr_in
      READLINK: 0,
      STATFS: 0,
      ACCESS: 8, // fuse_access_in
      OPEN: 8, // fuse_open_in
      READ: 40, // fuse_read_in
      FLUSH: 24, // fuse_flush_in
      FSYNC: 16, // fuse_fsync_in
      RELEASE: 24, // fuse_release_in
      LSEEK: 24, // fuse_lseek_in
      OPENDIR: 8,
      READDIR: 40,
      READDIRPLUS: 40,
      RELEASEDIR: 24,
      FSYNCDIR: 16,
      GETXATTR: 10, // fuse_getxattr_in + a name
      LISTXATTR: 8, // fuse_getxattr_in
      INTERRUPT: 8, // fuse_interrupt_in
      DESTROY: 0,
      STATX: 24, // fuse_statx_in (7.39)
      SETATTR: 88, // fuse_setattr_in
      MKNOD: 16 + 2, // fuse_mknod_in + a name
      MKDIR: 8 + 2, // fuse_mkdir_in + a name
      SYMLINK: 4, // two names: the new one and the target
      CREATE: 16 + 2, // fuse_create_in + a name
      TMPFILE: 16 + 2, // fuse_create_in + a name
      UNLINK: 2,
      RMDIR: 2,
      RENAME: 8 + 4, // fuse_rename_in + two names
      RENAME2: 16 + 4, // fuse_rename2_in + two names
      LINK: 8 + 2, // fuse_link_in + a name
      WRITE: 40, // fuse_write_in (and size bytes of payload, checked by the decoder)
      FALLOCATE: 32, // fuse_fallocate_in
      COPY_FILE_RANGE: 56, // fuse_copy_file_range_in
      COPY_FILE_RANGE_64: 56, // the same request
      SETXATTR: 8 + 2, // FUSE_COMPAT_SETXATTR_IN_SIZE (no FUSE_SETXATTR_EXT) + a name
      REMOVEXATTR: 2,
    },
    'minBody of every row',
  );
});

t.test('ENOSYS by absence; EROFS from a read-only fs, EINVAL for a short body, through the dispatcher', async (t) => {
  const table = real.buildOpTable(bareContext());
  for (const spec of real.OP_SPECS) t.equal(table[Opcode[spec.name]]?.name, spec.name, `${spec.name}: a row named for its opcode`);
  // With no body at all every modifying row is EINVAL (its minimum body is missing), read-only or not.
  for (const name of MODIFYING) t.equal(table[Opcode[name]]!.run(makeRequest(Opcode[name], 1, Buffer.alloc(0)), new Reply(256), via()), -E.EINVAL, `${name} with no body -> EINVAL`);
  for (const name of UNHANDLED) t.equal(table[Opcode[name]], undefined, `${name}: no row (ENOSYS)`);
  t.equal(table[0], undefined, 'opcode 0: no row');
  t.equal(table[99], undefined, 'opcode 99: no row');
  t.equal(table[4096], undefined, 'CUSE_INIT: no row');

  // The dispatcher answers an absent row with ENOSYS, a malformed request with EINVAL, and drops
  // a malformed no-reply request.
  const sent: string[] = [];
  const rep = new Reply(4096);
  const d = new Dispatcher(table, rep, {
    send: (_fd, buf, len) => (sent.push(Buffer.from(buf.subarray(0, len)).toString('hex')), len),
    onDeviceError: () => {},
    initialized: () => true,
    onInitSent: () => {},
  }, pino({ level: 'silent' }));
  const dispatch = (bytes: Buffer) => {
    const buf = Buffer.alloc(8192, 0xa5);
    bytes.copy(buf);
    d.dispatch(buf, bytes.length, 9, 0);
  };
  dispatch(bytesOf(Opcode.GETLK, 1, Buffer.alloc(48), 0x77n));
  t.strictSame(sent, ['10000000' + 'daffffff' + '7700000000000000'], 'GETLK: a 16-byte reply, error -38 (ENOSYS), its unique');
  dispatch(bytesOf(99, 1, Buffer.alloc(0), 0x78n));
  t.equal(sent[1], '10000000' + 'daffffff' + '7800000000000000', 'opcode 99: ENOSYS');
  dispatch(bytesOf(Opcode.MKDIR, 1, Buffer.concat([u32(0o755), u32(0o22), cstr('d')]), 0x79n));
  t.equal(sent[2], '10000000' + 'e2ffffff' + '7900000000000000', 'MKDIR on a read-only fs: EROFS (-30)');
  dispatch(bytesOf(Opcode.OPEN, 1, Buffer.alloc(4), 0x7an));
  t.equal(sent[3], '10000000' + 'eaffffff' + '7a00000000000000', 'OPEN with a 4-byte body: EINVAL (-22)');
  dispatch(bytesOf(Opcode.FORGET, 5, Buffer.alloc(4), 0x7bn));
  t.equal(sent.length, 4, 'FORGET with a 4-byte body: dropped, no reply');
  dispatch(bytesOf(Opcode.INTERRUPT, 0, u64(0x7an), 0x7cn));
  t.equal(sent.length, 4, 'INTERRUPT: no reply');
  t.same(d.requestCounts(), { GETLK: 1, OP_99: 1, MKDIR: 1, OPEN: 1, FORGET: 1, INTERRUPT: 1 }, 'each request counted by name');
});

// ---- routing, with recording handlers ----------------------------------------------------------

interface Recorded {
  handler: string;
  nodeid: number;
  body: unknown;
}
const calls: Recorded[] = [];
function rec(handler: string, result: (body: any) => unknown) {
  return (_fs: unknown, c?: { nodeid: number }, body?: unknown) => {
    calls.push({ handler, nodeid: c?.nodeid ?? -1, body });
    return result(body);
  };
}
const ATTR: Attr = {
  ino: 5n, size: 5n, blocks: 8n, atime: 0n, mtime: 0n, ctime: 0n, atimensec: 0, mtimensec: 0, ctimensec: 0,
  mode: 0o100644, nlink: 1, uid: 0, gid: 0, rdev: 0, blksize: 4096,
};
const SX0 = { sec: 0n, nsec: 0 };
const STATX: Statx = {
  mask: 0xfff, blksize: 4096, attributes: 0n, attributesMask: 0n, nlink: 1, uid: 0, gid: 0, mode: 0o100644,
  ino: 5n, size: 5n, blocks: 8n, atime: SX0, btime: { sec: 7n, nsec: 9 }, ctime: SX0, mtime: SX0,
  rdevMajor: 0, rdevMinor: 0, devMajor: 0, devMinor: 0,
};
const ENTRY = { nodeid: 5, generation: 0, entryValid: 1, attrValid: 1, attr: ATTR };
const HANDLE = { fh: 3, fd: 77, node: {}, plan: null };
const CREATED = { entry: { ...ENTRY, nodeid: 6 }, open: { fh: 8, openFlags: 1 } };
const xattrResult = (b: { size: number }) => (b.size === 0 ? { size: 10 } : Buffer.from('value'));

const mocks = {
  '../../src/passthrough/ops/attrs.js': {
    getattr: rec('getattr', () => ({ attrValid: 1, attr: ATTR })),
    readlink: rec('readlink', () => Buffer.from('target')),
    statfs: rec('statfs', () => ({ blocks: 1n, bfree: 1n, bavail: 1n, files: 1n, ffree: 1n, bsize: 4096, namelen: 255, frsize: 4096 })),
    access: rec('access', () => undefined),
    statx: rec('statx', () => ({ attrValid: 1, stat: STATX })),
  },
  '../../src/passthrough/ops/dirs.js': {
    opendir: rec('opendir', () => ({ fh: 4, openFlags: 0 })),
    releasedir: rec('releasedir', () => undefined),
    fsyncdir: rec('fsyncdir', () => undefined),
    readdir: rec('readdir', () => ({ entries: [{ ino: 5n, off: 1n, type: 8, name: Buffer.from('a') }] })),
    readdirplus: rec('readdirplus', () => ({ entries: [{ ino: 5n, off: 1n, type: 8, name: Buffer.from('a'), entry: ENTRY }] })),
  },
  '../../src/passthrough/ops/entries.js': {
    lookup: rec('lookup', () => ENTRY),
    forget: rec('forget', () => undefined),
    batchForget: rec('batchForget', () => undefined),
  },
  '../../src/passthrough/ops/files.js': {
    open: rec('open', () => ({ fh: 3, openFlags: 1 })),
    readTarget: rec('readTarget', (b: { fh: number; offset: bigint; size: number }) => (b.fh === 3 ? { handle: HANDLE, offset: b.offset, size: b.size } : -E.EBADF)),
    flush: rec('flush', () => undefined),
    fsync: rec('fsync', () => undefined),
    release: rec('release', () => undefined),
    lseek: rec('lseek', () => ({ offset: 2n ** 53n + 1n })),
    writeTarget: rec('writeTarget', (b: { fh: number; offset: bigint; data: Buffer }) => (b.fh === 3 ? { handle: HANDLE, offset: b.offset, data: b.data } : -E.EBADF)),
    fallocate: rec('fallocate', () => undefined),
    copyFileRange: rec('copyFileRange', () => ({ size: 0x12345678 })),
  },
  '../../src/passthrough/ops/xattr.js': {
    getxattr: rec('getxattr', xattrResult),
    listxattr: rec('listxattr', xattrResult),
    setxattr: rec('setxattr', () => undefined),
    removexattr: rec('removexattr', () => undefined),
  },
  '../../src/passthrough/ops/create.js': {
    mknod: rec('mknod', () => ENTRY),
    mkdir: rec('mkdir', () => ENTRY),
    symlink: rec('symlink', () => ENTRY),
    create: rec('create', () => CREATED),
    tmpfile: rec('tmpfile', () => CREATED),
  },
  '../../src/passthrough/ops/names.js': {
    unlink: rec('unlink', () => undefined),
    rmdir: rec('rmdir', () => undefined),
    rename: rec('rename', () => undefined),
    link: rec('link', () => ENTRY),
  },
  '../../src/passthrough/ops/setattr.js': {
    setattr: rec('setattr', () => ({ attrValid: 1, attr: ATTR })),
  },
};

/** fuse_read_in: fh, offset, size, read_flags, lock_owner, flags, padding */
const readIn = (fh: number) => Buffer.concat([u64(fh), u64(2n ** 53n + 1n), u32(4096), u32(0), u64(0), u32(0), u32(0)]);
const releaseIn = Buffer.concat([u64(3), u32(0), u32(0), u64(0)]);
/** Per opcode: a body of exactly minBody bytes where one is needed, the handler, what it gets, the reply length. */
const ROUTES: Array<{ name: OpcodeName; body: Buffer; handler: string | null; decoded?: unknown; result: number }> = [
  { name: 'INIT', body: Buffer.concat([u32(7), u32(40), u32(65536), u32(1)]), handler: 'init', decoded: { major: 7, minor: 40, maxReadahead: 65536, flags: 1n }, result: 16 + 64 },
  { name: 'LOOKUP', body: cstr('x'), handler: 'lookup', result: 16 + 128 },
  { name: 'FORGET', body: u64(3), handler: 'forget', decoded: { nodeid: 7, nlookup: 3 }, result: 0 },
  { name: 'BATCH_FORGET', body: Buffer.concat([u32(0), u32(0)]), handler: 'batchForget', decoded: [], result: 0 },
  { name: 'GETATTR', body: Buffer.alloc(0), handler: 'getattr', decoded: { getattrFlags: 0, fh: 0 }, result: 16 + 104 },
  { name: 'READLINK', body: Buffer.alloc(0), handler: 'readlink', result: 16 + 6 },
  { name: 'STATFS', body: Buffer.alloc(0), handler: 'statfs', result: 16 + 80 },
  { name: 'ACCESS', body: Buffer.concat([u32(4), u32(0)]), handler: 'access', decoded: { mask: 4 }, result: 16 },
  { name: 'OPEN', body: Buffer.concat([u32(0), u32(0)]), handler: 'open', decoded: { flags: 0, openFlags: 0 }, result: 16 + 16 },
  { name: 'READ', body: readIn(3), handler: 'readTarget', decoded: { fh: 3, offset: 2n ** 53n + 1n, size: 4096, readFlags: 0, lockOwner: 0n, flags: 0 }, result: 0 },
  { name: 'FLUSH', body: Buffer.concat([u64(3), u32(0), u32(0), u64(9)]), handler: 'flush', decoded: { fh: 3, lockOwner: 9n }, result: 16 },
  { name: 'FSYNC', body: Buffer.concat([u64(3), u32(1), u32(0)]), handler: 'fsync', decoded: { fh: 3, fsyncFlags: 1 }, result: 16 },
  { name: 'RELEASE', body: releaseIn, handler: 'release', decoded: { fh: 3, flags: 0, releaseFlags: 0, lockOwner: 0n }, result: 16 },
  { name: 'LSEEK', body: Buffer.concat([u64(3), u64(100), u32(3), u32(0)]), handler: 'lseek', decoded: { fh: 3, offset: 100n, whence: 3 }, result: 16 + 8 },
  { name: 'OPENDIR', body: Buffer.concat([u32(0), u32(0)]), handler: 'opendir', decoded: { flags: 0, openFlags: 0 }, result: 16 + 16 },
  { name: 'READDIR', body: readIn(4), handler: 'readdir', result: 16 + 32 },
  { name: 'READDIRPLUS', body: readIn(4), handler: 'readdirplus', result: 16 + 160 },
  { name: 'RELEASEDIR', body: releaseIn, handler: 'releasedir', result: 16 },
  { name: 'FSYNCDIR', body: Buffer.concat([u64(4), u32(1), u32(0)]), handler: 'fsyncdir', decoded: { fh: 4, fsyncFlags: 1 }, result: 16 },
  { name: 'GETXATTR', body: Buffer.concat([u32(0), u32(0), cstr('x')]), handler: 'getxattr', result: 16 + 8 },
  { name: 'LISTXATTR', body: Buffer.concat([u32(0), u32(0)]), handler: 'listxattr', decoded: { size: 0 }, result: 16 + 8 },
  { name: 'INTERRUPT', body: u64(41), handler: null, result: 0 },
  { name: 'DESTROY', body: Buffer.alloc(0), handler: null, result: 16 },
  {
    name: 'STATX',
    body: Buffer.concat([u32(1), u32(0), u64(3), u32(0), u32(0xfff)]),
    handler: 'statx',
    decoded: { getattrFlags: 1, fh: 3, sxFlags: 0, sxMask: 0xfff },
    result: 16 + 288,
  },
  // The modifying operations.
  {
    name: 'SETATTR',
    body: setattrIn({ valid: 0x3f, fh: 3, size: 2n ** 53n + 1n, atime: -1n, mtime: 2n ** 33n, atimensec: 5, mtimensec: 999_999_999, mode: 0o4755, uid: 1000, gid: 100 }),
    handler: 'setattr',
    decoded: { valid: 0x3f, fh: 3, size: 2n ** 53n + 1n, atime: -1n, atimensec: 5, mtime: 2n ** 33n, mtimensec: 999_999_999, mode: 0o4755, uid: 1000, gid: 100 },
    result: 16 + 104,
  },
  { name: 'MKNOD', body: Buffer.concat([u32(0o10644), u32(0x0801), u32(0o22), u32(0), cstr('x')]), handler: 'mknod', decoded: { mode: 0o10644, rdev: 0x0801, umask: 0o22, name: 'x' }, result: 16 + 128 },
  { name: 'MKDIR', body: Buffer.concat([u32(0o755), u32(0o27), cstr('x')]), handler: 'mkdir', decoded: { mode: 0o755, umask: 0o27, rdev: 0, name: 'x' }, result: 16 + 128 },
  { name: 'SYMLINK', body: Buffer.concat([cstr('x'), cstr('y')]), handler: 'symlink', decoded: { name: 'x', target: 'y' }, result: 16 + 128 },
  { name: 'CREATE', body: createIn(0o301, 0o100644, 0o22, 'x'), handler: 'create', decoded: { flags: 0o301, mode: 0o100644, umask: 0o22, openFlags: 0, rdev: 0, name: 'x' }, result: 16 + 128 + 16 },
  { name: 'TMPFILE', body: createIn(0o2, 0o100600, 0o77, 'x'), handler: 'tmpfile', decoded: { flags: 0o2, mode: 0o100600, umask: 0o77, openFlags: 0, rdev: 0, name: 'x' }, result: 16 + 128 + 16 },
  { name: 'UNLINK', body: cstr('x'), handler: 'unlink', decoded: { name: 'x' }, result: 16 },
  { name: 'RMDIR', body: cstr('x'), handler: 'rmdir', decoded: { name: 'x' }, result: 16 },
  { name: 'RENAME', body: Buffer.concat([u64(9), cstr('a'), cstr('b')]), handler: 'rename', decoded: { newdir: 9, flags: 0, oldName: 'a', newName: 'b' }, result: 16 },
  { name: 'RENAME2', body: Buffer.concat([u64(9), u32(1), u32(0), cstr('a'), cstr('b')]), handler: 'rename', decoded: { newdir: 9, flags: 1, oldName: 'a', newName: 'b' }, result: 16 },
  { name: 'LINK', body: Buffer.concat([u64(5), cstr('x')]), handler: 'link', decoded: { oldnodeid: 5, newName: 'x' }, result: 16 + 128 },
  { name: 'WRITE', body: writeIn(3, 2n ** 53n + 1n, 0), handler: 'writeTarget', decoded: { fh: 3, offset: 2n ** 53n + 1n, writeFlags: 0, flags: 0o2, data: '' }, result: 16 + 8 },
  {
    name: 'FALLOCATE',
    body: Buffer.concat([u64(3), u64(2n ** 53n + 1n), u64(2n ** 63n), u32(3), u32(0)]),
    handler: 'fallocate',
    decoded: { fh: 3, offset: 2n ** 53n + 1n, length: 2n ** 63n, mode: 3 },
    result: 16,
  },
  {
    name: 'COPY_FILE_RANGE',
    body: copyIn(3, 2n ** 53n + 1n, 9, 4, 2n ** 63n + 1n, 2n ** 40n),
    handler: 'copyFileRange',
    decoded: { fhIn: 3, offIn: 2n ** 53n + 1n, nodeidOut: 9, fhOut: 4, offOut: 2n ** 63n + 1n, len: 2n ** 40n, flags: 0n },
    result: 16 + 8,
  },
  {
    name: 'COPY_FILE_RANGE_64',
    body: copyIn(3, 2n ** 53n + 1n, 9, 4, 2n ** 63n + 1n, 2n ** 40n),
    handler: 'copyFileRange',
    decoded: { fhIn: 3, offIn: 2n ** 53n + 1n, nodeidOut: 9, fhOut: 4, offOut: 2n ** 63n + 1n, len: 2n ** 40n, flags: 0n },
    result: 16 + 8,
  },
  { name: 'SETXATTR', body: Buffer.concat([u32(0), u32(1), cstr('x')]), handler: 'setxattr', decoded: { name: 'x', flags: 1, value: '' }, result: 16 },
  { name: 'REMOVEXATTR', body: cstr('x'), handler: 'removexattr', decoded: { name: 'x' }, result: 16 },
];

t.test('routing: each opcode reaches its handler, its result goes through its encoder', async (t) => {
  const m = await t.mockImport<typeof import('../../src/server/optable.js')>('../../src/server/optable.js', mocks);
  const initCalls: unknown[] = [];
  const readCalls: Array<{ unique: bigint; target: unknown; via: Via }> = [];
  const writeCalls: Array<{ handle: unknown; offset: bigint; data: string }> = [];
  const ctx: OpContext = {
    fs: {} as Passthrough,
    init: (b) => {
      initCalls.push(b);
      return { minor: 40, maxReadahead: 65536, flags: 1n, maxBackground: 1, congestionThreshold: 1, maxWrite: 4096, timeGran: 1, maxPages: 1 };
    },
    read: (unique, target, v) => {
      readCalls.push({ unique, target, via: { ...v } });
      return 0;
    },
    write: (target) => {
      writeCalls.push({ handle: target.handle, offset: target.offset, data: target.data.toString('latin1') });
      return { size: target.data.length + 0x10000 }; // a size the handler could not have made up
    },
  };
  const table: OpTable = m.buildOpTable(ctx);
  t.same(ROUTES.map((r) => r.name).sort(), [...HANDLED, ...MODIFYING].sort(), 'a route for every opcode with a row');
  for (const r of ROUTES) {
    calls.length = 0;
    initCalls.length = 0;
    readCalls.length = 0;
    writeCalls.length = 0;
    const spec = m.OP_SPECS.find((s) => s.name === r.name)!;
    t.equal(r.body.length, spec.minBody || r.body.length, `${r.name}: the body is exactly minBody (${spec.minBody}) when one is needed`);
    const rep = new Reply(4096);
    const res = table[Opcode[r.name]]!.run(makeRequest(Opcode[r.name], 7, r.body, 0x99n), rep, { replyFd: 11, prior: -5 });
    t.equal(res, r.result, `${r.name}: ${r.result ? `a ${r.result}-byte reply` : 'no reply from the row'}`);
    const got = r.name === 'INIT' ? initCalls.map(() => 'init') : calls.map((c) => c.handler);
    t.strictSame(got, r.handler ? [r.handler] : [], `${r.name}: ${r.handler ?? 'no handler'} ran`);
    // STATFS is about the whole filesystem: its handler takes no caller.
    if (r.handler && r.name !== 'INIT' && r.name !== 'STATFS') t.equal(calls[0]?.nodeid, 7, `${r.name}: the handler sees the caller (nodeid)`);
    if (r.decoded !== undefined) t.strictSame(plain(r.name === 'INIT' ? initCalls[0] : calls[0]?.body), r.decoded, `${r.name}: the decoded body`);
    if (r.name === 'LOOKUP' || r.name === 'GETXATTR') t.equal((calls[0]?.body as { name: Buffer }).name.toString(), 'x', `${r.name}: the name`);
    if (r.name === 'READ') {
      t.equal(readCalls.length, 1, 'READ: the data path was asked');
      t.strictSame(readCalls[0], { unique: 0x99n, target: { handle: HANDLE, offset: 2n ** 53n + 1n, size: 4096 }, via: { replyFd: 11, prior: -5 } }, 'READ: unique, target and via go to ctx.read');
    } else t.equal(readCalls.length, 0, `${r.name}: the READ data path was not asked`);
    if (r.name === 'WRITE') {
      t.strictSame(writeCalls, [{ handle: HANDLE, offset: 2n ** 53n + 1n, data: '' }], 'WRITE: the handler\'s target goes to ctx.write');
      t.equal(rep.buf.subarray(16, 24).toString('hex'), '00000100' + '00000000', 'WRITE: ctx.write\'s size in fuse_write_out');
    } else t.equal(writeCalls.length, 0, `${r.name}: the WRITE data path was not asked`);
    if (r.name === 'COPY_FILE_RANGE') t.equal(rep.buf.subarray(16, 24).toString('hex'), '78563412' + '00000000', 'COPY_FILE_RANGE: the handler\'s size in fuse_write_out');
    if (r.name === 'COPY_FILE_RANGE_64') t.equal(rep.buf.readBigUInt64LE(16), 0x12345678n, 'COPY_FILE_RANGE_64: the handler\'s size in fuse_copy_file_range_out (u64)');
    if (r.name === 'CREATE' || r.name === 'TMPFILE') {
      t.equal(rep.buf.readBigUInt64LE(16), 6n, `${r.name}: the new node's entry`);
      t.equal(rep.buf.subarray(16 + 128, 16 + 144).toString('hex'), '0800000000000000' + '01000000' + '00000000', `${r.name}: then fuse_open_out of its handle`);
    }
    if (['MKNOD', 'MKDIR', 'SYMLINK', 'LINK'].includes(r.name)) t.equal(rep.buf.readBigUInt64LE(16), 5n, `${r.name}: fuse_entry_out of the node`);
    if (r.name === 'SETATTR') t.equal(rep.buf.readBigUInt64LE(16 + 16), 5n, 'SETATTR: fuse_attr_out of the node');
    if (r.name === 'STATX') t.equal(rep.buf.readBigInt64LE(16 + 32 + 80), 7n, 'STATX: btime in fuse_statx_out');
    if (r.name === 'LSEEK') t.equal(rep.buf.subarray(16, 24).toString('hex'), '0100000000002000', 'LSEEK: the offset in fuse_lseek_out');
    if (r.name === 'READLINK') t.equal(rep.buf.subarray(16, 22).toString(), 'target', 'READLINK: the target bytes');
    if (r.name === 'OPEN') t.equal(rep.buf.subarray(16, 32).toString('hex'), '0300000000000000' + '01000000' + '00000000', 'OPEN: fuse_open_out');
  }
  // Variants: xattr values, a READ of an unknown handle, a READ the data path failed, WRITEs.
  const xreq = (op: number, body: Buffer) => table[op]!.run(makeRequest(op, 7, body), new Reply(4096), via());
  t.equal(xreq(Opcode.GETXATTR, Buffer.concat([u32(100), u32(0), cstr('user.x')])), 16 + 5, 'GETXATTR with room: the value bytes');
  t.equal(xreq(Opcode.LISTXATTR, Buffer.concat([u32(100), u32(0)])), 16 + 5, 'LISTXATTR with room: the name list');
  readCalls.length = 0;
  t.equal(xreq(Opcode.READ, readIn(8)), -E.EBADF, 'READ of an unknown fh: the handler\'s -EBADF');
  t.equal(readCalls.length, 0, 'and the data path is not asked');
  ctx.read = () => -E.EIO;
  t.equal(m.buildOpTable(ctx)[Opcode.READ]!.run(makeRequest(Opcode.READ, 7, readIn(3)), new Reply(4096), via()), -E.EIO, 'the data path\'s -errno is the row\'s');
  writeCalls.length = 0;
  const payload = Buffer.from('payload bytes');
  t.equal(xreq(Opcode.WRITE, Buffer.concat([writeIn(3, 100n, payload.length), payload])), 16 + 8, 'WRITE with a payload: fuse_write_out');
  t.strictSame(writeCalls, [{ handle: HANDLE, offset: 100n, data: 'payload bytes' }], 'WRITE: the payload, exactly size bytes, to ctx.write');
  writeCalls.length = 0;
  t.equal(xreq(Opcode.WRITE, writeIn(8, 0n, 0)), -E.EBADF, 'WRITE of an unknown fh: the handler\'s -EBADF');
  t.equal(writeCalls.length, 0, 'and the write path is not asked');
  throwsMalformed(t, () => xreq(Opcode.WRITE, Buffer.concat([writeIn(3, 0n, 10), Buffer.from('short')])), 'WRITE whose body is shorter than its size');
  ctx.write = () => -E.ENOSPC;
  t.equal(m.buildOpTable(ctx)[Opcode.WRITE]!.run(makeRequest(Opcode.WRITE, 7, writeIn(3, 0n, 0)), new Reply(4096), via()), -E.ENOSPC, 'the write path\'s -errno is the row\'s');
  ctx.init = () => -E.EPROTO;
  t.equal(m.buildOpTable(ctx)[Opcode.INIT]!.run(makeRequest(Opcode.INIT, 0, ROUTES[0].body), new Reply(4096), via()), -E.EPROTO, 'INIT refused: -EPROTO');
});

t.test('a body shorter than minBody is EINVAL (dropped for no-reply ops) before the handler', async (t) => {
  const m = await t.mockImport<typeof import('../../src/server/optable.js')>('../../src/server/optable.js', mocks);
  let initCalled = 0;
  let readCalled = 0;
  let writeCalled = 0;
  const table = m.buildOpTable({ fs: {} as Passthrough, init: () => (initCalled++, -E.EIO), read: () => (readCalled++, 0), write: () => (writeCalled++, -E.EIO) });
  let checked = 0;
  for (const r of ROUTES) {
    const spec = m.OP_SPECS.find((s) => s.name === r.name)!;
    if (spec.minBody === 0) continue;
    calls.length = 0;
    const res = table[Opcode[r.name]]!.run(makeRequest(Opcode[r.name], 7, r.body.subarray(0, spec.minBody - 1)), new Reply(4096), via());
    if (spec.noReply) t.equal(res, 0, `${r.name}: a ${spec.minBody - 1}-byte body -> dropped, no reply`);
    else t.equal(res, -E.EINVAL, `${r.name}: a ${spec.minBody - 1}-byte body -> EINVAL`);
    t.strictSame(calls, [], `${r.name}: the handler did not run`);
    checked++;
  }
  t.equal(initCalled + readCalled + writeCalled, 0, 'neither INIT nor a data path ran');
  t.equal(checked, 20 + MODIFYING.length, `${checked} rows have a minimum body (every modifying one among them)`);
  // Past minBody the decoder still checks: a short name or a short batch is malformed.
  const rt = real.buildOpTable(bareContext());
  throwsMalformed(t, () => rt[Opcode.LOOKUP]!.run(makeRequest(Opcode.LOOKUP, 1, Buffer.from('abc')), new Reply(4096), via()), 'LOOKUP of a name without NUL');
  throwsMalformed(t, () => rt[Opcode.BATCH_FORGET]!.run(makeRequest(Opcode.BATCH_FORGET, 0, Buffer.concat([u32(2), u32(0), u64(5), u64(1)])), new Reply(4096), via()), 'BATCH_FORGET announcing more than it carries');
});
