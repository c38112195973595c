// Requests built byte by byte for the unit tests: little-endian fields written by hand (never
// taken from src/kernel/abi.ts), the 40-byte fuse_in_header of /usr/include/linux/fuse.h, a
// loader into a reused buffer full of stale bytes (as the transport's is), and the
// "throws MalformedRequest" check. Shared by test/unit/request*.test.ts, optable and print.
//
// When run as a test file itself (tap runs every .ts under test/), it checks its own bytes.
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import type { OpcodeName } from '../../src/kernel/abi.js';
import { MalformedRequest, Request } from '../../src/kernel/request.js';
import type { Via } from '../../src/server/optable.js';

export function u16(v: number): Buffer {
  return Buffer.from([v & 0xff, (v >>> 8) & 0xff]);
}
export function u32(v: number): Buffer {
  return Buffer.from([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]);
}
/** Any 64-bit value, negative ones as their two's complement. */
export function u64(v: bigint | number): Buffer {
  let x = BigInt.asUintN(64, BigInt(v));
  const out = Buffer.alloc(8);
  for (let i = 0; i < 8; i++) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}
/** A NUL-terminated name. */
export function cstr(s: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from(s), Buffer.from([0])]);
}

export interface Hdr {
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
export function header(h: Hdr, bodyLength: number): Buffer {
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

/** The byte a reused transport buffer holds after earlier requests. */
export const STALE = 0xa5;
/** The reused buffer load() fills (tests check that views point into it). */
export const ioBuf = Buffer.alloc(64 * 1024, STALE);
/** The reused Request load() decodes into. */
export const req = new Request();
/**
 * Load header + body into one reused buffer (stale bytes after it) and decode its header. The
 * Request is reused too: decode it before the next load.
 */
export function load(h: Hdr, ...body: Buffer[]): Request {
  const b = Buffer.concat(body);
  const bytes = Buffer.concat([header(h, b.length), b]);
  ioBuf.fill(STALE);
  bytes.copy(ioBuf, 0);
  req.load(ioBuf, bytes.length);
  return req;
}

export function throwsMalformed(t: Test, fn: () => unknown, what: string): void {
  try {
    fn();
    t.fail(`${what}: did not throw`);
  } catch (err) {
    t.ok(err instanceof MalformedRequest, `${what}: MalformedRequest (${(err as Error).message})`);
  }
}

export const TWO53 = 2n ** 53n;
export const GARBAGE32 = u32(0xdeadbeef);

// ---- whole requests for the op table (test/unit/optable*.test.ts) -----------------------

/** The caller a request names (fuse_in_header uid, gid, pid). */
export interface Who {
  uid: number;
  gid: number;
  pid: number;
}
export const ROOT: Who = { uid: 0, gid: 0, pid: 1234 };
/** fuse_in_header (len, opcode, unique, nodeid, uid, gid, pid, total_extlen, padding) + body. */
export function bytesOf(opcode: number, nodeid: number, body: Buffer, unique = 42n, who: Who = ROOT): Buffer {
  return Buffer.concat([u32(40 + body.length), u32(opcode), u64(unique), u64(nodeid), u32(who.uid), u32(who.gid), u32(who.pid), Buffer.alloc(4), body]);
}
export function makeRequest(opcode: number, nodeid: number, body: Buffer, unique = 42n, who: Who = ROOT): Request {
  const r = new Request();
  const bytes = bytesOf(opcode, nodeid, body, unique, who);
  const buf = Buffer.alloc(bytes.length + 64, 0xa5); // stale bytes after the request
  bytes.copy(buf);
  r.load(buf, bytes.length);
  return r;
}
export const via = (): Via => ({ replyFd: 9, prior: 0 });


/** The opcodes of the operations that change the source (EROFS on a read-only mount). */
export const MODIFYING: OpcodeName[] = [
  'SETATTR', 'SYMLINK', 'MKNOD', 'MKDIR', 'UNLINK', 'RMDIR', 'RENAME', 'RENAME2', 'LINK', 'WRITE',
  'CREATE', 'TMPFILE', 'SETXATTR', 'REMOVEXATTR', 'FALLOCATE', 'COPY_FILE_RANGE', 'COPY_FILE_RANGE_64',
];

/** fuse_write_in: fh, offset, size, write_flags, lock_owner, flags, padding (then size bytes). */
export const writeIn = (fh: number, offset: bigint, size: number) => Buffer.concat([u64(fh), u64(offset), u32(size), u32(0), u64(0), u32(0o2), u32(0)]);
/** fuse_setattr_in: valid, padding, fh, size, lock_owner, atime, mtime, ctime, atimensec, mtimensec, ctimensec, mode, unused4, uid, gid, unused5. */
export function setattrIn(o: { valid: number; fh?: number; size?: bigint; atime?: bigint; mtime?: bigint; atimensec?: number; mtimensec?: number; mode?: number; uid?: number; gid?: number }): Buffer {
  return Buffer.concat([
    u32(o.valid), u32(0), u64(o.fh ?? 0), u64(o.size ?? 0n), u64(0), u64(BigInt.asUintN(64, o.atime ?? 0n)), u64(BigInt.asUintN(64, o.mtime ?? 0n)), u64(0),
    u32(o.atimensec ?? 0), u32(o.mtimensec ?? 0), u32(0), u32(o.mode ?? 0), u32(0), u32(o.uid ?? 0), u32(o.gid ?? 0), u32(0),
  ]);
}
/** fuse_create_in: flags, mode, umask, open_flags; then the name. */
export const createIn = (flags: number, mode: number, umask: number, name: string) => Buffer.concat([u32(flags), u32(mode), u32(umask), u32(0), cstr(name)]);
/** fuse_copy_file_range_in: fh_in, off_in, nodeid_out, fh_out, off_out, len, flags. */
export const copyIn = (fhIn: number, offIn: bigint, nodeidOut: number, fhOut: number, offOut: bigint, len: bigint) =>
  Buffer.concat([u64(fhIn), u64(offIn), u64(nodeidOut), u64(fhOut), u64(offOut), u64(len), u64(0)]);


// ---- self-test, when tap runs this file directly ---------------------------------------
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  t.test('little-endian fields and the header, by hand', async (t) => {
    t.same([...u32(0x01020304)], [4, 3, 2, 1]);
    t.same([...u64(-1n)], [255, 255, 255, 255, 255, 255, 255, 255], 'two\'s complement');
    t.same([...cstr('ab')], [0x61, 0x62, 0]);
    t.equal(header({ opcode: 1 }, 2).length, 40, 'fuse_in_header is 40 bytes');
    const r = load({ opcode: 1, nodeid: 7, unique: 9n }, cstr('x'));
    t.equal(r.opcode, 1);
    t.equal(r.nodeid, 7);
    t.equal(r.unique, 9n);
    t.equal(r.length, 42);
    throwsMalformed(t, () => r.u64(0), 'reading past the body');
    const m = makeRequest(9, 3, cstr('d'), 5n, { uid: 1000, gid: 100, pid: 77 });
    t.same([m.opcode, m.nodeid, m.unique, m.uid, m.gid, m.pid, m.bodyLength], [9, 3, 5n, 1000, 100, 77, 2], 'makeRequest: the header it was given');
    t.equal(writeIn(1, 0n, 5).length, 40, 'fuse_write_in is 40 bytes');
    t.equal(setattrIn({ valid: 0 }).length, 88, 'fuse_setattr_in is 88 bytes');
  });
}
