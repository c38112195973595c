// The op table's rows with the real handlers, no mount (src/server/optable.ts and
// src/passthrough/ops/): LOOKUP, GETATTR, FORGET and their errors against a temporary source
// directory; a read-only Passthrough (EROFS for every modifying operation, nothing changed); a
// read-write one (each modifying operation changes the source as it says, WRITE through
// datapath/write.ts), objects made as the caller. Requests are built byte by byte
// (test/helpers/fuse-bytes.ts). The routing with recording fakes: optable.test.ts.
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { Opcode, type OpcodeName } from '../../src/kernel/abi.js';
import { Reply } from '../../src/kernel/reply.js';
import { WritePath } from '../../src/datapath/write.js';
import { Passthrough } from '../../src/passthrough/fs.js';
import * as real from '../../src/server/optable.js';
import { copyIn, createIn, cstr, makeRequest, MODIFYING, ROOT, setattrIn, throwsMalformed, u32, u64, via, writeIn, type Who } from '../helpers/fuse-bytes.js';

const E = constants.errno;

// ---- the real handlers, no mount ---------------------------------------------------------------

t.test('real handlers: LOOKUP, GETATTR, FORGET, errors', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'splicefs-optable-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'f'), 'hello');
  mkdirSync(join(dir, 'd'));
  const rep = new Reply(256 * 1024);
  const fs = new Passthrough({ source: dir, timeout: 2.5, directIo: false, replyRoom: rep.room });
  t.teardown(() => fs.closeAll());
  const table = real.buildOpTable({ fs, init: () => -E.EIO, read: () => -E.EIO, write: () => -E.EIO });
  const run = (op: number, nodeid: number, body: Buffer) => table[op]!.run(makeRequest(op, nodeid, body), rep, via());

  let n = run(Opcode.LOOKUP, 1, cstr('f'));
  t.equal(n, 16 + 128, 'LOOKUP reply: header + fuse_entry_out');
  const nodeid = Number(rep.buf.readBigUInt64LE(16));
  t.ok(nodeid > 1, `a nodeid (${nodeid})`);
  t.equal(rep.buf.readBigUInt64LE(16 + 16), 2n, 'entry_valid 2 s');
  t.equal(rep.buf.readUInt32LE(16 + 32), 500_000_000, 'entry_valid_nsec 0.5 s');
  const st = lstatSync(join(dir, 'f'), { bigint: true });
  t.equal(rep.buf.readBigUInt64LE(16 + 40), st.ino, 'attr.ino is the source inode');
  t.equal(rep.buf.readBigUInt64LE(16 + 48), 5n, 'attr.size');
  t.equal(rep.buf.readUInt32LE(16 + 40 + 60), Number(st.mode), 'attr.mode');
  t.equal(fs.inodes.get(nodeid)?.nlookup, 1, 'lookup count 1');
  run(Opcode.LOOKUP, 1, cstr('f'));
  t.equal(fs.inodes.get(nodeid)?.nlookup, 2, 'a second LOOKUP: count 2, same node');
  t.equal(Number(rep.buf.readBigUInt64LE(16)), nodeid, 'the same nodeid');

  n = run(Opcode.GETATTR, nodeid, Buffer.alloc(16));
  t.equal(n, 16 + 104, 'GETATTR reply: header + fuse_attr_out');
  t.equal(rep.buf.readBigUInt64LE(16 + 16), st.ino, 'GETATTR attr.ino');
  t.equal(rep.buf.readBigUInt64LE(16), 2n, 'attr_valid 2 s');

  t.equal(run(Opcode.LOOKUP, 1, cstr('missing')), -E.ENOENT, 'LOOKUP of a missing name: ENOENT');
  t.equal(run(Opcode.LOOKUP, 1, cstr('x'.repeat(256))), -E.ENAMETOOLONG, 'a 256-byte name: ENAMETOOLONG');
  t.equal(run(Opcode.LOOKUP, 1, cstr('..')), -E.ENOENT, '.. of the root: ENOENT (never above the source)');
  t.equal(run(Opcode.GETATTR, 9999, Buffer.alloc(16)), -E.ESTALE, 'an unknown nodeid: ESTALE');
  t.notOk(fs.readOnly, 'a Passthrough is read-write unless told otherwise');

  // FORGET drops the node at zero.
  t.equal(run(Opcode.FORGET, nodeid, u64(2)), 0, 'FORGET: no reply');
  t.equal(fs.inodes.get(nodeid), undefined, 'the node is gone after its lookups are forgotten');
  t.ok(fs.inodes.get(1), 'the root stays');
  t.equal(run(Opcode.FORGET, 1, u64(100)), 0, 'FORGET of the root');
  t.ok(fs.inodes.get(1), 'the root is never forgotten');

  throwsMalformed(t, () => run(Opcode.LOOKUP, 1, Buffer.from('abc')), 'a name without NUL: MalformedRequest');
});

