// Requests: exact bytes in, typed values out, for every decoder of src/kernel/request.ts. Each
// request is built byte by byte from the layouts in /usr/include/linux/fuse.h (offsets written
// out below, never taken from abi.ts), into a reused buffer full of stale bytes as the transport's
// is. 64-bit values the kernel chooses arrive as exact bigints; nodeid and fh (our own handles)
// are numbers, and one at or above 2^53 decodes to -1 (no such handle).
import t, { type Test } from 'tap';
import {
  MalformedRequest,
  Request,
  decodeAccess,
  decodeBatchForget,
  decodeCopyFileRange,
  decodeCreate,
  decodeFallocate,
  decodeLink,
  decodeMkdir,
  decodeMknod,
  decodeName,
  decodeRename,
  decodeRename2,
  decodeSetattr,
  decodeSetxattr,
  decodeSymlink,
  decodeWrite,
  decodeFlush,
  decodeForget,
  decodeFsync,
  decodeGetattr,
  decodeGetxattr,
  decodeInit,
  decodeInterrupt,
  decodeListxattr,
  decodeLookup,
  decodeLseek,
  decodeNone,
  decodeOpen,
  decodeRead,
  decodeRelease,
  INIT_IN_MIN,
} from '../../src/kernel/request.js';

// ---- little-endian fields, by hand -------------------------------------------------------------

function u16(v: number): Buffer {
  return Buffer.from([v & 0xff, (v >>> 8) & 0xff]);
}
function u32(v: number): Buffer {
  return Buffer.from([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]);
}
function u64(v: bigint | number): Buffer {
  let x = BigInt.asUintN(64, BigInt(v));
  const out = Buffer.alloc(8);
  for (let i = 0; i < 8; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}
/** A NUL-terminated name. */
function cstr(s: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from(s), Buffer.from([0])]);
}

/** Opcodes, from enum fuse_opcode. */
const OP = {
  LOOKUP: 1, FORGET: 2, GETATTR: 3, SETATTR: 4, SYMLINK: 6, MKNOD: 8, MKDIR: 9, UNLINK: 10, RMDIR: 11, RENAME: 12, LINK: 13,
  OPEN: 14, READ: 15, WRITE: 16, STATFS: 17, RELEASE: 18, FSYNC: 20, SETXATTR: 21, GETXATTR: 22, LISTXATTR: 23,
  REMOVEXATTR: 24, FLUSH: 25, INIT: 26, READDIR: 28, ACCESS: 34, CREATE: 35, INTERRUPT: 36, BATCH_FORGET: 42,
  FALLOCATE: 43, RENAME2: 45, LSEEK: 46, COPY_FILE_RANGE: 47, TMPFILE: 51,
};

interface Hdr {
  opcode: number;
  unique?: bigint;
  nodeid?: bigint | number;
  uid?: number;
  gid?: number;
  pid?: number;
  /** what len says, when it is to differ from the bytes */
  len?: number;
}
/** struct fuse_in_header (40 bytes): len, opcode, unique, nodeid, uid, gid, pid, total_extlen, padding. */
function header(h: Hdr, bodyLength: number): Buffer {
  return Buffer.concat([
    u32(h.len ?? 40 + bodyLength),
    u32(h.opcode),
    u64(h.unique ?? 0x1122n),
    u64(h.nodeid ?? 1),
    u32(h.uid ?? 1000),
    u32(h.gid ?? 100),
    u32(h.pid ?? 4242),
    u16(0),
    u16(0),
  ]);
}

/** The transport's reused buffer, full of bytes of earlier requests. */
const STALE = 0xa5;
const ioBuf = Buffer.alloc(64 * 1024, STALE);
const req = new Request();
/** Load header + body into the reused buffer (stale bytes after it) and decode its header. */
function load(h: Hdr, ...body: Buffer[]): Request {
  const b = Buffer.concat(body);
  const bytes = Buffer.concat([header(h, b.length), b]);
  ioBuf.fill(STALE);
  bytes.copy(ioBuf, 0);
  req.load(ioBuf, bytes.length);
  return req;
}

function throwsMalformed(t: Test, fn: () => unknown, what: string): void {
  try {
    fn();
    t.fail(`${what}: did not throw`);
  } catch (err) {
    t.ok(err instanceof MalformedRequest, `${what}: MalformedRequest (${(err as Error).message})`);
  }
}

const TWO53 = 2n ** 53n;
const GARBAGE32 = u32(0xdeadbeef);

// ---- the header --------------------------------------------------------------------------------

t.test('fuse_in_header', async (t) => {
  let r = load({ opcode: OP.STATFS, unique: 0xfedcba9876543210n, nodeid: TWO53 - 1n, uid: 0xfffffffe, gid: 7, pid: 0x7fffffff });
  t.equal(r.length, 40, 'length');
  t.equal(r.bodyLength, 0, 'bodyLength');
  t.equal(r.opcode, OP.STATFS, 'opcode');
  t.equal(r.unique, 0xfedcba9876543210n, 'unique above 2^63: an exact bigint');
  t.equal(typeof r.unique, 'bigint', 'unique is a bigint');
  t.equal(r.nodeid, 2 ** 53 - 1, 'nodeid 2^53 - 1: exact');
  t.equal(r.uid, 0xfffffffe, 'uid (u32, not signed)');
  t.equal(r.gid, 7, 'gid');
  t.equal(r.pid, 0x7fffffff, 'pid');

  r = load({ opcode: OP.GETATTR, nodeid: 0x1_0000_0005n }, Buffer.alloc(16));
  t.equal(r.nodeid, 2 ** 32 + 5, 'nodeid 2^32 + 5: both halves');
  t.equal(r.bodyLength, 16, 'bodyLength 16');
  t.equal(r.unique, 0x1122n, 'a second request in the same Request replaces the first');
  t.equal(load({ opcode: OP.GETATTR, nodeid: TWO53 }).nodeid, -1, 'nodeid 2^53: no such node (-1)');
  t.equal(load({ opcode: OP.GETATTR, nodeid: 2n ** 64n - 1n }).nodeid, -1, 'nodeid 2^64 - 1: -1');
  t.equal(load({ opcode: OP.GETATTR, unique: 2n ** 64n - 1n }).unique, 2n ** 64n - 1n, 'unique 2^64 - 1 exact');
});

