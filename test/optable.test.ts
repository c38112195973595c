// Units without a mount: the opcode table, golden bytes of the codec's encoders (computed by
// hand from the layouts in /usr/include/linux/fuse.h), malformed requests, pipe slot counting.
import { mkdirSync, rmSync, writeFileSync, lstatSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Opcode, Size, FOPEN_DIRECT_IO, type OpcodeName } from '../src/kernel/abi.js';
import {
  MalformedRequest,
  Reply,
  Request,
  decodeBatchForget,
  decodeGetxattr,
  decodeInit,
  decodeLseek,
  decodeRead,
  direntSize,
  encodeAttrOut,
  encodeDirent,
  encodeEntry,
  encodeOpen,
  writeU64,
} from '../src/kernel/codec.js';
import { OP_SPECS, buildOpTable, NO_REPLY_OPS } from '../src/optable.js';
import { PassthroughFs } from '../src/passthrough/fs.js';
import { slotsNeeded } from '../src/read-path.js';
import { freshDir } from './helpers/mount.js';

const E = constants.errno;

/** A request as the kernel would send it: fuse_in_header + body. */
function makeRequest(opcode: number, nodeid: number, body: Buffer, unique = 42): Request {
  const r = new Request(64 * 1024);
  const len = Size.inHeader + body.length;
  r.buf.fill(0, 0, len);
  r.buf.writeUInt32LE(len, 0);
  r.buf.writeUInt32LE(opcode, 4);
  writeU64(r.buf, 8, unique);
  writeU64(r.buf, 16, nodeid);
  r.buf.writeUInt32LE(0, 24); // uid
  r.buf.writeUInt32LE(0, 28); // gid
  r.buf.writeUInt32LE(1234, 32); // pid
  body.copy(r.buf, Size.inHeader);
  r.load(len);
  return r;
}

const hex = (s: string) => s.replace(/\s+/g, '');

/** fn must throw a MalformedRequest (the session turns that into EINVAL). */
function throwsMalformed(t: Test, fn: () => unknown, what: string): void {
  try {
    fn();
    t.fail(`${what}: did not throw`);
  } catch (err) {
    t.ok(err instanceof MalformedRequest, `${what}: MalformedRequest (${(err as Error).message})`);
  }
}

// ---- the opcode table ----------------------------------------------------------------------

const MODIFYING: OpcodeName[] = [
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
];
// The list of handled operations (INIT and READ are routed by the session itself).
const HANDLED: OpcodeName[] = [
  'LOOKUP',
  'FORGET',
  'BATCH_FORGET',
  'GETATTR',
  'READLINK',
  'OPEN',
  'FLUSH',
  'RELEASE',
  'OPENDIR',
  'READDIR',
  'READDIRPLUS',
  'RELEASEDIR',
  'STATFS',
  'ACCESS',
  'GETXATTR',
  'LISTXATTR',
  'LSEEK',
  'INTERRUPT',
  'DESTROY',
];

/** A fake filesystem recording which handler ran. */
function recordingFs() {
  const calls: string[] = [];
  const fs = new Proxy(
    {},
    {
      get: (_o, prop) => (_r: Request) => {
        calls.push(String(prop));
        return prop === 'readOnly' ? -E.EROFS : 16;
      },
    },
  ) as unknown as PassthroughFs;
  return { fs, calls };
}

t.test('OP_SPECS: every row names a real opcode, once', async (t) => {
  const seen = new Map<number, string>();
  for (const [name, minBody, handler] of OP_SPECS) {
    t.type(Opcode[name], 'number', `${name} is an opcode`);
    t.notOk(seen.has(Opcode[name]), `${name} (${Opcode[name]}) appears once`);
    seen.set(Opcode[name], name);
    t.ok(Number.isInteger(minBody) && minBody >= 0, `${name}: minBody ${minBody} is a size`);
    t.type(handler, 'function', `${name}: has a handler`);
  }
  for (const name of HANDLED) t.ok(seen.has(Opcode[name]), `${name} is handled`);
  for (const name of MODIFYING) t.ok(seen.has(Opcode[name]), `${name} has a row (EROFS)`);
  for (const name of ['INIT', 'READ'] as const) {
    const row = OP_SPECS.find(([n]) => n === name);
    if (row) t.ok(row[1] > 0, `${name}: if listed, its body is checked`);
    else t.pass(`${name} is routed by the session`);
  }
  t.doesNotThrow(() => buildOpTable(recordingFs().fs), 'buildOpTable accepts the real specs');
});

