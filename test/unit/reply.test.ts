// Replies: every encoder of src/kernel/reply.ts to exact bytes, computed by hand from the layouts
// in /usr/include/linux/fuse.h (little-endian; the hex below is written field by field). Reply
// buffers start full of 0xee so that a field an encoder forgets to write shows up.
import { constants } from 'node:os';
import t from 'tap';
import {
  BODY,
  Reply,
  direntSize,
  direntplusSize,
  encodeAttr,
  encodeAttrOut,
  encodeBytes,
  encodeCreate,
  encodeDirPage,
  encodeDirentAt,
  encodeEmpty,
  encodeEntry,
  encodeEntryAt,
  encodeInit,
  encodeLseek,
  encodeOpen,
  encodeStatfs,
  encodeWriteOut,
  encodeXattrSize,
  requestBufferSize,
  type Attr,
} from '../../src/kernel/reply.js';

const E = constants.errno;
const hex = (s: string) => s.replace(/\s+/g, '');
const FILL = 0xee;
function reply(size = 4096): Reply {
  const rep = new Reply(size);
  rep.buf.fill(FILL);
  return rep;
}
const bytes = (b: Buffer, from: number, to: number) => b.subarray(from, to).toString('hex');

// ---- one fuse_attr, with values at the edges ---------------------------------------------------

const ATTR: Attr = {
  ino: 0x7ffffffffffffffen, // 2^63 - 2
  size: 0x8000000000000001n, // 2^63 + 1
  blocks: 0x7fffffffffffffffn, // 2^63 - 1
  atime: 1700000000n, // 0x6553f100
  mtime: -1n, // one second before the epoch
  ctime: -(2n ** 63n), // the smallest time
  atimensec: 111,
  mtimensec: 999999999, // 0x3b9ac9ff
  ctimensec: 5,
  mode: 0o100644, // 0x81a4
  nlink: 2,
  uid: 1000,
  gid: 100,
  rdev: 0x493103e0, // makedev(259, 300000) in the kernel's new_encode_dev form
  blksize: 4096,
};
// fuse_attr: ino size blocks atime mtime ctime (u64) atimensec mtimensec ctimensec mode nlink uid gid rdev blksize flags (u32)
const ATTR_HEX = hex(`
  feffffffffffff7f 0100000000000080 ffffffffffffff7f
  00f1536500000000 ffffffffffffffff 0000000000000080
  6f000000 ffc99a3b 05000000
  a4810000 02000000 e8030000 64000000 e0033149 00100000 00000000`);

t.test('the out-header: finish and error', async (t) => {
  const rep = reply(64);
  t.equal(BODY, 16, 'a body starts after the 16-byte fuse_out_header');
  t.equal(rep.room, 48, 'room: the buffer less the header');
  t.equal(rep.error(5n, E.EROFS), 16, 'an error reply is 16 bytes');
  t.equal(bytes(rep.buf, 0, 16), hex('10000000 e2ffffff 0500000000000000'), 'len 16, error -30 (EROFS), unique 5');
  rep.error(5n, -E.ENOSYS);
  t.equal(bytes(rep.buf, 0, 16), hex('10000000 daffffff 0500000000000000'), 'errno given negative: -38 (ENOSYS)');
  t.equal(rep.finish(2n ** 64n - 1n, 40), 40, 'finish returns the total length');
  t.equal(bytes(rep.buf, 0, 16), hex('28000000 00000000 ffffffffffffffff'), 'len 40, error 0 over the old error, unique 2^64 - 1');
  t.equal(rep.buf[16], FILL, 'finish writes the header only');
});

t.test('fuse_attr', async (t) => {
  const b = Buffer.alloc(120, FILL);
  encodeAttr(b, 8, ATTR);
  t.equal(bytes(b, 8, 96), ATTR_HEX, 'ino/size/blocks near 2^63 exact, negative times as two\'s complement, flags 0');
  t.equal(b[7], FILL, 'nothing written before');
  t.equal(b[96], FILL, 'nothing written after (88 bytes)');
  encodeAttr(b, 8, { ...ATTR, nlink: 0xffffffff, uid: 0xfffffffe, gid: 0, rdev: -1 });
  t.equal(bytes(b, 8 + 64, 8 + 80), hex('ffffffff feffffff 00000000 ffffffff'), 'nlink, uid, gid, rdev as 32-bit words (rdev -1 as 0xffffffff)');
});