t.test('malformed headers', async (t) => {
  const r = new Request();
  const b = Buffer.alloc(4096, STALE);
  header({ opcode: OP.STATFS, len: 39 }, 0).copy(b);
  throwsMalformed(t, () => r.load(b, 39), 'a 39-byte request (shorter than fuse_in_header)');
  throwsMalformed(t, () => r.load(b, 0), 'an empty read');
  header({ opcode: OP.STATFS, len: 100 }, 0).copy(b);
  throwsMalformed(t, () => r.load(b, 80), 'len says 100, 80 bytes read');
  header({ opcode: OP.STATFS, len: 40 }, 0).copy(b);
  throwsMalformed(t, () => r.load(b, 48), 'len says 40, 48 bytes read');
  t.doesNotThrow(() => r.load(b, 40), 'len 40, 40 bytes read: fine');
});

// ---- INIT --------------------------------------------------------------------------------------

/** struct fuse_init_in: major, minor, max_readahead, flags, flags2, unused[11]. */
function initBody(flags: number, flags2: number, full = true): Buffer {
  const head = Buffer.concat([u32(7), u32(45), u32(0x20000), u32(flags)]);
  return full ? Buffer.concat([head, u32(flags2), Buffer.alloc(44, 0x5a)]) : head;
}

t.test('decodeInit', async (t) => {
  const INIT_EXT = 1 << 30;
  // flags: INIT_EXT | MAX_PAGES | ASYNC_READ; flags2: bits 63, 37 and 32 (shifted down 32).
  let v = decodeInit(load({ opcode: OP.INIT }, initBody(INIT_EXT | (1 << 22) | 1, 0x80000021)));
  t.strictSame(v, { major: 7, minor: 45, maxReadahead: 0x20000, flags: 0x8000002140400001n }, 'flags | flags2 << 32, exact above 2^53');
  t.equal(typeof v.flags, 'bigint', 'flags is a bigint');
  v = decodeInit(load({ opcode: OP.INIT }, initBody((1 << 22) | 1, 0xffffffff)));
  t.equal(v.flags, 0x00400001n, 'without FUSE_INIT_EXT, flags2 is not read');
  v = decodeInit(load({ opcode: OP.INIT }, initBody(INIT_EXT | (1 << 31), 0, false)));
  t.strictSame(v, { major: 7, minor: 45, maxReadahead: 0x20000, flags: 0xc0000000n }, 'a 16-byte (pre-7.36) body: flags only, bit 31 unsigned');
  t.equal(INIT_IN_MIN, 16, 'INIT_IN_MIN: the pre-7.36 fuse_init_in (4 words)');
  throwsMalformed(t, () => decodeInit(load({ opcode: OP.INIT }, initBody(0, 0, false).subarray(0, 12))), 'INIT without flags (12 bytes)');

  // The old golden INIT request (test/codec.test.ts): 104 bytes, unique 2, 7.44, 128 KiB, flags INIT_EXT | ASYNC_READ, flags2 bit 4.
  const golden = Buffer.from(
    '68000000' + '1a000000' + '0200000000000000' + '0000000000000000' + '00000000' + '00000000' + '00000000' + '0000' + '0000' +
      '07000000' + '2c000000' + '00000200' + '01000040' + '10000000' + '00'.repeat(44),
    'hex',
  );
  t.equal(golden.length, 104, 'golden INIT request: 104 bytes');
  ioBuf.fill(STALE);
  golden.copy(ioBuf);
  req.load(ioBuf, 104);
  t.equal(req.opcode, 26, 'opcode INIT');
  t.equal(req.unique, 2n, 'unique 2');
  t.strictSame(decodeInit(req), { major: 7, minor: 44, maxReadahead: 131072, flags: 2n ** 36n + 2n ** 30n + 1n }, 'golden INIT decodes');
});

// ---- names -------------------------------------------------------------------------------------

t.test('decodeLookup and names', async (t) => {
  let v = decodeLookup(load({ opcode: OP.LOOKUP }, cstr('héllo')));
  t.equal(v.name.toString('hex'), '68c3a96c6c6f', 'the name, raw bytes, without its NUL');
  v = decodeLookup(load({ opcode: OP.LOOKUP }, cstr(Buffer.from([0xff, 0xfe, 0x41]))));
  t.equal(v.name.toString('hex'), 'fffe41', 'a name that is not UTF-8');
  v = decodeLookup(load({ opcode: OP.LOOKUP }, cstr('a'), Buffer.from('junk')));
  t.equal(v.name.toString(), 'a', 'the name ends at the first NUL');
  throwsMalformed(t, () => decodeLookup(load({ opcode: OP.LOOKUP }, Buffer.from('abc'))), 'a name without NUL');
  throwsMalformed(t, () => decodeLookup(load({ opcode: OP.LOOKUP }, Buffer.from([0]))), 'an empty name');
  throwsMalformed(t, () => decodeLookup(load({ opcode: OP.LOOKUP })), 'no name at all');
  // A NUL past the end of the request (stale bytes of the reused buffer) does not end the name.
  const r = load({ opcode: OP.LOOKUP }, Buffer.from('abc'));
  ioBuf[r.length + 2] = 0;
  throwsMalformed(t, () => decodeLookup(r), 'a NUL beyond the request does not count');
});

