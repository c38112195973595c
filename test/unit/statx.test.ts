// FUSE_STATX without a mount: the 7.39 struct layouts (offsets and sizes worked out by hand from
// libfuse's include/fuse_kernel.h, since the installed linux/fuse.h is 7.38), the decoder and the
// encoder byte for byte, the mask rules, and the handler against a real directory: the inode
// number STATX reports is the one GETATTR reports, and the rest is what statx(2) says.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import { constants as osc, tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { addon } from '../../src/addon.js';
import * as K from '../../src/kernel/abi.js';
import * as L from '../../src/kernel/linux.js';
import { decodeStatx, Request } from '../../src/kernel/request.js';
import { BODY, encodeStatxOut, Reply, type Attr, type StatxOut } from '../../src/kernel/reply.js';
import { Passthrough } from '../../src/passthrough/fs.js';
import * as attrs from '../../src/passthrough/ops/attrs.js';
import { newStat } from '../../src/passthrough/stat.js';
import { newStatx, statPart, Sx, toStatx } from '../../src/passthrough/statx.js';
import { buildOpTable, type OpContext } from '../../src/server/optable.js';

/** Bytes from hex, spaces ignored. */
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

t.test('7.39 layouts: every offset and size, by hand from fuse_kernel.h', async (t) => {
  t.equal(K.fuse_sx_time.size, 16);
  t.same(K.fuse_sx_time.off, { tv_sec: 0, tv_nsec: 8, __reserved: 12 });
  t.equal(K.fuse_statx.size, 256, 'fuse_statx = struct statx: 256 bytes');
  t.same(K.fuse_statx.off, {
    mask: 0, blksize: 4, attributes: 8, nlink: 16, uid: 20, gid: 24, mode: 28, __spare0: 30,
    ino: 32, size: 40, blocks: 48, attributes_mask: 56, atime: 64, btime: 80, ctime: 96, mtime: 112,
    rdev_major: 128, rdev_minor: 132, dev_major: 136, dev_minor: 140, __spare2: 144,
  });
  t.equal(K.fuse_statx_in.size, 24);
  t.same(K.fuse_statx_in.off, { getattr_flags: 0, reserved: 4, fh: 8, sx_flags: 16, sx_mask: 20 });
  t.equal(K.fuse_statx_out.size, 288);
  t.same(K.fuse_statx_out.off, { attr_valid: 0, attr_valid_nsec: 8, flags: 12, spare: 16, stat: 32 });
  for (const s of [K.fuse_sx_time, K.fuse_statx, K.fuse_statx_in, K.fuse_statx_out]) {
    t.ok(K.STRUCTS.includes(s), `${s.name} is in STRUCTS (the ABI check walks it)`);
    t.ok(s.fields.every((f) => f.since === 39), `${s.name}: every field says since 39 (newer than the installed header)`);
  }
  t.equal(K.Opcode.STATX, 52);
});

/** A STATX request: in-header (40 bytes) + fuse_statx_in (24), every byte written out. */
const REQUEST = hex(`
  40000000 34000000 2a00000000000000 0500000000000000 e8030000 e9030000 39300000 0000 0000
  01000000 00000000 0700000000000000 00200000 ff0f0000
`);

t.test('decodeStatx: exact bytes in, typed fields out', async (t) => {
  t.equal(REQUEST.length, 64);
  const r = new Request();
  r.load(REQUEST, REQUEST.length);
  t.equal(r.opcode, 52, 'opcode 52 = STATX');
  t.equal(r.unique, 42n);
  t.equal(r.nodeid, 5);
  t.same(decodeStatx(r), { getattrFlags: K.FUSE_GETATTR_FH, fh: 7, sxFlags: 0x2000, sxMask: 0xfff });
  const short = Buffer.from(REQUEST.subarray(0, 56));
  short.writeUInt32LE(56, 0);
  r.load(short, 56);
  t.throws(() => decodeStatx(r), { name: 'MalformedRequest' }, 'a body shorter than fuse_statx_in is malformed');
});

const t0 = (sec: bigint, nsec: number) => ({ sec, nsec });
const SAMPLE: StatxOut = {
  attrValid: 1.5,
  stat: {
    mask: 0xfff,
    blksize: 4096,
    attributes: 0x30n,
    attributesMask: 0x100874n,
    nlink: 3,
    uid: 1000,
    gid: 1001,
    mode: 0o100644,
    ino: 0x8000000000000001n, // above 2^63: exact
    size: 0x20000000000001n, // 2^53 + 1: a double would round it
    blocks: 0x123456789abcdef0n,
    atime: t0(1n, 2),
    btime: t0(-1n, 999_999_999), // before the epoch: signed
    ctime: t0(0x100000000n, 3),
    mtime: t0(0x7fffffffffffffffn, 4),
    rdevMajor: 8,
    rdevMinor: 17,
    devMajor: 0,
    devMinor: 0,
  },
};