t.test('fuse_entry_out', async (t) => {
  const rep = reply();
  const end = encodeEntry(rep, { nodeid: 7, generation: 0, entryValid: 1.5, attrValid: 0.25, attr: ATTR });
  t.equal(end, 16 + 128, 'header + fuse_entry_out (128 bytes)');
  t.equal(
    bytes(rep.buf, 16, end),
    hex(`
      0700000000000000 0000000000000000
      0100000000000000 0000000000000000
      0065cd1d 80b2e60e`) + ATTR_HEX,
    'nodeid 7, generation 0, entry_valid 1 s + 500000000 ns, attr_valid 0 s + 250000000 ns, fuse_attr',
  );
  t.equal(rep.buf[15], FILL, 'the header is not written by an encoder');
  t.equal(rep.buf[end], FILL, 'nothing written after');

  const b = Buffer.alloc(200, FILL);
  const e2 = encodeEntryAt(b, 40, { nodeid: 2 ** 53 - 1, generation: 2 ** 32 + 1, entryValid: 86400, attrValid: 0, attr: ATTR });
  t.equal(e2, 40 + 128, 'encodeEntryAt returns its end');
  t.equal(bytes(b, 40, 80), hex('ffffffffffff1f00 0100000001000000 8051010000000000 0000000000000000 00000000 00000000'), 'nodeid 2^53 - 1, generation 2^32 + 1, one day');
});

// The golden vector of the old test/optable.test.ts (a stat array then; an Attr now).
const OLD_ATTR: Attr = {
  ino: 4294967298n, // 0x1_0000_0002
  size: 4886718345n, // 0x1_2345_6789
  blocks: 8n,
  atime: 1700000000n,
  mtime: -1n,
  ctime: 8589934592n, // 2^33
  atimensec: 111,
  mtimensec: 999999999,
  ctimensec: 5,
  mode: 0o100644,
  nlink: 2,
  uid: 1000,
  gid: 100,
  rdev: 0x493103e0,
  blksize: 4096,
};
const OLD_ATTR_HEX = hex(`
  0200000001000000  8967452301000000  0800000000000000
  00f1536500000000  ffffffffffffffff  0000000002000000
  6f000000 ffc99a3b 05000000
  a4810000 02000000 e8030000 64000000 e0033149 00100000 00000000`);

t.test('golden bytes of the old codec tests: fuse_entry_out, fuse_attr_out', async (t) => {
  let rep = reply(200);
  let end = encodeEntry(rep, { nodeid: 7, generation: 0, entryValid: 1.5, attrValid: 0.25, attr: OLD_ATTR });
  t.equal(end, 16 + 128, 'fuse_entry_out is 128 bytes');
  t.equal(
    bytes(rep.buf, 16, end),
    hex(`
      0700000000000000  0000000000000000
      0100000000000000  0000000000000000
      0065cd1d 80b2e60e`) + OLD_ATTR_HEX,
    'nodeid 7, generation 0, entry_valid 1 s + 500000000 ns, attr_valid 0 s + 250000000 ns, fuse_attr',
  );
  t.equal(rep.buf[15], FILL, 'nothing written before');
  t.equal(rep.buf[144], FILL, 'nothing written after');
  rep = reply();
  end = encodeAttrOut(rep, { attrValid: 1, attr: OLD_ATTR });
  t.equal(end, 16 + 104, 'header + fuse_attr_out (104 bytes)');
  rep.finish(0x1122334455n, end);
  t.equal(
    bytes(rep.buf, 0, end),
    hex(`
      78000000 00000000 5544332211000000
      0100000000000000 00000000 00000000`) + OLD_ATTR_HEX,
    'len 120, error 0, unique; attr_valid 1 s, 0 ns, dummy 0, fuse_attr',
  );
});

t.test('fuse_attr_out', async (t) => {
  const rep = reply();
  const end = encodeAttrOut(rep, { attrValid: 1, attr: ATTR });
  t.equal(end, 16 + 104, 'header + fuse_attr_out (104 bytes)');
  rep.finish(0x1122334455n, end);
  t.equal(
    bytes(rep.buf, 0, end),
    hex(`
      78000000 00000000 5544332211000000
      0100000000000000 00000000 00000000`) + ATTR_HEX,
    'len 120, error 0, unique; attr_valid 1 s, 0 ns, dummy 0, fuse_attr',
  );
  encodeAttrOut(rep, { attrValid: 2.75, attr: ATTR });
  t.equal(bytes(rep.buf, 16, 32), hex('0200000000000000 8017b42c 00000000'), 'attr_valid 2 s + 750000000 ns');
});