// ---- fuse_read_in: READ, READDIR, READDIRPLUS --------------------------------------------------

/** struct fuse_read_in: fh, offset, size, read_flags, lock_owner, flags, padding. */
function readBody(fh: bigint, offset: bigint): Buffer {
  return Buffer.concat([u64(fh), u64(offset), u32(0x100000), u32(2), u64(2n ** 64n - 2n), u32(0o104000), GARBAGE32]);
}

t.test('decodeRead', async (t) => {
  let v = decodeRead(load({ opcode: OP.READ }, readBody(0x1_0000_0002n, 2n ** 63n + 1n)));
  t.strictSame(
    v,
    { fh: 2 ** 32 + 2, offset: 2n ** 63n + 1n, size: 0x100000, readFlags: 2, lockOwner: 2n ** 64n - 2n, flags: 0o104000 },
    'fh, offset 2^63 + 1 exact, size 1 MiB, FUSE_READ_LOCKOWNER, lock_owner, O_NONBLOCK|O_LARGEFILE',
  );
  v = decodeRead(load({ opcode: OP.READ }, readBody(3n, TWO53 + 1n)));
  t.equal(v.offset, 9007199254740993n, 'offset 2^53 + 1: exact (a double would round it)');
  t.equal(decodeRead(load({ opcode: OP.READ }, readBody(TWO53 - 1n, 0n))).fh, 2 ** 53 - 1, 'fh 2^53 - 1: exact');
  t.equal(decodeRead(load({ opcode: OP.READ }, readBody(TWO53, 0n))).fh, -1, 'fh 2^53: no such handle (-1)');
  t.equal(decodeRead(load({ opcode: OP.READDIR }, readBody(2n ** 64n - 1n, 0n))).fh, -1, 'fh 2^64 - 1: -1');
  for (const n of [0, 8, 32, 35]) throwsMalformed(t, () => decodeRead(load({ opcode: OP.READ }, readBody(1n, 0n).subarray(0, n))), `READ with a ${n}-byte body (flags missing or cut)`);
  t.doesNotThrow(() => decodeRead(load({ opcode: OP.READ }, readBody(1n, 0n).subarray(0, 36))), 'READ without its padding word (36 bytes) still decodes');
});

// ---- forgets -----------------------------------------------------------------------------------

t.test('decodeForget and decodeBatchForget', async (t) => {
  t.strictSame(decodeForget(load({ opcode: OP.FORGET, nodeid: 77 }, u64(3))), { nodeid: 77, nlookup: 3 }, 'FORGET: the header nodeid, nlookup');
  t.strictSame(decodeForget(load({ opcode: OP.FORGET, nodeid: 77 }, u64(TWO53 - 1n))), { nodeid: 77, nlookup: 2 ** 53 - 1 }, 'nlookup 2^53 - 1: exact');
  t.equal(decodeForget(load({ opcode: OP.FORGET, nodeid: 77 }, u64(2n ** 60n))).nlookup, Number.MAX_SAFE_INTEGER, 'nlookup 2^60: saturated at 2^53 - 1');
  t.equal(decodeForget(load({ opcode: OP.FORGET, nodeid: TWO53 }, u64(1))).nodeid, -1, 'FORGET of nodeid 2^53: -1');
  throwsMalformed(t, () => decodeForget(load({ opcode: OP.FORGET }, u64(1).subarray(0, 7))), 'FORGET with a 7-byte body');

  // fuse_batch_forget_in {count, dummy} then count x fuse_forget_one {nodeid, nlookup}.
  const v = decodeBatchForget(
    load(
      { opcode: OP.BATCH_FORGET, nodeid: 0 },
      u32(3), GARBAGE32,
      u64(5), u64(1),
      u64(0x1_0000_0009n), u64(2n ** 40n),
      u64(TWO53), u64(7),
    ),
  );
  t.strictSame(v, [{ nodeid: 5, nlookup: 1 }, { nodeid: 2 ** 32 + 9, nlookup: 2 ** 40 }, { nodeid: -1, nlookup: 7 }], 'three entries in order; nodeid 2^53 -> -1');
  t.strictSame(decodeBatchForget(load({ opcode: OP.BATCH_FORGET }, u32(0), u32(0))), [], 'count 0: nothing');
  throwsMalformed(t, () => decodeBatchForget(load({ opcode: OP.BATCH_FORGET }, u32(3), u32(0), u64(5), u64(1))), 'count 3 with one entry in the body');
  throwsMalformed(t, () => decodeBatchForget(load({ opcode: OP.BATCH_FORGET }, u32(1), u32(0), u64(5))), 'an entry cut after nodeid');
  throwsMalformed(t, () => decodeBatchForget(load({ opcode: OP.BATCH_FORGET }, Buffer.from([1, 0, 0]))), 'BATCH_FORGET with a 3-byte body');
});

// ---- the small fixed bodies --------------------------------------------------------------------

t.test('decodeGetattr', async (t) => {
  // fuse_getattr_in: getattr_flags, dummy, fh
  t.strictSame(decodeGetattr(load({ opcode: OP.GETATTR }, u32(1), GARBAGE32, u64(0x1_0000_0063n))), { getattrFlags: 1, fh: 2 ** 32 + 99 }, 'FUSE_GETATTR_FH and fh');
  t.strictSame(decodeGetattr(load({ opcode: OP.GETATTR }, u32(1), u32(0), u64(TWO53))), { getattrFlags: 1, fh: -1 }, 'fh 2^53: -1');
  t.strictSame(decodeGetattr(load({ opcode: OP.GETATTR })), { getattrFlags: 0, fh: 0 }, 'no body (kernels before 7.9): no flags');
});