t.test('buildOpTable: handlers, EROFS for modifying ops, ENOSYS by absence', async (t) => {
  const { fs, calls } = recordingFs();
  const table = buildOpTable(fs);
  const big = Buffer.alloc(4096, 0x61); // a long enough body for any row; a name ends in NUL
  big[4000] = 0;
  for (const [name, , ] of OP_SPECS) {
    const row = table[Opcode[name]];
    t.ok(row, `${name}: a row in the table`);
    t.equal(row?.name, name, `${name}: the row is named for its opcode`);
  }
  for (const name of MODIFYING) {
    calls.length = 0;
    const res = table[Opcode[name]]!.run(makeRequest(Opcode[name], 1, big));
    t.equal(res, -E.EROFS, `${name} -> EROFS`);
    t.same(calls, ['readOnly'], `${name}: only readOnly ran`);
  }
  // Unknown or unhandled opcodes have no row: the session answers ENOSYS.
  for (const name of ['GETLK', 'SETLK', 'SETLKW', 'BMAP', 'IOCTL', 'POLL', 'NOTIFY_REPLY', 'SYNCFS', 'STATX', 'SETUPMAPPING'] as const) {
    t.equal(table[Opcode[name]], undefined, `${name}: no row (ENOSYS)`);
  }
  t.equal(table[99], undefined, 'opcode 99: no row');
  // The real read-only handler, with a real fs object.
  const dir = freshDir('optable');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const realFs = new PassthroughFs({ source: dir, timeout: 1, directIo: false }, new Reply(256 * 1024));
  t.teardown(() => realFs.closeAll());
  const real = buildOpTable(realFs);
  for (const name of MODIFYING) t.equal(real[Opcode[name]]!.run(makeRequest(Opcode[name], 1, big)), -E.EROFS, `real fs: ${name} -> EROFS`);
});

t.test('buildOpTable: a body shorter than minBody is EINVAL (or dropped, for no-reply ops) before the handler', async (t) => {
  const { fs, calls } = recordingFs();
  const table = buildOpTable(fs);
  let checked = 0;
  for (const [name, minBody] of OP_SPECS) {
    if (minBody === 0) continue;
    calls.length = 0;
    const res = table[Opcode[name]]!.run(makeRequest(Opcode[name], 1, Buffer.alloc(minBody - 1)));
    if (NO_REPLY_OPS.has(name)) t.equal(res, 0, `${name}: ${minBody - 1}-byte body -> dropped, no reply`);
    else t.equal(res, -E.EINVAL, `${name}: ${minBody - 1}-byte body -> EINVAL`);
    t.same(calls, [], `${name}: the handler did not run`);
    const ok = Buffer.alloc(minBody + 8, 0x61);
    ok[ok.length - 1] = 0;
    t.not(table[Opcode[name]]!.run(makeRequest(Opcode[name], 1, ok)), -E.EINVAL, `${name}: a ${minBody + 8}-byte body reaches the handler`);
    checked++;
  }
  t.ok(checked >= 10, `${checked} rows have a minimum body`);
  // The minimum bodies the layouts demand.
  const min = new Map(OP_SPECS.map(([n, m]) => [n, m]));
  t.equal(min.get('OPEN'), 8, 'OPEN: fuse_open_in is 8 bytes');
  t.equal(min.get('READDIR'), 40, 'READDIR: fuse_read_in is 40 bytes');
  t.equal(min.get('RELEASE'), 24, 'RELEASE: fuse_release_in is 24 bytes');
  t.equal(min.get('FORGET'), 8, 'FORGET: fuse_forget_in is 8 bytes');
  t.equal(min.get('LSEEK'), 24, 'LSEEK: fuse_lseek_in is 24 bytes');
  t.equal(min.get('INTERRUPT'), 8, 'INTERRUPT: fuse_interrupt_in is 8 bytes');
  t.ok((min.get('GETXATTR') ?? 0) > 8, 'GETXATTR: fuse_getxattr_in plus a name');
});

// ---- handlers against a real directory, no mount -------------------------------------------