// ---- read-only and read-write, against a real source -------------------------------------------

/** A source with a file, a directory and a world-writable directory, and a Passthrough on it. */
function realSource(t: Test, readOnly: boolean | undefined) {
  const dir = mkdtempSync(join(tmpdir(), 'splicefs-optable-rw-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'f'), 'hello');
  mkdirSync(join(dir, 'd'));
  writeFileSync(join(dir, 'd', 'inner'), 'x');
  mkdirSync(join(dir, 'open'));
  chmodSync(join(dir, 'open'), 0o777);
  const rep = new Reply(256 * 1024);
  const fs = new Passthrough({ source: dir, timeout: 2.5, directIo: false, replyRoom: rep.room, ...(readOnly === undefined ? {} : { readOnly }) });
  t.teardown(() => fs.closeAll());
  const writePath = new WritePath('copy');
  const table = real.buildOpTable({ fs, init: () => -E.EIO, read: () => -E.EIO, write: (w) => writePath.write(w) });
  const run = (op: number, nodeid: number, body: Buffer, who: Who = ROOT) => table[op]!.run(makeRequest(op, nodeid, body, 42n, who), rep, via());
  /** LOOKUP of `name` in `parent`: its nodeid. */
  const lookup = (parent: number, name: string): number => {
    const n = run(Opcode.LOOKUP, parent, cstr(name));
    if (n !== 16 + 128) throw new Error(`LOOKUP ${name}: ${n}`);
    return Number(rep.buf.readBigUInt64LE(16));
  };
  return { dir, fs, rep, run, lookup, writePath };
}

/** A tree as names and contents, to show that nothing changed. */
function snapshot(dir: string): string {
  const out: string[] = [];
  const walk = (p: string, rel: string) => {
    for (const name of readdirSync(p).sort()) {
      const st = lstatSync(join(p, name));
      out.push(`${rel}${name} ${st.mode.toString(8)} ${st.size} ${st.mtimeMs}`);
      if (st.isDirectory()) walk(join(p, name), `${rel}${name}/`);
    }
  };
  walk(dir, '');
  return out.join('\n');
}

t.test('real handlers, readOnly: EROFS for every modifying operation, OPEN O_RDWR and ACCESS W_OK; nothing changes', async (t) => {
  const { dir, fs, rep, run, lookup } = realSource(t, true);
  t.ok(fs.readOnly, 'readOnly: true');
  const f = lookup(1, 'f');
  const d = lookup(1, 'd');
  // An open (read-only) handle, so that handle-based operations name a real one.
  t.equal(run(Opcode.OPEN, f, Buffer.concat([u32(0), u32(0)])), 16 + 16, 'OPEN O_RDONLY: a handle');
  const fh = Number(rep.buf.readBigUInt64LE(16));
  t.equal(run(Opcode.OPEN, f, Buffer.concat([u32(2), u32(0)])), -E.EROFS, 'OPEN O_RDWR: EROFS');
  t.equal(run(Opcode.OPEN, f, Buffer.concat([u32(1), u32(0)])), -E.EROFS, 'OPEN O_WRONLY: EROFS');
  t.equal(run(Opcode.ACCESS, f, Buffer.concat([u32(2), u32(0)])), -E.EROFS, 'ACCESS W_OK: EROFS');
  t.equal(run(Opcode.ACCESS, f, Buffer.concat([u32(4), u32(0)])), 16, 'ACCESS R_OK: allowed');
  const before = snapshot(dir);
  const bodies: Partial<Record<OpcodeName, Buffer>> = {
    SETATTR: setattrIn({ valid: 0x8 | 0x1, size: 0n, mode: 0o600 }),
    SYMLINK: Buffer.concat([cstr('sl'), cstr('f')]),
    MKNOD: Buffer.concat([u32(0o10644), u32(0), u32(0), u32(0), cstr('fifo')]),
    MKDIR: Buffer.concat([u32(0o755), u32(0), cstr('nd')]),
    UNLINK: cstr('f'),
    RMDIR: cstr('open'),
    RENAME: Buffer.concat([u64(1), cstr('f'), cstr('g')]),
    RENAME2: Buffer.concat([u64(1), u32(0), u32(0), cstr('f'), cstr('g')]),
    LINK: Buffer.concat([u64(f), cstr('f2')]),
    WRITE: Buffer.concat([writeIn(fh, 0n, 3), Buffer.from('abc')]),
    CREATE: createIn(0o101, 0o100644, 0, 'new'),
    TMPFILE: createIn(0o2, 0o100600, 0, 'tmp'),
    SETXATTR: Buffer.concat([u32(1), u32(0), cstr('user.x'), Buffer.from('v')]),
    REMOVEXATTR: cstr('user.x'),
    FALLOCATE: Buffer.concat([u64(fh), u64(0), u64(4096), u32(0), u32(0)]),
    COPY_FILE_RANGE: copyIn(fh, 0n, f, fh, 5n, 5n),
    COPY_FILE_RANGE_64: copyIn(fh, 0n, f, fh, 5n, 5n),
  };
  for (const name of MODIFYING) {
    const node = ['SETATTR', 'SETXATTR', 'REMOVEXATTR', 'WRITE', 'FALLOCATE', 'COPY_FILE_RANGE', 'COPY_FILE_RANGE_64'].includes(name) ? f : 1;
    const body = bodies[name];
    t.ok(body, `${name}: a well-formed body to send`);
    if (body) t.equal(run(Opcode[name], node, body), -E.EROFS, `readOnly: ${name} -> EROFS`);
  }
  t.equal(run(Opcode.UNLINK, d, cstr('inner')), -E.EROFS, 'readOnly: UNLINK in a subdirectory -> EROFS');
  t.equal(snapshot(dir), before, 'the source is as it was');
  t.equal(readFileSync(join(dir, 'f'), 'utf8'), 'hello', 'f still says hello');
  // Not modifying: FSYNC of a read-only handle is fine.
  t.equal(run(Opcode.FSYNC, f, Buffer.concat([u64(fh), u32(0), u32(0)])), 16, 'FSYNC: allowed');
});

t.test('real handlers, read-write: each modifying operation changes the source as it says', async (t) => {
  const { dir, fs, rep, run, lookup, writePath } = realSource(t, undefined);
  t.notOk(fs.readOnly, 'no readOnly: read-write');
  const entryIno = () => rep.buf.readBigUInt64LE(16 + 40);
  const entryNode = () => Number(rep.buf.readBigUInt64LE(16));
  const f = lookup(1, 'f');

  // OPEN for writing and ACCESS W_OK are allowed.
  t.equal(run(Opcode.ACCESS, f, Buffer.concat([u32(2), u32(0)])), 16, 'ACCESS W_OK: allowed');
  t.equal(run(Opcode.OPEN, f, Buffer.concat([u32(2), u32(0)])), 16 + 16, 'OPEN O_RDWR: a handle');
  const ffh = Number(rep.buf.readBigUInt64LE(16));

  // MKDIR: the directory appears, with the caller's umask applied by the source (FUSE_DONT_MASK).
  t.equal(run(Opcode.MKDIR, 1, Buffer.concat([u32(0o777), u32(0o027), cstr('nd')])), 16 + 128, 'MKDIR: an entry reply');
  let st = lstatSync(join(dir, 'nd'), { bigint: true });
  t.ok(st.isDirectory(), 'MKDIR: the directory is in the source');
  t.equal(Number(st.mode) & 0o7777, 0o750, 'MKDIR: mode 0777 less umask 027');
  t.equal(entryIno(), st.ino, 'MKDIR: the entry is the new directory (attr.ino)');
  const nd = entryNode();
  t.equal(fs.inodes.get(nd)?.nlookup, 1, 'MKDIR: the new node has one lookup, as after LOOKUP');
  t.equal(run(Opcode.MKDIR, 1, Buffer.concat([u32(0o755), u32(0), cstr('nd')])), -E.EEXIST, 'MKDIR of an existing name: EEXIST');
  t.equal(run(Opcode.MKDIR, 1, Buffer.concat([u32(0o755), u32(0), cstr('x'.repeat(256))])), -E.ENAMETOOLONG, 'MKDIR of a 256-byte name: ENAMETOOLONG');

  // CREATE, then WRITE through datapath/write.ts, then what the source holds.
  // O_RDWR | O_CREAT | O_EXCL: the handle is read later too (the source of COPY_FILE_RANGE).
  t.equal(run(Opcode.CREATE, nd, createIn(0o2 | 0o100 | 0o200, 0o100666, 0o022, 'c.txt')), 16 + 128 + 16, 'CREATE: entry + open reply');
  st = lstatSync(join(dir, 'nd', 'c.txt'), { bigint: true });
  t.ok(st.isFile(), 'CREATE: the file is in the source');
  t.equal(Number(st.mode) & 0o7777, 0o644, 'CREATE: mode 0666 less umask 022');
  t.equal(entryIno(), st.ino, 'CREATE: the entry is the new file');
  const cfh = Number(rep.buf.readBigUInt64LE(16 + 128));
  t.ok(fs.files.get(cfh), 'CREATE: its fh names an open handle');
  t.equal(run(Opcode.CREATE, nd, createIn(0o1 | 0o100 | 0o200, 0o100644, 0, 'c.txt')), -E.EEXIST, 'CREATE O_EXCL of an existing name: EEXIST');
  const text = Buffer.from('hello world');
  t.equal(run(Opcode.WRITE, nd, Buffer.concat([writeIn(cfh, 0n, text.length), text])), 16 + 8, 'WRITE: a fuse_write_out reply');
  t.equal(rep.buf.readUInt32LE(16), 11, 'WRITE: 11 bytes written');
  t.equal(readFileSync(join(dir, 'nd', 'c.txt'), 'utf8'), 'hello world', 'WRITE: the bytes are in the source');
  t.equal(run(Opcode.WRITE, nd, Buffer.concat([writeIn(cfh, 6n, 5), Buffer.from('WORLD')])), 16 + 8, 'WRITE at offset 6');
  t.equal(readFileSync(join(dir, 'nd', 'c.txt'), 'utf8'), 'hello WORLD', 'WRITE: the range at its offset');
  t.equal(run(Opcode.WRITE, nd, Buffer.concat([writeIn(cfh, 20n, 1), Buffer.from('!')])), 16 + 8, 'WRITE past the end');
  t.equal(readFileSync(join(dir, 'nd', 'c.txt')).toString('hex'), Buffer.from('hello WORLD').toString('hex') + '00'.repeat(9) + '21', 'WRITE past the end: a hole of zeros before it');
  t.strictSame([writePath.counts.copyReplies, writePath.counts.copyBytes], [3, 17], 'the write path counted 3 WRITEs, 17 bytes');
  t.equal(run(Opcode.WRITE, nd, Buffer.concat([writeIn(999, 0n, 1), Buffer.from('x')])), -E.EBADF, 'WRITE to an unknown fh: EBADF');
  t.equal(run(Opcode.FSYNC, nd, Buffer.concat([u64(cfh), u32(1), u32(0)])), 16, 'FSYNC (fdatasync) of the handle');
  t.equal(run(Opcode.FSYNC, nd, Buffer.concat([u64(999), u32(0), u32(0)])), -E.EBADF, 'FSYNC of an unknown fh: EBADF');

  // FALLOCATE and COPY_FILE_RANGE between handles.
  t.equal(run(Opcode.FALLOCATE, nd, Buffer.concat([u64(cfh), u64(0), u64(8192), u32(0), u32(0)])), 16, 'FALLOCATE 8 KiB');
  t.equal(lstatSync(join(dir, 'nd', 'c.txt')).size, 8192, 'FALLOCATE: the size grew to 8192');
  t.equal(run(Opcode.FALLOCATE, nd, Buffer.concat([u64(999), u64(0), u64(1), u32(0), u32(0)])), -E.EBADF, 'FALLOCATE of an unknown fh: EBADF');
  t.equal(run(Opcode.COPY_FILE_RANGE, nd, copyIn(cfh, 0n, f, ffh, 1n, 5n)), 16 + 8, 'COPY_FILE_RANGE: a fuse_write_out reply');
  t.equal(rep.buf.readUInt32LE(16), 5, 'COPY_FILE_RANGE: 5 bytes copied');
  t.equal(readFileSync(join(dir, 'f'), 'utf8'), 'hhello', 'COPY_FILE_RANGE: "hello" at offset 1 of f');
  t.equal(run(Opcode.COPY_FILE_RANGE, nd, copyIn(cfh, 0n, f, 999, 0n, 5n)), -E.EBADF, 'COPY_FILE_RANGE to an unknown fh: EBADF');

  // SETATTR: size, mode, times (signed seconds, nanoseconds), through the node or the handle.
  t.equal(run(Opcode.SETATTR, f, setattrIn({ valid: 0x8, size: 2n })), 16 + 104, 'SETATTR size: a fuse_attr_out reply');
  t.equal(readFileSync(join(dir, 'f'), 'utf8'), 'hh', 'SETATTR size 2: truncated');
  t.equal(rep.buf.readBigUInt64LE(16 + 16 + 8), 2n, 'SETATTR: the reply has the new size');
  t.equal(run(Opcode.SETATTR, f, setattrIn({ valid: 0x8 | 0x40, fh: ffh, size: 1n })), 16 + 104, 'SETATTR size through the handle (FATTR_FH)');
  t.equal(lstatSync(join(dir, 'f')).size, 1, 'SETATTR through the handle: size 1');
  t.equal(run(Opcode.SETATTR, f, setattrIn({ valid: 0x1, mode: 0o100604 })), 16 + 104, 'SETATTR mode');
  t.equal(lstatSync(join(dir, 'f')).mode & 0o7777, 0o604, 'SETATTR mode: 0604 in the source');
  t.equal(rep.buf.readUInt32LE(16 + 16 + 60), 0o100604, 'SETATTR: the reply has the new mode');
  t.equal(run(Opcode.SETATTR, f, setattrIn({ valid: 0x10 | 0x20, atime: -100n, atimensec: 7, mtime: 2n ** 32n + 1n, mtimensec: 999_999_999 })), 16 + 104, 'SETATTR atime and mtime');
  st = lstatSync(join(dir, 'f'), { bigint: true });
  t.equal(st.atimeNs, -100n * 1_000_000_000n + 7n, 'SETATTR: atime -100 s + 7 ns (before the epoch: signed)');
  t.equal(st.mtimeNs, (2n ** 32n + 1n) * 1_000_000_000n + 999_999_999n, 'SETATTR: mtime 2^32 + 1 s + 999999999 ns (past 2038)');
  t.equal(rep.buf.readBigInt64LE(16 + 16 + 24), -100n, 'SETATTR: the reply has the new atime');
  t.equal(run(Opcode.SETATTR, f, setattrIn({ valid: 0x20 | 0x100 })), 16 + 104, 'SETATTR mtime now (FATTR_MTIME_NOW)');
  t.ok(Math.abs(lstatSync(join(dir, 'f')).mtimeMs - Date.now()) < 60_000, 'SETATTR mtime now: the current time');
  t.equal(lstatSync(join(dir, 'f'), { bigint: true }).atimeNs, -100n * 1_000_000_000n + 7n, 'SETATTR mtime only: atime left alone');
  t.equal(run(Opcode.SETATTR, f, setattrIn({ valid: 0x2 | 0x4, uid: 1234, gid: 5678 })), 16 + 104, 'SETATTR uid and gid');
  t.strictSame([lstatSync(join(dir, 'f')).uid, lstatSync(join(dir, 'f')).gid], [1234, 5678], 'SETATTR: owner 1234:5678');
  t.equal(run(Opcode.SETATTR, 9999, setattrIn({ valid: 0x1, mode: 0o644 })), -E.ESTALE, 'SETATTR of an unknown node: ESTALE');

  // SYMLINK, LINK, MKNOD.
  t.equal(run(Opcode.SYMLINK, nd, Buffer.concat([cstr('sl'), cstr('../f')])), 16 + 128, 'SYMLINK: an entry reply');
  t.equal(readlinkSync(join(dir, 'nd', 'sl')), '../f', 'SYMLINK: the target as given');
  t.equal(entryIno(), lstatSync(join(dir, 'nd', 'sl'), { bigint: true }).ino, 'SYMLINK: the entry is the link itself');
  t.equal(run(Opcode.LINK, nd, Buffer.concat([u64(f), cstr('f2')])), 16 + 128, 'LINK: an entry reply');
  t.equal(entryNode(), f, 'LINK: the same node (hard links share one)');
  t.equal(lstatSync(join(dir, 'nd', 'f2')).ino, lstatSync(join(dir, 'f')).ino, 'LINK: the same inode in the source');
  t.equal(lstatSync(join(dir, 'f')).nlink, 2, 'LINK: nlink 2');
  t.equal(run(Opcode.MKNOD, nd, Buffer.concat([u32(0o10640), u32(0), u32(0), u32(0), cstr('fifo')])), 16 + 128, 'MKNOD a FIFO');
  t.ok(lstatSync(join(dir, 'nd', 'fifo')).isFIFO(), 'MKNOD: a FIFO in the source');

  // RENAME, RENAME2 (NOREPLACE, EXCHANGE, WHITEOUT refused).
  t.equal(run(Opcode.RENAME, nd, Buffer.concat([u64(1), cstr('f2'), cstr('moved')])), 16, 'RENAME into another directory');
  t.ok(!existsSync(join(dir, 'nd', 'f2')) && existsSync(join(dir, 'moved')), 'RENAME: the old name is gone, the new one is there');
  t.equal(run(Opcode.RENAME2, 1, Buffer.concat([u64(1), u32(1), u32(0), cstr('moved'), cstr('f')])), -E.EEXIST, 'RENAME2 NOREPLACE onto an existing name: EEXIST');
  writeFileSync(join(dir, 'a'), 'A');
  writeFileSync(join(dir, 'b'), 'B');
  t.equal(run(Opcode.RENAME2, 1, Buffer.concat([u64(1), u32(2), u32(0), cstr('a'), cstr('b')])), 16, 'RENAME2 EXCHANGE');
  t.strictSame([readFileSync(join(dir, 'a'), 'utf8'), readFileSync(join(dir, 'b'), 'utf8')], ['B', 'A'], 'RENAME2 EXCHANGE: the two swapped');
  t.equal(run(Opcode.RENAME2, 1, Buffer.concat([u64(1), u32(4), u32(0), cstr('a'), cstr('c')])), -E.EINVAL, 'RENAME2 WHITEOUT: EINVAL');
  t.ok(existsSync(join(dir, 'a')), 'and nothing moved');

  // SETXATTR, GETXATTR, REMOVEXATTR.
  const value = Buffer.from([0x76, 0x00, 0x61, 0x6c]);
  t.equal(run(Opcode.SETXATTR, f, Buffer.concat([u32(value.length), u32(0), cstr('user.test'), value])), 16, 'SETXATTR user.test');
  t.equal(run(Opcode.GETXATTR, f, Buffer.concat([u32(100), u32(0), cstr('user.test')])), 16 + 4, 'GETXATTR: 4 bytes');
  t.equal(rep.buf.subarray(16, 20).toString('hex'), '7600616c', 'the value as set, NUL included');
  t.equal(run(Opcode.SETXATTR, f, Buffer.concat([u32(1), u32(1), cstr('user.test'), Buffer.from('z')])), -E.EEXIST, 'SETXATTR XATTR_CREATE of an existing name: EEXIST');
  t.equal(run(Opcode.SETXATTR, f, Buffer.concat([u32(1), u32(2), cstr('user.none'), Buffer.from('z')])), -E.ENODATA, 'SETXATTR XATTR_REPLACE of a missing name: ENODATA');
  t.equal(run(Opcode.REMOVEXATTR, f, cstr('user.test')), 16, 'REMOVEXATTR');
  t.equal(run(Opcode.GETXATTR, f, Buffer.concat([u32(100), u32(0), cstr('user.test')])), -E.ENODATA, 'GETXATTR after REMOVEXATTR: ENODATA');

  // UNLINK and RMDIR.
  t.equal(run(Opcode.UNLINK, 1, cstr('moved')), 16, 'UNLINK');
  t.notOk(existsSync(join(dir, 'moved')), 'UNLINK: the file is gone from the source');
  t.equal(run(Opcode.UNLINK, 1, cstr('moved')), -E.ENOENT, 'UNLINK of a missing name: ENOENT');
  t.equal(run(Opcode.RMDIR, 1, cstr('f')), -E.ENOTDIR, 'RMDIR of a file: ENOTDIR');
  t.equal(run(Opcode.RMDIR, 1, cstr('d')), -E.ENOTEMPTY, 'RMDIR of a non-empty directory: ENOTEMPTY');
  t.equal(run(Opcode.UNLINK, lookup(1, 'd'), cstr('inner')), 16, 'UNLINK in a subdirectory');
  t.equal(run(Opcode.RMDIR, 1, cstr('d')), 16, 'RMDIR');
  t.notOk(existsSync(join(dir, 'd')), 'RMDIR: the directory is gone from the source');

  // TMPFILE: an unnamed file, written through its handle, then given a name by LINK.
  t.equal(run(Opcode.TMPFILE, nd, createIn(0o2, 0o100640, 0o022, 'tmp')), 16 + 128 + 16, 'TMPFILE: entry + open reply');
  const tnode = entryNode();
  const tfh = Number(rep.buf.readBigUInt64LE(16 + 128));
  t.equal(run(Opcode.WRITE, tnode, Buffer.concat([writeIn(tfh, 0n, 3), Buffer.from('tmp')])), 16 + 8, 'WRITE to the unnamed file');
  t.equal(run(Opcode.LINK, nd, Buffer.concat([u64(tnode), cstr('named')])), 16 + 128, 'LINK of the unnamed file');
  t.equal(readFileSync(join(dir, 'nd', 'named'), 'utf8'), 'tmp', 'TMPFILE + LINK: the file has a name and its bytes');
  t.equal(lstatSync(join(dir, 'nd', 'named')).mode & 0o7777, 0o640, 'TMPFILE: mode 0640 (umask 022 takes nothing more)');

  // FSYNCDIR through a directory handle.
  t.equal(run(Opcode.OPENDIR, nd, Buffer.concat([u32(0), u32(0)])), 16 + 16, 'OPENDIR');
  const dfh = Number(rep.buf.readBigUInt64LE(16));
  t.equal(run(Opcode.FSYNCDIR, nd, Buffer.concat([u64(dfh), u32(0), u32(0)])), 16, 'FSYNCDIR of the handle');
  t.equal(run(Opcode.FSYNCDIR, nd, Buffer.concat([u64(999), u32(0), u32(0)])), -E.EBADF, 'FSYNCDIR of an unknown fh: EBADF');
});

t.test('real handlers, read-write: objects are made as the caller', async (t) => {
  const { dir, run, lookup } = realSource(t, false);
  const open = lookup(1, 'open');
  const user: Who = { uid: 1000, gid: 1001, pid: process.pid };
  t.equal(run(Opcode.MKDIR, open, Buffer.concat([u32(0o755), u32(0o022), cstr('ud')]), user), 16 + 128, 'MKDIR as uid 1000 in a world-writable directory');
  let st = lstatSync(join(dir, 'open', 'ud'));
  t.strictSame([st.uid, st.gid], [1000, 1001], 'MKDIR: owned by the caller');
  t.equal(run(Opcode.CREATE, open, createIn(0o101, 0o100600, 0, 'uf'), user), 16 + 128 + 16, 'CREATE as uid 1000');
  st = lstatSync(join(dir, 'open', 'uf'));
  t.strictSame([st.uid, st.gid, st.mode & 0o7777], [1000, 1001, 0o600], 'CREATE: owned by the caller, mode 0600');
  t.equal(run(Opcode.SYMLINK, open, Buffer.concat([cstr('ul'), cstr('t')]), user), 16 + 128, 'SYMLINK as uid 1000');
  t.equal(lstatSync(join(dir, 'open', 'ul')).uid, 1000, 'SYMLINK: owned by the caller');
  // The source's own permission check is the caller's: the root directory is 0700, root's.
  t.equal(run(Opcode.MKDIR, 1, Buffer.concat([u32(0o755), u32(0), cstr('denied')]), user), -E.EACCES, 'MKDIR as uid 1000 in a directory only root may write: EACCES');
  t.notOk(existsSync(join(dir, 'denied')), 'and nothing was made');
  t.equal(run(Opcode.MKDIR, 1, Buffer.concat([u32(0o755), u32(0), cstr('mine')])), 16 + 128, 'the server\'s own credentials are back: MKDIR as root works');
  t.equal(lstatSync(join(dir, 'mine')).uid, 0, 'owned by root');
});