t.test('decodeOpen', async (t) => {
  // fuse_open_in: flags, open_flags
  t.strictSame(decodeOpen(load({ opcode: OP.OPEN }, u32(0o2104002), u32(1))), { flags: 0o2104002, openFlags: 1 }, 'O_* flags and FUSE_OPEN_KILL_SUIDGID');
  throwsMalformed(t, () => decodeOpen(load({ opcode: OP.OPEN }, u32(0), Buffer.alloc(3))), 'OPEN with a 7-byte body');
});

t.test('decodeRelease', async (t) => {
  // fuse_release_in: fh, flags, release_flags, lock_owner
  t.strictSame(
    decodeRelease(load({ opcode: OP.RELEASE }, u64(0x2_0000_0001n), u32(0o100000), u32(1), u64(2n ** 63n))),
    { fh: 2 ** 33 + 1, flags: 0o100000, releaseFlags: 1, lockOwner: 2n ** 63n },
    'fh, flags, FUSE_RELEASE_FLUSH, lock_owner 2^63',
  );
  t.equal(decodeRelease(load({ opcode: OP.RELEASE }, u64(TWO53 + 3n), u32(0), u32(0), u64(0))).fh, -1, 'fh above 2^53: -1');
  throwsMalformed(t, () => decodeRelease(load({ opcode: OP.RELEASE }, u64(1), u32(0), u32(0), Buffer.alloc(7))), 'RELEASE with a 23-byte body');
});

t.test('decodeFlush', async (t) => {
  // fuse_flush_in: fh, unused, padding, lock_owner
  t.strictSame(
    decodeFlush(load({ opcode: OP.FLUSH }, u64(9), GARBAGE32, GARBAGE32, u64(0xfedcba9876543210n))),
    { fh: 9, lockOwner: 0xfedcba9876543210n },
    'fh and lock_owner (unused and padding ignored)',
  );
  throwsMalformed(t, () => decodeFlush(load({ opcode: OP.FLUSH }, u64(9), u32(0), u32(0), Buffer.alloc(7))), 'FLUSH with a 23-byte body');
});

t.test('decodeFsync', async (t) => {
  // fuse_fsync_in: fh, fsync_flags, padding
  t.strictSame(decodeFsync(load({ opcode: OP.FSYNC }, u64(0x1_0000_0000n), u32(1), GARBAGE32)), { fh: 2 ** 32, fsyncFlags: 1 }, 'fh 2^32, FUSE_FSYNC_FDATASYNC');
  throwsMalformed(t, () => decodeFsync(load({ opcode: OP.FSYNC }, u64(1), Buffer.alloc(3))), 'FSYNC with an 11-byte body');
});

t.test('decodeGetxattr and decodeListxattr', async (t) => {
  // fuse_getxattr_in: size, padding; then the name
  const v = decodeGetxattr(load({ opcode: OP.GETXATTR }, u32(65536), GARBAGE32, cstr('user.mime_type')));
  t.equal(v.size, 65536, 'size');
  t.equal(v.name.toString(), 'user.mime_type', 'name after the 8-byte struct');
  t.equal(decodeGetxattr(load({ opcode: OP.GETXATTR }, u32(0), u32(0), cstr('a'))).size, 0, 'size 0: a size query');
  throwsMalformed(t, () => decodeGetxattr(load({ opcode: OP.GETXATTR }, u32(16))), 'GETXATTR shorter than fuse_getxattr_in');
  throwsMalformed(t, () => decodeGetxattr(load({ opcode: OP.GETXATTR }, u32(16), u32(0), Buffer.from('user.x'))), 'xattr name without NUL');
  throwsMalformed(t, () => decodeGetxattr(load({ opcode: OP.GETXATTR }, u32(16), u32(0), Buffer.from([0]))), 'empty xattr name');
  throwsMalformed(t, () => decodeGetxattr(load({ opcode: OP.GETXATTR }, Buffer.from([1, 0, 0]))), 'GETXATTR with a 3-byte body');

  t.strictSame(decodeListxattr(load({ opcode: OP.LISTXATTR }, u32(0x12345), GARBAGE32)), { size: 0x12345 }, 'LISTXATTR size');
  throwsMalformed(t, () => decodeListxattr(load({ opcode: OP.LISTXATTR }, Buffer.from([1, 0, 0]))), 'LISTXATTR with a 3-byte body');
});

t.test('decodeAccess', async (t) => {
  // fuse_access_in: mask, padding
  t.strictSame(decodeAccess(load({ opcode: OP.ACCESS }, u32(5), GARBAGE32)), { mask: 5 }, 'R_OK | X_OK');
  t.strictSame(decodeAccess(load({ opcode: OP.ACCESS }, u32(0), u32(0))), { mask: 0 }, 'F_OK');
  throwsMalformed(t, () => decodeAccess(load({ opcode: OP.ACCESS }, Buffer.from([4, 0, 0]))), 'ACCESS with a 3-byte body');
});