/** SAMPLE as fuse_statx_out, field by field (offsets from the layout test above). */
const SAMPLE_BYTES = hex(`
  0100000000000000 0065cd1d 00000000 0000000000000000 0000000000000000
  ff0f0000 00100000 3000000000000000 03000000 e8030000 e9030000 a481 0000
  0100000000000080 0100000000002000 f0debc9a78563412 7408100000000000
  0100000000000000 02000000 00000000
  ffffffffffffffff ffc99a3b 00000000
  0000000001000000 03000000 00000000
  ffffffffffffff7f 04000000 00000000
  08000000 11000000 00000000 00000000
  ${'00'.repeat(112)}
`);

t.test('encodeStatxOut: exact bytes behind the out-header', async (t) => {
  t.equal(SAMPLE_BYTES.length, 288);
  const rep = new Reply(1024);
  rep.buf.fill(0xaa); // stale bytes: every spare and reserved field must come out zero
  const end = encodeStatxOut(rep, SAMPLE);
  t.equal(end, BODY + 288, 'the end offset: header + fuse_statx_out');
  t.same(rep.buf.subarray(BODY, end), SAMPLE_BYTES);
  t.equal(rep.finish(42n, end), 304);
  t.same(rep.buf.subarray(0, 16), hex('30010000 00000000 2a00000000000000'), 'header: len 304, error 0, unique');
});

const ATTR: Attr = {
  ino: 77n, size: 5n, blocks: 8n, atime: 10n, mtime: 20n, ctime: 30n, atimensec: 1, mtimensec: 2, ctimensec: 3,
  mode: 0o100640, nlink: 2, uid: 3, gid: 4, rdev: 0, blksize: 4096,
};

t.test('toStatx: the mask is what the source vouched for, cut to basic stats + btime', async (t) => {
  const sx = newStatx();
  sx[Sx.mask] = BigInt(L.STATX_BASIC_STATS | L.STATX_BTIME | 0x1000 /* MNT_ID: not carried */);
  sx[Sx.btime] = BigInt.asUintN(64, -5n);
  sx[Sx.btimensec] = 6n;
  sx[Sx.attributes] = 0x2000n | 0x10n; // MOUNT_ROOT (of the source's path) and IMMUTABLE (of the file)
  sx[Sx.attributesMask] = 0x2000n | 0x10n | 0x20n;
  sx[Sx.rdevMajor] = 1n;
  sx[Sx.rdevMinor] = 3n;
  const all = toStatx(sx, ATTR);
  t.equal(all.mask, 0xfff, 'MNT_ID dropped: fuse_statx has no room for it');
  t.same([all.ino, all.size, all.blocks, all.mode, all.nlink, all.uid, all.gid], [77n, 5n, 8n, 0o100640, 2, 3, 4]);
  t.same([all.atime, all.mtime, all.ctime, all.btime], [t0(10n, 1), t0(20n, 2), t0(30n, 3), t0(-5n, 6)]);
  t.same([all.attributes, all.attributesMask], [0x10n, 0x30n], 'file attributes pass, MOUNT_ROOT does not');
  t.same([all.rdevMajor, all.rdevMinor, all.devMajor, all.devMinor], [1, 3, 0, 0], 'rdev as major/minor; dev is the mount\'s');

  sx[Sx.mask] = BigInt(L.STATX_BASIC_STATS & ~(L.STATX_INO | L.STATX_ATIME | L.STATX_MODE));
  const some = toStatx(sx, ATTR);
  t.equal(some.mask & L.STATX_BTIME, 0, 'no btime from the source: none claimed (stat shows "-")');
  t.same(some.btime, t0(0n, 0), 'and none sent');
  t.equal(some.ino, 0n, 'a field without its bit goes as zero');
  t.same(some.atime, t0(0n, 0));
  t.equal(some.mode, 0o100000, 'type bits without permission bits');
});

const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'splicefs-statx-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
writeFileSync(join(dir, 'f'), 'hello');
mkdirSync(join(dir, 'd'));
symlinkSync('f', join(dir, 'l'));