t.test('fuse_open_out', async (t) => {
  const rep = reply(64);
  t.equal(encodeOpen(rep, { fh: 3, openFlags: 1 }), 32, 'header + 16 bytes');
  t.equal(bytes(rep.buf, 16, 32), hex('0300000000000000 01000000 00000000'), 'fh 3, FOPEN_DIRECT_IO, backing_id 0 when absent');
  encodeOpen(rep, { fh: 2 ** 53 - 1, openFlags: 1 << 7, backingId: 5 });
  t.equal(bytes(rep.buf, 16, 32), hex('ffffffffffff1f00 80000000 05000000'), 'fh 2^53 - 1, FOPEN_PASSTHROUGH, backing_id 5');
  encodeOpen(rep, { fh: 1, openFlags: 0, backingId: -2 });
  t.equal(bytes(rep.buf, 28, 32), 'feffffff', 'backing_id is an int32');
  t.equal(rep.buf[32], FILL, 'nothing written after');
});

t.test('fuse_init_out', async (t) => {
  // The golden INIT reply of the old test/codec.test.ts.
  let rep = reply();
  let end = encodeInit(rep, { minor: 40, maxReadahead: 131072, flags: 2n ** 36n + 2n ** 30n, maxBackground: 0, congestionThreshold: 0, maxWrite: 1044480, timeGran: 1, maxPages: 255 });
  t.equal(end, 80, 'header + fuse_init_out (64 bytes)');
  rep.finish(2n, end);
  t.equal(
    bytes(rep.buf, 0, 80),
    '50000000000000000200000000000000' +
      // major 7, minor 40, max_readahead 128 KiB, flags INIT_EXT, max_background 0, congestion 0,
      // max_write 0x0ff000, time_gran 1, max_pages 255, map_alignment 0, flags2 bit 4, rest 0
      '07000000' + '28000000' + '00000200' + '00000040' + '0000' + '0000' + '00f00f00' + '01000000' + 'ff00' + '0000' + '10000000' + '00'.repeat(28),
    'golden INIT reply',
  );
  // Bits 0..31 go to flags, 32..63 to flags2 (bit 63 included); every unused byte is zeroed.
  rep = reply();
  const flags = (1n << 63n) | (1n << 41n) | (1n << 37n) | (1n << 31n) | (1n << 30n) | (1n << 22n) | 1n;
  end = encodeInit(rep, { minor: 38, maxReadahead: 0x12345678, flags, maxBackground: 12, congestionThreshold: 9, maxWrite: 0x100000, timeGran: 1000, maxPages: 256 });
  t.equal(
    bytes(rep.buf, 16, end),
    hex(`07000000 26000000 78563412 010040c0 0c00 0900 00001000 e8030000 0001 0000 20020080`) + '00'.repeat(28),
    'flags 0xc0400001, flags2 0x80000220 (bits 63, 41, 37), max_pages 256, max_stack_depth and unused zero',
  );
  t.equal(rep.buf[end], FILL, 'nothing written after');
});

t.test('fuse_kstatfs', async (t) => {
  const rep = reply();
  const end = encodeStatfs(rep, {
    blocks: 0x0123456789abcdefn,
    bfree: 2n ** 53n + 1n,
    bavail: 2n ** 64n - 1n,
    files: 1000000n,
    ffree: 0n,
    bsize: 4096,
    namelen: 255,
    frsize: 512,
  });
  t.equal(end, 16 + 80, 'header + fuse_kstatfs (80 bytes)');
  t.equal(
    bytes(rep.buf, 16, end),
    hex(`
      efcdab8967452301 0100000000002000 ffffffffffffffff 40420f0000000000 0000000000000000
      00100000 ff000000 00020000 00000000`) + '00'.repeat(24),
    'blocks, bfree 2^53 + 1, bavail 2^64 - 1, files, ffree; bsize, namelen, frsize, padding 0, spare 0',
  );
});

t.test('fuse_getxattr_out, fuse_lseek_out, bytes, empty', async (t) => {
  const rep = reply(64);
  t.equal(encodeXattrSize(rep, 0x12345), 24, 'header + 8 bytes');
  t.equal(bytes(rep.buf, 16, 24), hex('45230100 00000000'), 'size 0x12345, padding 0');

  t.equal(encodeLseek(rep, { offset: 2n ** 53n + 1n }), 24, 'header + 8 bytes');
  t.equal(bytes(rep.buf, 16, 24), '0100000000002000', 'offset 2^53 + 1 exact');
  encodeLseek(rep, { offset: 2n ** 63n + 5n });
  t.equal(bytes(rep.buf, 16, 24), '0500000000000080', 'offset 2^63 + 5');
  encodeLseek(rep, { offset: -2n });
  t.equal(bytes(rep.buf, 16, 24), 'feffffffffffffff', 'a negative (signed) offset keeps its 64 bits');

  rep.buf.fill(FILL);
  t.equal(encodeBytes(rep, Buffer.from('target')), 22, 'header + 6 bytes');
  t.equal(bytes(rep.buf, 16, 23), '746172676574ee', 'the bytes, nothing after');
  t.equal(encodeBytes(rep, new Uint8Array(0)), 16, 'no bytes: header only');
  t.equal(encodeEmpty(rep), 16, 'encodeEmpty: header only');
  t.equal(encodeEmpty(rep, { anything: 1 }), 16, 'encodeEmpty ignores a value');
  t.equal(rep.buf[16], 0x74, 'encodeEmpty writes nothing');
});