t.test('decodeLseek', async (t) => {
  // fuse_lseek_in: fh, offset, whence, padding
  let v = decodeLseek(load({ opcode: OP.LSEEK }, u64(12), u64(TWO53 + 1n), u32(3), GARBAGE32));
  t.strictSame(v, { fh: 12, offset: 9007199254740993n, whence: 3 }, 'offset 2^53 + 1 exact, SEEK_DATA');
  v = decodeLseek(load({ opcode: OP.LSEEK }, u64(12), u64(2n ** 64n - 1n), u32(4), u32(0)));
  t.equal(v.offset, 2n ** 64n - 1n, 'offset 2^64 - 1 (the raw u64: -1 as loff_t)');
  t.equal(v.whence, 4, 'SEEK_HOLE');
  t.equal(decodeLseek(load({ opcode: OP.LSEEK }, u64(TWO53), u64(0), u32(0), u32(0))).fh, -1, 'fh 2^53: -1');
  throwsMalformed(t, () => decodeLseek(load({ opcode: OP.LSEEK }, u64(12), u64(0))), 'LSEEK without whence (16 bytes)');
});

t.test('decodeInterrupt', async (t) => {
  // fuse_interrupt_in: unique
  const v = decodeInterrupt(load({ opcode: OP.INTERRUPT }, u64(2n ** 63n + 7n)));
  t.strictSame(v, { unique: 2n ** 63n + 7n }, 'the unique to interrupt, exact above 2^63');
  t.equal(typeof v.unique, 'bigint', 'a bigint');
  throwsMalformed(t, () => decodeInterrupt(load({ opcode: OP.INTERRUPT }, u32(1))), 'INTERRUPT with a 4-byte body');
});

t.test('decodeNone', async (t) => {
  t.strictSame(decodeNone(load({ opcode: OP.STATFS })), {}, 'no body: {}');
  t.strictSame(decodeNone(load({ opcode: OP.STATFS }, u64(1))), {}, 'a body is ignored');
});

// ---- the read-write operations -----------------------------------------------------------------

/** struct fuse_setattr_in (88 bytes): valid, padding, fh, size, lock_owner, atime, mtime, ctime,
 *  atimensec, mtimensec, ctimensec, mode, unused4, uid, gid, unused5. */
function setattrBody(o: { valid: number; fh: bigint; size: bigint; atime: bigint; mtime: bigint; atimensec: number; mtimensec: number; mode: number; uid: number; gid: number }): Buffer {
  return Buffer.concat([
    u32(o.valid), GARBAGE32, u64(o.fh), u64(o.size), u64(0x0102030405060708n),
    u64(o.atime), u64(o.mtime), u64(0x7777777777777777n),
    u32(o.atimensec), u32(o.mtimensec), u32(123), u32(o.mode), GARBAGE32, u32(o.uid), u32(o.gid), GARBAGE32,
  ]);
}

t.test('decodeSetattr', async (t) => {
  const body = setattrBody({
    valid: 0xfff, fh: 0x1_0000_0007n, size: 2n ** 63n + 1n, atime: -1n, mtime: -(2n ** 63n),
    atimensec: 999_999_999, mtimensec: 1, mode: 0o104755, uid: 0xfffffffe, gid: 100,
  });
  t.equal(body.length, 88, 'fuse_setattr_in is 88 bytes');
  let v = decodeSetattr(load({ opcode: OP.SETATTR }, body));
  t.strictSame(
    v,
    { valid: 0xfff, fh: 2 ** 32 + 7, size: 2n ** 63n + 1n, atime: -1n, atimensec: 999_999_999, mtime: -(2n ** 63n), mtimensec: 1, mode: 0o104755, uid: 0xfffffffe, gid: 100 },
    'every FATTR_* bit; size 2^63 + 1 exact (unsigned); atime -1 and mtime -2^63 signed; uid unsigned; padding, lock_owner, ctime, unused ignored',
  );
  v = decodeSetattr(load({ opcode: OP.SETATTR }, setattrBody({ valid: 0x38, fh: 0n, size: TWO53 + 1n, atime: TWO53 + 3n, mtime: 2n ** 63n - 1n, atimensec: 0, mtimensec: 0, mode: 0, uid: 0, gid: 0 })));
  t.equal(v.size, 9007199254740993n, 'size 2^53 + 1: exact');
  t.equal(v.atime, 9007199254740995n, 'atime 2^53 + 3: exact');
  t.equal(v.mtime, 2n ** 63n - 1n, 'mtime 2^63 - 1: the largest positive');
  t.equal(typeof v.atime, 'bigint', 'times are bigints');
  t.equal(decodeSetattr(load({ opcode: OP.SETATTR }, setattrBody({ valid: 0x40, fh: TWO53, size: 0n, atime: 0n, mtime: 0n, atimensec: 0, mtimensec: 0, mode: 0, uid: 0, gid: 0 }))).fh, -1, 'fh 2^53: no such handle (-1)');
  // As READ without its padding: the decoder reads up to gid; the row's minBody (88) asks for the whole struct.
  t.doesNotThrow(() => decodeSetattr(load({ opcode: OP.SETATTR }, body.subarray(0, 84))), 'SETATTR without its last unused word (84 bytes) still decodes');
  throwsMalformed(t, () => decodeSetattr(load({ opcode: OP.SETATTR }, body.subarray(0, 83))), 'SETATTR with an 83-byte body (gid cut)');
  throwsMalformed(t, () => decodeSetattr(load({ opcode: OP.SETATTR }, body.subarray(0, 80))), 'SETATTR without uid and gid (80 bytes)');
});

