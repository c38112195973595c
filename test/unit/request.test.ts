// Requests: exact bytes in, typed values out, for every decoder of src/kernel/request.ts (the operations that change the
// source: request-changes.test.ts). Each
// request is built byte by byte from the layouts in /usr/include/linux/fuse.h (offsets written
// out below, never taken from abi.ts), into a reused buffer full of stale bytes as the transport's
// is. 64-bit values the kernel chooses arrive as exact bigints; nodeid and fh (our own handles)
// are numbers, and one at or above 2^53 decodes to -1 (no such handle).
import t from 'tap';
import {
  Request,
  decodeAccess,
  decodeBatchForget,
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
import { cstr, GARBAGE32, header, ioBuf, load, req, STALE, throwsMalformed, TWO53, u32, u64 } from '../helpers/fuse-bytes.js';

/** Opcodes, from enum fuse_opcode. */
const OP = {
  LOOKUP: 1, FORGET: 2, GETATTR: 3, OPEN: 14, READ: 15, STATFS: 17, RELEASE: 18, FSYNC: 20, GETXATTR: 22, LISTXATTR: 23,
  FLUSH: 25, INIT: 26, READDIR: 28, ACCESS: 34, INTERRUPT: 36, BATCH_FORGET: 42, LSEEK: 46,
};

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