// ---- the read-write operations ------------------------------------------------------------------

t.test('CREATE and TMPFILE: fuse_entry_out then fuse_open_out', async (t) => {
  const rep = reply();
  const end = encodeCreate(rep, { entry: { nodeid: 9, generation: 3, entryValid: 1.5, attrValid: 0.25, attr: ATTR }, open: { fh: 2 ** 32 + 5, openFlags: 1 } });
  t.equal(end, 16 + 128 + 16, 'header + fuse_entry_out (128) + fuse_open_out (16)');
  t.equal(
    bytes(rep.buf, 16, end),
    hex(`
      0900000000000000 0300000000000000
      0100000000000000 0000000000000000
      0065cd1d 80b2e60e`) + ATTR_HEX + hex('0500000001000000 01000000 00000000'),
    'nodeid 9, generation 3, valid times, fuse_attr; fh 2^32 + 5, FOPEN_DIRECT_IO, backing_id 0 when absent',
  );
  t.equal(rep.buf[15], FILL, 'the header is not written by an encoder');
  t.equal(rep.buf[end], FILL, 'nothing written after');
  encodeCreate(rep, { entry: { nodeid: 1, generation: 0, entryValid: 0, attrValid: 0, attr: ATTR }, open: { fh: 2 ** 53 - 1, openFlags: 1 << 7, backingId: -2 } });
  t.equal(bytes(rep.buf, 16 + 128, 16 + 144), hex('ffffffffffff1f00 80000000 feffffff'), 'fh 2^53 - 1, FOPEN_PASSTHROUGH, backing_id as an int32');
});

t.test('fuse_write_out: WRITE and COPY_FILE_RANGE', async (t) => {
  const rep = reply(64);
  t.equal(encodeWriteOut(rep, { size: 4096 }), 24, 'header + fuse_write_out (8 bytes)');
  t.equal(bytes(rep.buf, 16, 24), hex('00100000 00000000'), 'size 4096, padding 0');
  encodeWriteOut(rep, { size: 0xfffff000 });
  t.equal(bytes(rep.buf, 16, 24), hex('00f0ffff 00000000'), 'size near 2^32 (unsigned)');
  encodeWriteOut(rep, { size: 0 });
  t.equal(bytes(rep.buf, 16, 25), hex('00000000 00000000 ee'), 'size 0 (a WRITE at EOF of nothing), nothing written after');
  t.equal(rep.buf[15], FILL, 'the header is not written by an encoder');
});

// ---- directories -------------------------------------------------------------------------------

t.test('fuse_dirent: padding and sizes', async (t) => {
  const b = Buffer.alloc(128, FILL);
  let end = encodeDirentAt(b, 0, { ino: 4294967298n, off: 3n, type: 8, name: Buffer.from('héllo') });
  t.equal(end, 32, '24 + 6 bytes, padded to 32');
  t.equal(bytes(b, 0, 32), hex('0200000001000000 0300000000000000 06000000 08000000 68c3a96c6c6f 0000'), 'ino, off 3, namelen 6, DT_REG, name, zero padding');
  end = encodeDirentAt(b, 32, { ino: 1n, off: 4n, type: 4, name: Buffer.from('12345678') });
  t.equal(end, 64, 'an 8-byte name needs no padding');
  t.equal(bytes(b, 32, 64), hex('0100000000000000 0400000000000000 08000000 04000000 3132333435363738'), 'DT_DIR, 8-byte name');
  end = encodeDirentAt(b, 64, { ino: 2n ** 64n - 1n, off: 2n ** 63n, type: 10, name: Buffer.from([0xff, 0xfe, 0x41]) });
  t.equal(end, 96, 'a non-UTF-8 name');
  t.equal(bytes(b, 64, 96), hex('ffffffffffffffff 0000000000000080 03000000 0a000000 fffe41 0000000000'), 'ino 2^64 - 1, off 2^63, raw bytes, DT_LNK');
  t.equal(b[96], FILL, 'nothing written past the record');
  t.same([0, 1, 8, 9, 16, 17, 255].map(direntSize), [24, 32, 32, 40, 40, 48, 280], 'direntSize = FUSE_DIRENT_ALIGN(24 + namelen)');
  // FUSE_DIRENTPLUS_SIZE = FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS (152) + namelen)
  t.same([1, 8, 9, 255].map(direntplusSize), [160, 160, 168, 408], 'direntplusSize = FUSE_DIRENT_ALIGN(152 + namelen)');
});