t.test('decodeMknod, decodeMkdir, decodeCreate: the struct, then the name', async (t) => {
  // fuse_mknod_in: mode, rdev, umask, padding; then the name
  let v = decodeMknod(load({ opcode: OP.MKNOD }, u32(0o20644), u32(0x493103e0), u32(0o022), GARBAGE32, cstr('null')));
  t.strictSame({ ...v, name: v.name.toString() }, { mode: 0o20644, rdev: 0x493103e0, umask: 0o022, name: 'null' }, 'MKNOD: S_IFCHR mode, rdev (new_encode_dev), umask, the name after 16 bytes');
  throwsMalformed(t, () => decodeMknod(load({ opcode: OP.MKNOD }, u32(0o100644), u32(0), u32(0), u32(0))), 'MKNOD without a name');
  throwsMalformed(t, () => decodeMknod(load({ opcode: OP.MKNOD }, u32(0o100644), u32(0), u32(0), u32(0), Buffer.from('f'))), 'MKNOD name without NUL');
  throwsMalformed(t, () => decodeMknod(load({ opcode: OP.MKNOD }, u32(0o100644), u32(0), Buffer.alloc(2))), 'MKNOD with a 10-byte body');

  // fuse_mkdir_in: mode, umask; then the name
  v = decodeMkdir(load({ opcode: OP.MKDIR }, u32(0o41777), u32(0o077), cstr(Buffer.from([0x64, 0xff]))));
  t.strictSame({ ...v, name: v.name.toString('hex') }, { mode: 0o41777, umask: 0o077, rdev: 0, name: '64ff' }, 'MKDIR: mode, umask, rdev 0, a name that is not UTF-8 after 8 bytes');
  throwsMalformed(t, () => decodeMkdir(load({ opcode: OP.MKDIR }, u32(0o755), u32(0o022), Buffer.from([0]))), 'MKDIR with an empty name');
  throwsMalformed(t, () => decodeMkdir(load({ opcode: OP.MKDIR }, u32(0o755))), 'MKDIR with a 4-byte body');

  // fuse_create_in: flags, mode, umask, open_flags; then the name (CREATE and TMPFILE)
  const cv = decodeCreate(load({ opcode: OP.CREATE }, u32(0o101301), u32(0o100640), u32(0o027), u32(1), cstr('new.txt'), Buffer.from('junk')));
  t.strictSame(
    { ...cv, name: cv.name.toString() },
    { flags: 0o101301, mode: 0o100640, umask: 0o027, openFlags: 1, rdev: 0, name: 'new.txt' },
    'CREATE: O_WRONLY|O_CREAT|O_EXCL|O_TRUNC|O_LARGEFILE, mode, umask, FUSE_OPEN_KILL_SUIDGID, the name after 16 bytes',
  );
  const tv = decodeCreate(load({ opcode: OP.TMPFILE }, u32(0o20200002), u32(0o100600), u32(0), u32(0), cstr('tmp')));
  t.equal(tv.flags, 0o20200002, 'TMPFILE: O_TMPFILE|O_RDWR as sent');
  throwsMalformed(t, () => decodeCreate(load({ opcode: OP.CREATE }, u32(0), u32(0), u32(0), u32(0))), 'CREATE without a name');
  throwsMalformed(t, () => decodeCreate(load({ opcode: OP.CREATE }, u32(0), u32(0), u32(0), Buffer.alloc(2))), 'CREATE with a 14-byte body');
});

t.test('decodeSymlink: two names, the new name then the target', async (t) => {
  let v = decodeSymlink(load({ opcode: OP.SYMLINK }, cstr('link'), cstr('../t/x y')));
  t.strictSame([v.name.toString(), v.target.toString()], ['link', '../t/x y'], 'name, then target');
  v = decodeSymlink(load({ opcode: OP.SYMLINK }, cstr('l'), cstr(Buffer.from([0x2f, 0xfe])), Buffer.from('junk')));
  t.strictSame([v.name.toString(), v.target.toString('hex')], ['l', '2ffe'], 'a target that is not UTF-8; bytes after the second NUL ignored');
  t.equal(v.target.buffer, ioBuf.buffer, 'the target is a view into the request buffer');
  t.equal(v.target.byteOffset - ioBuf.byteOffset, 40 + 2, 'the target starts right after the name and its NUL');
  throwsMalformed(t, () => decodeSymlink(load({ opcode: OP.SYMLINK }, cstr('link'))), 'SYMLINK without a target');
  throwsMalformed(t, () => decodeSymlink(load({ opcode: OP.SYMLINK }, cstr('link'), Buffer.from('target'))), 'a target without NUL');
  throwsMalformed(t, () => decodeSymlink(load({ opcode: OP.SYMLINK }, cstr('link'), Buffer.from([0]))), 'an empty target');
  throwsMalformed(t, () => decodeSymlink(load({ opcode: OP.SYMLINK }, Buffer.from([0]), cstr('target'))), 'an empty name');
  // A NUL past the end of the request (stale bytes) does not end the target.
  const r = load({ opcode: OP.SYMLINK }, cstr('link'), Buffer.from('tgt'));
  ioBuf[r.length + 1] = 0;
  throwsMalformed(t, () => decodeSymlink(r), 'a NUL beyond the request does not end the target');
});

t.test('decodeName: UNLINK, RMDIR, REMOVEXATTR', async (t) => {
  for (const op of [OP.UNLINK, OP.RMDIR, OP.REMOVEXATTR]) {
    const v = decodeName(load({ opcode: op }, cstr('user.some name'), Buffer.from('junk')));
    t.equal(v.name.toString(), 'user.some name', `opcode ${op}: the name at body offset 0`);
    throwsMalformed(t, () => decodeName(load({ opcode: op })), `opcode ${op}: no name`);
    throwsMalformed(t, () => decodeName(load({ opcode: op }, Buffer.from('x'))), `opcode ${op}: no NUL`);
  }
});