t.test('addon.statx: the first 16 values are exactly what fstatat gives', async (t) => {
  for (const name of ['f', 'd', 'l']) {
    const sx = newStatx();
    const st = newStat();
    const flags = L.AT_SYMLINK_NOFOLLOW;
    t.equal(addon.statx(-100, join(dir, name), flags, L.STATX_BASIC_STATS | L.STATX_BTIME, sx), 0);
    t.equal(addon.fstatat(-100, join(dir, name), flags, st), 0);
    t.same(Array.from(statPart(sx)), Array.from(st), `${name}: dev, ino, mode, ..., times with ns`);
    t.ok(Number(sx[Sx.mask]) & L.STATX_BTIME, `${name}: tmpfs reports btime`);
  }
  t.equal(addon.statx(-100, join(dir, 'missing'), 0, 0, newStatx()), -osc.errno.ENOENT, '-errno, no throw');
  t.throws(() => addon.statx(-100, dir, 0, 0, new BigUint64Array(16)), 'an array too short is a programming error');
});

t.test('the STATX row: request bytes in, reply bytes out, ino as GETATTR reports it', async (t) => {
  const fs = new Passthrough({ source: dir, timeout: 2.5, directIo: false, replyRoom: 64 * 1024 });
  t.teardown(() => fs.closeAll());
  const ctx: OpContext = { fs, init: () => -osc.errno.ENOSYS, read: () => -osc.errno.ENOSYS, write: () => -osc.errno.ENOSYS };
  const row = buildOpTable(ctx)[K.Opcode.STATX];
  t.ok(row, 'STATX has a row');
  for (const name of ['f', 'd', 'l']) {
    const node = fs.inodes.lookup(fs.inodes.root, Buffer.from(name), fs.st);
    if (typeof node === 'number') throw new Error(`lookup ${name}: ${node}`);
    const ga = attrs.getattr(fs, { nodeid: node.nodeid, uid: 0, gid: 0, pid: 1 }, { getattrFlags: 0, fh: 0 });
    if (typeof ga === 'number') throw new Error(`getattr ${name}: ${ga}`);

    const req = Buffer.from(REQUEST);
    req.writeBigUInt64LE(BigInt(node.nodeid), 16);
    req.writeUInt32LE(0, 40 + 16); // sx_flags: the default sync
    const r = new Request();
    r.load(req, req.length);
    const rep = new Reply(4096);
    const end = row!.run(r, rep, { replyFd: -1, prior: 0 });
    t.equal(end, BODY + 288, `${name}: a full fuse_statx_out`);
    const at = BODY + K.fuse_statx_out.off.stat;
    const x = K.fuse_statx.off;
    const b = rep.buf;
    t.equal(b.readBigUInt64LE(BODY), 2n, 'attr_valid: 2 s');
    t.equal(b.readUInt32LE(BODY + 8), 500_000_000, 'attr_valid_nsec');
    t.equal(b.readBigUInt64LE(at + x.ino), ga.attr.ino, `${name}: ino = GETATTR's`);
    t.equal(b.readBigUInt64LE(at + x.size), ga.attr.size, `${name}: size`);
    t.equal(b.readUInt16LE(at + x.mode), ga.attr.mode, `${name}: mode`);
    t.equal(b.readUInt32LE(at + x.nlink), ga.attr.nlink, `${name}: nlink`);
    t.equal(b.readBigInt64LE(at + x.mtime), ga.attr.mtime, `${name}: mtime s`);
    t.equal(b.readUInt32LE(at + x.mtime + 8), ga.attr.mtimensec, `${name}: mtime ns`);
    const src = newStatx();
    addon.statx(-100, join(dir, name), L.AT_SYMLINK_NOFOLLOW, L.STATX_BTIME, src);
    t.equal(b.readBigInt64LE(at + x.btime), BigInt.asIntN(64, src[Sx.btime]), `${name}: btime s = the source's`);
    t.equal(b.readUInt32LE(at + x.btime + 8), Number(src[Sx.btimensec]), `${name}: btime ns = the source's`);
    t.equal(b.readUInt32LE(at + x.mask) & 0xfff, 0xfff, `${name}: basic stats and btime claimed`);
  }
  const r = new Request();
  const short = Buffer.from(REQUEST.subarray(0, 56));
  short.writeUInt32LE(56, 0);
  r.load(short, 56);
  t.equal(row!.run(r, new Reply(4096), { replyFd: -1, prior: 0 }), -osc.errno.EINVAL, 'a short body is EINVAL before the handler');
  r.load(REQUEST, REQUEST.length); // nodeid 5: not one we hold
  t.equal(row!.run(r, new Reply(4096), { replyFd: -1, prior: 0 }), -osc.errno.ESTALE, 'an unknown node is ESTALE');
});