t.test('real handlers: LOOKUP, GETATTR, errors', async (t) => {
  const dir = freshDir('optable-real');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'f'), 'hello');
  mkdirSync(join(dir, 'd'));
  const rep = new Reply(256 * 1024);
  const fs = new PassthroughFs({ source: dir, timeout: 2.5, directIo: false }, rep);
  t.teardown(() => fs.closeAll());
  const table = buildOpTable(fs);
  const name = (s: string | Buffer) => Buffer.concat([Buffer.from(s), Buffer.from([0])]);

  let n = table[Opcode.LOOKUP]!.run(makeRequest(Opcode.LOOKUP, 1, name('f')));
  t.equal(n, 16 + 128, 'LOOKUP reply: header + fuse_entry_out');
  const nodeid = Number(rep.buf.readBigUInt64LE(16));
  t.ok(nodeid > 1, `a nodeid (${nodeid})`);
  t.equal(rep.buf.readBigUInt64LE(16 + 16), 2n, 'entry_valid 2 s');
  t.equal(rep.buf.readUInt32LE(16 + 32), 500_000_000, 'entry_valid_nsec 0.5 s');
  const st = lstatSync(join(dir, 'f'));
  t.equal(Number(rep.buf.readBigUInt64LE(16 + 40)), st.ino, 'attr.ino is the source inode');
  t.equal(Number(rep.buf.readBigUInt64LE(16 + 48)), 5, 'attr.size');
  t.equal(rep.buf.readUInt32LE(16 + 40 + 60), st.mode, 'attr.mode');
  t.equal(fs.inodes.get(nodeid)?.nlookup, 1, 'lookup count 1');
  table[Opcode.LOOKUP]!.run(makeRequest(Opcode.LOOKUP, 1, name('f')));
  t.equal(fs.inodes.get(nodeid)?.nlookup, 2, 'a second LOOKUP: count 2, same node');

  n = table[Opcode.GETATTR]!.run(makeRequest(Opcode.GETATTR, nodeid, Buffer.alloc(16)));
  t.equal(n, 16 + 104, 'GETATTR reply: header + fuse_attr_out');
  t.equal(Number(rep.buf.readBigUInt64LE(16 + 16)), st.ino, 'GETATTR attr.ino');

  t.equal(table[Opcode.LOOKUP]!.run(makeRequest(Opcode.LOOKUP, 1, name('missing'))), -E.ENOENT, 'LOOKUP of a missing name: ENOENT');
  t.equal(table[Opcode.LOOKUP]!.run(makeRequest(Opcode.LOOKUP, 1, name('x'.repeat(256)))), -E.ENAMETOOLONG, 'a 256-byte name: ENAMETOOLONG');
  t.equal(table[Opcode.LOOKUP]!.run(makeRequest(Opcode.LOOKUP, 1, name('..'))), -E.ENOENT, '.. of the root: ENOENT (never above the source)');
  t.equal(table[Opcode.GETATTR]!.run(makeRequest(Opcode.GETATTR, 9999, Buffer.alloc(16))), -E.ESTALE, 'an unknown nodeid: ESTALE');
  t.equal(table[Opcode.OPEN]!.run(makeRequest(Opcode.OPEN, nodeid, u32s(2, 0))), -E.EROFS, 'OPEN O_RDWR: EROFS');
  t.equal(table[Opcode.ACCESS]!.run(makeRequest(Opcode.ACCESS, nodeid, u32s(2, 0))), -E.EROFS, 'ACCESS W_OK: EROFS');

  // FORGET drops the node at zero.
  t.equal(table[Opcode.FORGET]!.run(makeRequest(Opcode.FORGET, nodeid, u64(2))), 0, 'FORGET: no reply');
  t.equal(fs.inodes.get(nodeid), undefined, 'the node is gone after its lookups are forgotten');
  t.ok(fs.inodes.get(1), 'the root stays');
  t.equal(table[Opcode.FORGET]!.run(makeRequest(Opcode.FORGET, 1, u64(100))), 0, 'FORGET of the root');
  t.ok(fs.inodes.get(1), 'the root is never forgotten');

  // A LOOKUP whose name has no NUL is malformed (the session answers EINVAL).
  throwsMalformed(t, () => table[Opcode.LOOKUP]!.run(makeRequest(Opcode.LOOKUP, 1, Buffer.from('abc'))), 'a name without NUL: MalformedRequest');
});