t.test('a READDIR page', async (t) => {
  const rep = reply();
  const end = encodeDirPage(rep, {
    entries: [
      { ino: 10n, off: 1n, type: 4, name: Buffer.from('.') },
      { ino: 2n, off: 2n, type: 4, name: Buffer.from('..') },
      { ino: 0x1_0000_0003n, off: 3n, type: 8, name: Buffer.from('file.txt') },
    ],
  });
  t.equal(end, 16 + 96, 'three 32-byte records behind the header');
  t.equal(
    bytes(rep.buf, 16, end),
    hex(`
      0a00000000000000 0100000000000000 01000000 04000000 2e 00000000000000
      0200000000000000 0200000000000000 02000000 04000000 2e2e 000000000000
      0300000001000000 0300000000000000 08000000 08000000 66696c652e747874`),
    '., .. and file.txt, each padded to 8 bytes',
  );
  t.equal(rep.buf[end], FILL, 'nothing written after');
  t.equal(encodeDirPage(reply(), { entries: [] }), 16, 'an empty page (end of directory): header only');
});

t.test('a READDIRPLUS page', async (t) => {
  const rep = reply();
  const zero = { ...ATTR, ino: 10n, size: 0n, blocks: 0n, atime: 0n, mtime: 0n, ctime: 0n, atimensec: 0, mtimensec: 0, ctimensec: 0, mode: 0o040000, nlink: 0, uid: 0, gid: 0, rdev: 0, blksize: 0 };
  const end = encodeDirPage(rep, {
    entries: [
      { ino: 10n, off: 1n, type: 4, name: Buffer.from('.'), entry: { nodeid: 0, generation: 0, entryValid: 0, attrValid: 0, attr: zero } },
      { ino: 0x7ffffffffffffffen, off: 2n, type: 8, name: Buffer.from('f'), entry: { nodeid: 5, generation: 0, entryValid: 2, attrValid: 2, attr: ATTR } },
    ],
  });
  t.equal(end, 16 + 2 * 160, 'two fuse_direntplus of 160 bytes');
  t.equal(
    bytes(rep.buf, 16, 16 + 160),
    '00'.repeat(40) + // nodeid 0 (no lookup), generation, entry_valid, attr_valid, both nsec
      hex('0a00000000000000') + '00'.repeat(40) + '00'.repeat(12) + hex('00400000') + '00'.repeat(24) + // attr: ino 10, mode S_IFDIR
      hex('0a00000000000000 0100000000000000 01000000 04000000 2e 00000000000000'),
    '. : a zero entry_out (nodeid 0) then its dirent',
  );
  t.equal(
    bytes(rep.buf, 16 + 160, end),
    hex('0500000000000000 0000000000000000 0200000000000000 0200000000000000 00000000 00000000') +
      ATTR_HEX +
      hex('feffffffffffff7f 0200000000000000 01000000 08000000 66 00000000000000'),
    'f: entry_out (nodeid 5, 2 s timeouts, fuse_attr) then its dirent',
  );
  t.equal(rep.buf[end], FILL, 'nothing written after');
});

t.test('requestBufferSize', async (t) => {
  // The kernel refuses a read buffer smaller than max(FUSE_MIN_READ_BUFFER (8192),
  // sizeof(fuse_in_header) + sizeof(fuse_write_in) + max_write) = max(8192, 80 + max_write).
  for (const maxWrite of [0, 4096, 131072, 1044480, 1048576, 4 << 20]) {
    const n = requestBufferSize(maxWrite);
    t.ok(n >= Math.max(8192, 80 + maxWrite), `requestBufferSize(${maxWrite}) = ${n} >= what the kernel demands`);
    // A SETXATTR carries up to 64 KiB of value (XATTR_SIZE_MAX) + a 255-byte name + headers.
    t.ok(n >= 40 + 16 + 256 + 65536, `requestBufferSize(${maxWrite}) holds the largest SETXATTR`);
  }
  t.equal(requestBufferSize(1048576), 1048576 + 8192, '1 MiB max_write: + two pages');
  t.equal(requestBufferSize(4096), 65536 + 4096 + 8192, 'small max_write: the 68 KiB floor + two pages');
});
