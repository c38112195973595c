// Requests of the operations that change the source: exact bytes in, typed values out, for
// every decoder of src/kernel/request-changes.ts, built byte by byte from the layouts in
// /usr/include/linux/fuse.h (offsets written out below, never taken from abi.ts), into a reused
// buffer full of stale bytes as the transport's is.
import t from 'tap';
import {
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
} from '../../src/kernel/request.js';
import { cstr, GARBAGE32, ioBuf, load, throwsMalformed, TWO53, u32, u64 } from '../helpers/fuse-bytes.js';

/** Opcodes, from enum fuse_opcode. */
const OP = {
  SETATTR: 4, SYMLINK: 6, MKNOD: 8, MKDIR: 9, UNLINK: 10, RMDIR: 11, RENAME: 12, LINK: 13, WRITE: 16, SETXATTR: 21,
  REMOVEXATTR: 24, CREATE: 35, FALLOCATE: 43, RENAME2: 45, COPY_FILE_RANGE: 47, TMPFILE: 51,
};

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