function u32s(...v: number[]): Buffer {
  const b = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => b.writeUInt32LE(x, i * 4));
  return b;
}
function u64(v: number): Buffer {
  const b = Buffer.alloc(8);
  writeU64(b, 0, v);
  return b;
}

// ---- golden bytes ---------------------------------------------------------------------------

// stat array: dev, ino, mode, nlink, uid, gid, rdev, size, blksize, blocks, atime s/ns, mtime s/ns, ctime s/ns
const ST = new Float64Array([
  0x801, // dev
  4294967298, // ino 0x1_0000_0002
  0o100644, // mode 0x81a4
  2, // nlink
  1000, // uid
  100, // gid
  0x493103e0, // rdev: makedev(259, 300000) in glibc's encoding, low 32 bits = the kernel's new_encode_dev
  4886718345, // size 0x1_2345_6789
  4096, // blksize
  8, // blocks
  1700000000, // atime 0x6553f100
  111,
  -1, // mtime one second before the epoch
  999999999,
  8589934592, // ctime 2^33
  5,
]);
const ATTR_HEX = hex(`
  0200000001000000  8967452301000000  0800000000000000
  00f1536500000000  ffffffffffffffff  0000000002000000
  6f000000 ffc99a3b 05000000
  a4810000 02000000 e8030000 64000000 e0033149 00100000 00000000`);

t.test('golden bytes: fuse_entry_out', async (t) => {
  const b = Buffer.alloc(200, 0xee);
  const end = encodeEntry(b, 16, 7, 0, 1.5, 0.25, ST);
  t.equal(end, 16 + 128, 'fuse_entry_out is 128 bytes');
  t.equal(
    b.subarray(16, end).toString('hex'),
    hex(`
      0700000000000000  0000000000000000
      0100000000000000  0000000000000000
      0065cd1d 80b2e60e`) + ATTR_HEX,
    'nodeid 7, generation 0, entry_valid 1 s + 500000000 ns, attr_valid 0 s + 250000000 ns, fuse_attr',
  );
  t.equal(b[15], 0xee, 'nothing written before');
  t.equal(b[144], 0xee, 'nothing written after');
});

t.test('golden bytes: fuse_attr_out and the reply header', async (t) => {
  const rep = new Reply(4096);
  rep.buf.fill(0xee);
  const end = encodeAttrOut(rep, 1, ST);
  t.equal(end, 16 + 104, 'header + fuse_attr_out (104 bytes)');
  rep.finish(0x1122334455, end);
  t.equal(
    rep.buf.subarray(0, end).toString('hex'),
    hex(`
      78000000 00000000 5544332211000000
      0100000000000000 00000000 00000000`) + ATTR_HEX,
    'len 120, error 0, unique; attr_valid 1 s, 0 ns, dummy 0, fuse_attr',
  );
});

t.test('golden bytes: error reply, fuse_open_out', async (t) => {
  const rep = new Reply(64);
  const n = rep.error(5, E.EROFS);
  t.equal(n, 16);
  t.equal(rep.buf.subarray(0, 16).toString('hex'), hex('10000000 e2ffffff 0500000000000000'), 'len 16, error -30, unique 5');
  const m = encodeOpen(rep, 3, FOPEN_DIRECT_IO);
  t.equal(m, 32);
  t.equal(rep.buf.subarray(16, 32).toString('hex'), hex('0300000000000000 01000000 00000000'), 'fh 3, FOPEN_DIRECT_IO, backing_id 0');
});

t.test('golden bytes: fuse_dirent', async (t) => {
  const b = Buffer.alloc(128, 0xee);
  let end = encodeDirent(b, 0, 4294967298, 3, 8, Buffer.from('héllo'));
  t.equal(end, 32, '24 + 6 bytes, padded to 32');
  t.equal(
    b.subarray(0, 32).toString('hex'),
    hex('0200000001000000 0300000000000000 06000000 08000000 68c3a96c6c6f 0000'),
    'ino, off 3, namelen 6, DT_REG, name, zero padding',
  );
  end = encodeDirent(b, 32, 1, 4, 4, Buffer.from('12345678'));
  t.equal(end, 64, 'an 8-byte name needs no padding');
  t.equal(b.subarray(32, 64).toString('hex'), hex('0100000000000000 0400000000000000 08000000 04000000 3132333435363738'), 'DT_DIR, 8-byte name');
  end = encodeDirent(b, 64, 9, 5, 10, Buffer.from([0xff, 0xfe, 0x00 + 0x41]));
  t.equal(end, 96, 'non-UTF-8 name');
  t.equal(b.subarray(64, 96).toString('hex'), hex('0900000000000000 0500000000000000 03000000 0a000000 fffe41 0000000000'), 'raw bytes, DT_LNK');
  t.equal(b[96], 0xee, 'nothing written past the record');
  t.same([1, 8, 9, 16, 17, 255].map(direntSize), [32, 32, 40, 40, 48, 280], 'direntSize = align8(24 + namelen)');
});

