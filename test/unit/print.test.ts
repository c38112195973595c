// Debug lines (src/server/print.ts) name things: the opcode by name, the node by its path (LOOKUP:
// the parent's path and the entry), offsets and sizes, open flags by name, errors by name
// (ENOENT, not -2), and what a worker thread answered. Requests are built byte by byte (the
// layouts of linux/fuse.h, written out here), replies read back from reply bytes.
import { constants as fsc } from 'node:fs';
import { constants } from 'node:os';
import t from 'tap';
import { addon } from '../../src/addon.js';
import { Request } from '../../src/kernel/request.js';
import { accessMaskNames, fopenFlagNames, openFlagNames, whenceName } from '../../src/server/flag-names.js';
import { failureName, readReplyLine, replyLine, requestLine, servedLines, type PathOf } from '../../src/server/print.js';
import { cstr, u32, u64 } from '../helpers/fuse-bytes.js';

const E = constants.errno;
const OP = { LOOKUP: 1, GETATTR: 3, OPEN: 14, READ: 15, GETXATTR: 22, INIT: 26, READDIR: 28, ACCESS: 34, LSEEK: 46, STATFS: 17 };


/** A request: fuse_in_header (len, opcode, unique, nodeid, uid, gid, pid, extlen, pad) + body. */
function request(opcode: number, nodeid: number, ...body: Buffer[]): Request {
  const b = Buffer.concat(body);
  const hdr = Buffer.concat([u32(40 + b.length), u32(opcode), u64(0x1234), u64(nodeid), u32(1000), u32(100), u32(4242), Buffer.alloc(4)]);
  const r = new Request();
  const buf = Buffer.concat([hdr, b]);
  r.load(buf, buf.length);
  return r;
}

/** fuse_read_in: fh, offset, size, read_flags, lock_owner, flags, padding. */
const readIn = (fh: number, offset: bigint, size: number) => Buffer.concat([u64(fh), u64(offset), u32(size), u32(0), u64(0), u32(0), u32(0)]);

const PATHS: Record<number, string> = { 1: '/', 2: '/dir', 3: '/dir/f.txt' };
const pathOf: PathOf = (id) => PATHS[id];

t.test('request lines: opcode by name, the node by path, the caller', async (t) => {
  const look = requestLine(request(OP.LOOKUP, 2, cstr('f.txt')), pathOf);
  t.match(look, { op: 'LOOKUP', unique: '4660', parent: '/dir', entry: 'f.txt', uid: 1000, callerPid: 4242 }, 'LOOKUP: parent path + entry');
  t.notOk('path' in look, 'LOOKUP: no path of its own (the parent is the nodeid)');
  t.equal(requestLine(request(OP.LOOKUP, 1, cstr(Buffer.from([0x61, 0xff]))), pathOf).entry, 'a\\xff', 'a name that is not UTF-8: \\xNN');
  t.equal(requestLine(request(OP.LOOKUP, 9, cstr('x')), pathOf).parent, 'nodeid 9', 'an unknown parent: its nodeid');

  t.match(requestLine(request(OP.GETATTR, 3, Buffer.alloc(16)), pathOf), { op: 'GETATTR', path: '/dir/f.txt' }, 'GETATTR: the path');
  const unknown = requestLine(request(OP.GETATTR, 77, Buffer.alloc(16)), pathOf);
  t.equal(unknown.nodeid, 77, 'a node without a known path: its nodeid instead');
  t.notOk('path' in unknown);
  t.match(requestLine(request(OP.STATFS, 1), pathOf), { op: 'STATFS', path: '/' }, 'the root is /');
  t.match(requestLine(request(99, 1), pathOf), { op: 'OP_99' }, 'an opcode without a name: OP_n');
  for (const k of ['name', 'pid', 'hostname', 'level', 'time', 'msg'])
    t.notOk(k in look, `no field named ${k}: pino writes that key itself`);
});

t.test('request lines: offsets, sizes, flags, masks by name', async (t) => {
  t.match(requestLine(request(OP.READ, 3, readIn(7, 65536n, 131072)), pathOf), { op: 'READ', path: '/dir/f.txt', fh: 7, offset: 65536, size: 131072 }, 'READ: fh, offset, size');
  t.equal(requestLine(request(OP.READ, 3, readIn(7, 2n ** 62n, 1)), pathOf).offset, String(2n ** 62n), 'an offset past 2^53: exact, as a string');
  t.match(requestLine(request(OP.READDIR, 2, readIn(2, 3n, 4096)), pathOf), { op: 'READDIR', path: '/dir', offset: 3, size: 4096 }, 'READDIR: offset, size');
  const open = requestLine(request(OP.OPEN, 3, u32(fsc.O_RDONLY | fsc.O_NONBLOCK), u32(0)), pathOf);
  t.match(open, { op: 'OPEN', path: '/dir/f.txt', flags: 'O_RDONLY|O_NONBLOCK' }, 'OPEN: flags by name');
  t.match(requestLine(request(OP.ACCESS, 3, u32(fsc.R_OK | fsc.X_OK), u32(0)), pathOf), { mask: 'R_OK|X_OK' }, 'ACCESS: mask by name');
  t.match(requestLine(request(OP.LSEEK, 3, u64(1), u64(10), u32(3), u32(0)), pathOf), { fh: 1, offset: 10, whence: 'SEEK_DATA' }, 'LSEEK: whence by name');
  t.match(requestLine(request(OP.GETXATTR, 3, u32(0), u32(0), cstr('user.x')), pathOf), { xattr: 'user.x', size: 0 }, 'GETXATTR: the attribute');
  t.match(requestLine(request(OP.INIT, 0, u32(7), u32(45), u32(0), u32(0)), pathOf), { op: 'INIT', protocol: '7.45' }, 'INIT: the kernel protocol');
  const short = requestLine(request(OP.READ, 3, Buffer.alloc(4)), pathOf);
  t.match(short, { op: 'READ', path: '/dir/f.txt' }, 'a body too short to decode: the line without its fields');
  t.notOk('offset' in short);
  const prior = -((addon.constants.stage.PIPE_TOO_SMALL << 12) | 0);
  t.equal(requestLine(request(OP.READ, 3, readIn(7, 0n, 1)), pathOf, prior).workerTried, 'PIPE_TOO_SMALL', 'a READ a worker handed over: what its plan ran into');
});