t.test('decodeRename and decodeRename2: newdir, then the old and the new name', async (t) => {
  // fuse_rename_in: newdir; then oldname, newname
  let v = decodeRename(load({ opcode: OP.RENAME }, u64(0x1_0000_0009n), cstr('old'), cstr('new name')));
  t.strictSame({ ...v, oldName: v.oldName.toString(), newName: v.newName.toString() }, { newdir: 2 ** 32 + 9, flags: 0, oldName: 'old', newName: 'new name' }, 'RENAME: newdir 2^32 + 9, flags 0, two names');
  t.equal(v.newName.byteOffset - ioBuf.byteOffset, 40 + 8 + 4, 'the new name starts after the old one and its NUL');
  t.equal(decodeRename(load({ opcode: OP.RENAME }, u64(TWO53), cstr('a'), cstr('b'))).newdir, -1, 'newdir 2^53: -1');
  throwsMalformed(t, () => decodeRename(load({ opcode: OP.RENAME }, u64(1), cstr('old'))), 'RENAME without the new name');
  throwsMalformed(t, () => decodeRename(load({ opcode: OP.RENAME }, u64(1), cstr('old'), Buffer.from('new'))), 'the new name without NUL');
  throwsMalformed(t, () => decodeRename(load({ opcode: OP.RENAME }, u64(1), Buffer.from([0]), cstr('new'))), 'an empty old name');
  throwsMalformed(t, () => decodeRename(load({ opcode: OP.RENAME }, u32(1))), 'RENAME with a 4-byte body');

  // fuse_rename2_in: newdir, flags, padding; then oldname, newname
  v = decodeRename2(load({ opcode: OP.RENAME2 }, u64(7), u32(2), GARBAGE32, cstr('a'), cstr(Buffer.from([0xc3, 0x28]))));
  t.strictSame({ ...v, oldName: v.oldName.toString(), newName: v.newName.toString('hex') }, { newdir: 7, flags: 2, oldName: 'a', newName: 'c328' }, 'RENAME2: RENAME_EXCHANGE, the names after 16 bytes, raw bytes');
  t.equal(decodeRename2(load({ opcode: OP.RENAME2 }, u64(7), u32(5), u32(0), cstr('a'), cstr('b'))).flags, 5, 'flags as sent (NOREPLACE | WHITEOUT)');
  throwsMalformed(t, () => decodeRename2(load({ opcode: OP.RENAME2 }, u64(7), u32(0), u32(0), cstr('a'))), 'RENAME2 without the new name');
  throwsMalformed(t, () => decodeRename2(load({ opcode: OP.RENAME2 }, u64(7), u32(0))), 'RENAME2 with a 12-byte body');
});

t.test('decodeLink', async (t) => {
  // fuse_link_in: oldnodeid; then the new name
  const v = decodeLink(load({ opcode: OP.LINK }, u64(0x3_0000_0001n), cstr('hard')));
  t.strictSame({ ...v, newName: v.newName.toString() }, { oldnodeid: 3 * 2 ** 32 + 1, newName: 'hard' }, 'oldnodeid, the new name after 8 bytes');
  t.equal(decodeLink(load({ opcode: OP.LINK }, u64(2n ** 64n - 1n), cstr('x'))).oldnodeid, -1, 'oldnodeid 2^64 - 1: -1');
  throwsMalformed(t, () => decodeLink(load({ opcode: OP.LINK }, u64(5))), 'LINK without a name');
});

/** struct fuse_write_in (40 bytes): fh, offset, size, write_flags, lock_owner, flags, padding. */
function writeHead(fh: bigint, offset: bigint, size: number, writeFlags = 0): Buffer {
  return Buffer.concat([u64(fh), u64(offset), u32(size), u32(writeFlags), u64(2n ** 64n - 3n), u32(0o102001), GARBAGE32]);
}

t.test('decodeWrite: a payload view of exactly size bytes', async (t) => {
  const payload = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 7 + 1) & 0xff));
  let v = decodeWrite(load({ opcode: OP.WRITE }, writeHead(0x1_0000_0003n, 2n ** 63n + 5n, 300, 7), payload));
  t.strictSame(
    { ...v, data: v.data.toString('hex') },
    { fh: 2 ** 32 + 3, offset: 2n ** 63n + 5n, writeFlags: 7, flags: 0o102001, data: payload.toString('hex') },
    'fh, offset 2^63 + 5 exact, FUSE_WRITE_CACHE|LOCKOWNER|KILL_SUIDGID, O_WRONLY|O_APPEND|O_LARGEFILE, the payload',
  );
  t.equal(v.data.length, 300, 'the payload is size bytes');
  t.equal(v.data.buffer, ioBuf.buffer, 'the payload is a view into the request buffer (no copy)');
  t.equal(v.data.byteOffset - ioBuf.byteOffset, 40 + 40, 'it starts right after fuse_write_in');
  t.equal(decodeWrite(load({ opcode: OP.WRITE }, writeHead(1n, TWO53 + 1n, 1), Buffer.from('z'))).offset, 9007199254740993n, 'offset 2^53 + 1: exact');

  // The payload is what size says, not what follows in the buffer.
  v = decodeWrite(load({ opcode: OP.WRITE }, writeHead(1n, 0n, 3), Buffer.from('abcdef')));
  t.equal(v.data.toString(), 'abc', 'a body longer than 40 + size: size bytes only');
  v = decodeWrite(load({ opcode: OP.WRITE }, writeHead(1n, 0n, 0)));
  t.equal(v.data.length, 0, 'size 0: an empty payload');
  t.equal(decodeWrite(load({ opcode: OP.WRITE }, writeHead(TWO53, 0n, 0))).fh, -1, 'fh 2^53: -1');

  throwsMalformed(t, () => decodeWrite(load({ opcode: OP.WRITE }, writeHead(1n, 0n, 300), payload.subarray(0, 299))), 'a body one byte shorter than 40 + size');
  // Stale bytes of the reused buffer past the request are not payload.
  const r = load({ opcode: OP.WRITE }, writeHead(1n, 0n, 4096), payload);
  throwsMalformed(t, () => decodeWrite(r), 'size 4096 with 300 bytes sent: the stale bytes after the request do not count');
  throwsMalformed(t, () => decodeWrite(load({ opcode: OP.WRITE }, writeHead(1n, 0n, 0xffffffff))), 'size 2^32 - 1 with no payload');
  throwsMalformed(t, () => decodeWrite(load({ opcode: OP.WRITE }, writeHead(1n, 0n, 0).subarray(0, 32))), 'WRITE with a 32-byte body (flags cut)');
});