// ---- malformed requests ---------------------------------------------------------------------

t.test('malformed requests throw MalformedRequest', async (t) => {
  const r = new Request(4096);
  r.buf.writeUInt32LE(39, 0);
  throwsMalformed(t, () => r.load(39), 'shorter than fuse_in_header');
  r.buf.writeUInt32LE(100, 0);
  throwsMalformed(t, () => r.load(80), 'header length disagrees with the bytes read');

  throwsMalformed(t, () => decodeRead(makeRequest(Opcode.READ, 2, Buffer.alloc(8))), 'READ with an 8-byte body');
  throwsMalformed(t, () => decodeRead(makeRequest(Opcode.READ, 2, Buffer.alloc(32))), 'READ with a 32-byte body (flags missing)');
  t.doesNotThrow(() => decodeRead(makeRequest(Opcode.READ, 2, Buffer.alloc(40))), 'READ with a 40-byte body is fine');
  throwsMalformed(t, () => decodeLseek(makeRequest(Opcode.LSEEK, 2, Buffer.alloc(16))), 'LSEEK without whence');
  throwsMalformed(t, () => decodeGetxattr(makeRequest(Opcode.GETXATTR, 2, Buffer.alloc(4))), 'GETXATTR shorter than fuse_getxattr_in');
  throwsMalformed(t, () => decodeGetxattr(makeRequest(Opcode.GETXATTR, 2, Buffer.concat([Buffer.alloc(8), Buffer.from('user.x')]))), 'xattr name without NUL');
  throwsMalformed(t, () => decodeGetxattr(makeRequest(Opcode.GETXATTR, 2, Buffer.alloc(9))), 'empty xattr name');
  throwsMalformed(t, () => decodeInit(makeRequest(Opcode.INIT, 0, Buffer.alloc(12))), 'INIT without flags');
  // A NUL past the end of the request (stale bytes in the reused buffer) does not count.
  const stale = makeRequest(Opcode.LOOKUP, 1, Buffer.from('abc'));
  stale.buf[stale.length + 2] = 0;
  throwsMalformed(t, () => stale.name(0), 'a NUL beyond the request does not end the name');
  // BATCH_FORGET announcing more entries than it carries.
  const bf = Buffer.alloc(8 + 16);
  bf.writeUInt32LE(3, 0);
  writeU64(bf, 8, 5);
  writeU64(bf, 16, 1);
  const items: Array<{ nodeid: number; nlookup: number }> = [];
  throwsMalformed(t, () => {
    for (const f of decodeBatchForget(makeRequest(Opcode.BATCH_FORGET, 0, bf))) items.push(f);
  }, 'BATCH_FORGET count beyond the body');
  t.same(items, [{ nodeid: 5, nlookup: 1 }], 'the entries that were there decoded');
});

// ---- pipe slots ------------------------------------------------------------------------------

t.test('slotsNeeded: one slot for the header, one per page touched', async (t) => {
  const P = 4096;
  const cases: Array<[number, number, number]> = [
    [0, 0, 1],
    [12345, 0, 1],
    [0, 1, 2],
    [0, P, 2],
    [1, P, 3],
    [P - 1, 2, 3],
    [P, P, 2],
    [0, P + 1, 3],
    [0, 15 * P, 16], // the original 15-page limit: fills a 16-slot pipe
    [1, 15 * P, 17],
    [0, 16 * P, 17],
    [0, 255 * P, 256], // the default 255-page max_pages fills a 256-slot pipe
    [1, 255 * P, 257],
    [0, 256 * P, 257],
    [5 * P + 5, 10, 2],
    [2 ** 40 + 1, 2 * P, 4], // offsets past 4 GiB
  ];
  for (const [off, size, want] of cases) t.equal(slotsNeeded(off, size), want, `slotsNeeded(${off}, ${size}) = ${want}`);
});