t.test('flag words by name, unknown bits kept', async (t) => {
  t.equal(openFlagNames(fsc.O_RDONLY), 'O_RDONLY');
  t.equal(openFlagNames(fsc.O_RDWR | fsc.O_APPEND), 'O_RDWR|O_APPEND');
  t.equal(openFlagNames(fsc.O_WRONLY | fsc.O_SYNC), 'O_WRONLY|O_SYNC', 'O_SYNC, not O_DSYNC plus a bit');
  t.equal(openFlagNames(fsc.O_RDONLY | 0x40000000), 'O_RDONLY|0x40000000', 'a bit without a name: hex');
  t.equal(fopenFlagNames(0), '0');
  t.equal(fopenFlagNames(1 | 2), 'FOPEN_DIRECT_IO|FOPEN_KEEP_CACHE');
  t.equal(accessMaskNames(0), 'F_OK');
  t.equal(whenceName(4), 'SEEK_HOLE');
  t.equal(whenceName(9), '9');
});

t.test('reply lines: errors by name, what the kernel keeps', async (t) => {
  const buf = Buffer.alloc(256);
  t.same(replyLine(OP.LOOKUP, 0x10n, -E.ENOENT, 16, buf), { op: 'LOOKUP', unique: '16', error: 'ENOENT' }, 'ENOENT, not -2');
  t.equal(replyLine(OP.GETATTR, 1n, -E.ENOSYS, 16, buf).error, 'ENOSYS');
  t.equal(replyLine(OP.GETATTR, 1n, -E.EROFS, 16, buf).error, 'EROFS');
  buf.writeBigUInt64LE(5n, 16); // fuse_entry_out.nodeid
  t.match(replyLine(OP.LOOKUP, 2n, 144, 144, buf), { op: 'LOOKUP', nodeid: 5, len: 144 }, 'LOOKUP: the nodeid given');
  buf.writeBigUInt64LE(3n, 16); // fuse_open_out.fh
  buf.writeUInt32LE(1, 24); // open_flags: FOPEN_DIRECT_IO
  t.match(replyLine(OP.OPEN, 3n, 32, 32, buf), { op: 'OPEN', fh: 3, fopen: 'FOPEN_DIRECT_IO', len: 32 }, 'OPEN: the handle and its FOPEN flags');
  t.same(replyLine(OP.GETATTR, 4n, 120, 120, buf), { op: 'GETATTR', unique: '4', len: 120 }, 'others: the length');
});

t.test('READ replies: by the event loop, by a worker thread', async (t) => {
  t.same(readReplyLine(9n, { bytes: 4096, how: 'splice', fallback: null, refused: 0 }), { op: 'READ', unique: '9', bytes: 4096, how: 'splice', by: 'loop' });
  t.match(readReplyLine(9n, { bytes: 10, how: 'copy', fallback: 'pipeTooSmall', refused: 0 }), { how: 'copy', fallback: 'pipeTooSmall' }, 'a copy standing in: why');
  t.match(readReplyLine(9n, { bytes: 0, how: 'copy', fallback: null, refused: E.ENOENT }), { refused: 'ENOENT' }, 'refused by the device (interrupted): by name');

  const served = { unique: 20n, nodeid: 3, fh: 1, offset: 8192n, size: 4096, result: 4096, path: 'copy' as const, thread: 1 };
  const [req, rep] = servedLines(served, pathOf);
  t.same(req, { op: 'READ', unique: '20', path: '/dir/f.txt', fh: 1, offset: 8192, size: 4096, by: 'worker', thread: 1 }, 'the request, as the worker read it');
  t.same(rep, { op: 'READ', unique: '20', bytes: 4096, how: 'copy', by: 'worker', thread: 1 }, 'the reply it sent');
  const device = -((addon.constants.stage.DEVICE << 12) | E.ENOENT);
  t.match(servedLines({ ...served, result: device }, pathOf)[1], { refused: 'ENOENT' }, 'a reply the device refused');
  t.equal(failureName(-((addon.constants.stage.FILE << 12) | E.EINVAL)), 'FILE EINVAL', 'a failure code: stage and errno by name');
});