t.test('decodeSetxattr: the 8-byte compat header, then the name, then the value', async (t) => {
  // Without FUSE_SETXATTR_EXT: fuse_setxattr_in's first 8 bytes (size, flags); name; value.
  const value = Buffer.from([0x00, 0x01, 0x00, 0xff, 0x41]); // a value with NULs in it
  let v = decodeSetxattr(load({ opcode: OP.SETXATTR }, u32(5), u32(2), cstr('user.x'), value));
  t.strictSame({ name: v.name.toString(), value: v.value.toString('hex'), flags: v.flags }, { name: 'user.x', value: '000100ff41', flags: 2 }, 'name at 8, XATTR_REPLACE, a 5-byte value with NULs');
  t.equal(v.value.byteOffset - ioBuf.byteOffset, 40 + 8 + 7, 'the value starts right after the name\'s NUL (no 16-byte struct)');
  t.equal(v.value.buffer, ioBuf.buffer, 'the value is a view into the request buffer');
  v = decodeSetxattr(load({ opcode: OP.SETXATTR }, u32(0), u32(1), cstr('security.selinux')));
  t.strictSame({ name: v.name.toString(), size: v.value.length, flags: v.flags }, { name: 'security.selinux', size: 0, flags: 1 }, 'an empty value, XATTR_CREATE');
  v = decodeSetxattr(load({ opcode: OP.SETXATTR }, u32(2), u32(0), cstr('user.y'), Buffer.from('abcd')));
  t.equal(v.value.toString(), 'ab', 'the value is size bytes, not the rest of the body');
  throwsMalformed(t, () => decodeSetxattr(load({ opcode: OP.SETXATTR }, u32(6), u32(0), cstr('user.x'), value)), 'size 6 with a 5-byte value');
  throwsMalformed(t, () => decodeSetxattr(load({ opcode: OP.SETXATTR }, u32(1), u32(0), Buffer.from('user.x'))), 'a name without NUL');
  throwsMalformed(t, () => decodeSetxattr(load({ opcode: OP.SETXATTR }, u32(1), u32(0))), 'no name');
  throwsMalformed(t, () => decodeSetxattr(load({ opcode: OP.SETXATTR }, u32(1))), 'a 4-byte body');
});

t.test('decodeFallocate', async (t) => {
  // fuse_fallocate_in: fh, offset, length, mode, padding
  const v = decodeFallocate(load({ opcode: OP.FALLOCATE }, u64(9), u64(TWO53 + 1n), u64(2n ** 63n + 3n), u32(3), GARBAGE32));
  t.strictSame(v, { fh: 9, offset: 9007199254740993n, length: 2n ** 63n + 3n, mode: 3 }, 'offset 2^53 + 1 and length 2^63 + 3 exact, KEEP_SIZE|PUNCH_HOLE');
  t.equal(decodeFallocate(load({ opcode: OP.FALLOCATE }, u64(TWO53 + 5n), u64(0), u64(1), u32(0), u32(0))).fh, -1, 'fh above 2^53: -1');
  throwsMalformed(t, () => decodeFallocate(load({ opcode: OP.FALLOCATE }, u64(9), u64(0), u64(1))), 'FALLOCATE without mode (24 bytes)');
});

t.test('decodeCopyFileRange', async (t) => {
  // fuse_copy_file_range_in: fh_in, off_in, nodeid_out, fh_out, off_out, len, flags
  const v = decodeCopyFileRange(
    load({ opcode: OP.COPY_FILE_RANGE }, u64(3), u64(TWO53 + 1n), u64(0x1_0000_0002n), u64(TWO53 - 1n), u64(2n ** 63n + 9n), u64(2n ** 64n - 1n), u64(2n ** 60n)),
  );
  t.strictSame(
    v,
    { fhIn: 3, offIn: 9007199254740993n, nodeidOut: 2 ** 32 + 2, fhOut: 2 ** 53 - 1, offOut: 2n ** 63n + 9n, len: 2n ** 64n - 1n, flags: 2n ** 60n },
    'handles as numbers (2^53 - 1 exact), offsets, len and flags as exact bigints',
  );
  const w = decodeCopyFileRange(load({ opcode: OP.COPY_FILE_RANGE }, u64(TWO53), u64(0), u64(TWO53), u64(2n ** 64n - 1n), u64(0), u64(0), u64(0)));
  t.strictSame([w.fhIn, w.nodeidOut, w.fhOut], [-1, -1, -1], 'fh_in, nodeid_out, fh_out at or above 2^53: -1');
  throwsMalformed(t, () => decodeCopyFileRange(load({ opcode: OP.COPY_FILE_RANGE }, Buffer.alloc(48))), 'COPY_FILE_RANGE without flags (48 bytes)');
});
