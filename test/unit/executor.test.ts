// The one READ executor (addon/reply.cc ExecuteRead) driven without a mount: the "device" is the
// write end of a FIFO, which splice and write accept as /dev/fuse would, and what the executor
// sent is read back from the other end and compared byte for byte (header len, error 0, unique,
// then the data). The backing files live on tmpfs (/dev/shm) when there is one, so that data
// can sit at offsets past 2^53, where a double would round the offset.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { constants as fsc } from 'node:fs';
import { constants as osc, tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { addon, countersByName, decodeFailure, type PlanArray, type ReadCounters, type ReadExecutor } from '../../src/addon.js';

const K = addon.constants;
const AT_FDCWD = -100;
const SEEK_SET = 0;
const P = 4096;
const { EAGAIN, ENOENT } = osc.errno;

const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'splicefs-executor-'));
const fds: number[] = [];
t.teardown(() => {
  for (const fd of fds) addon.close(fd);
  rmSync(dir, { recursive: true, force: true });
});

function open(path: string, flags: number, mode = 0o600): number {
  const fd = addon.openat(AT_FDCWD, path, flags, mode);
  if (fd < 0) throw new Error(`openat ${path}: ${fd}`);
  fds.push(fd);
  return fd;
}

/** A FIFO standing in for /dev/fuse: [read end, write end], both non-blocking. */
function device(name: string): { rfd: number; wfd: number } {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  const rfd = open(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
  const wfd = open(path, fsc.O_WRONLY | fsc.O_NONBLOCK);
  return { rfd, wfd };
}

/** Everything the executor has sent so far. */
function drain(rfd: number): Buffer {
  const parts: Buffer[] = [];
  const buf = Buffer.alloc(256 * 1024);
  for (;;) {
    const n = addon.read(rfd, buf);
    if (n === -EAGAIN) break;
    if (n <= 0) throw new Error(`read from the device FIFO: ${n}`);
    parts.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(parts);
}

/** The bytes of a READ reply as /dev/fuse must receive them. */
function reply(unique: bigint, data: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32LE(16 + data.length, 0);
  h.writeInt32LE(0, 4);
  h.writeBigUInt64LE(unique, 8);
  return Buffer.concat([h, data]);
}

type PlanFields = { fd: number; path?: number; header?: number; spliceMin?: number; maxSize?: number; countAs?: number };

/** A plan array laid out by constants.planFields (never by a hand-written order). */
function plan(fields: PlanFields): PlanArray {
  const values: Record<string, number> = { path: K.readPath.SPLICE, header: K.header.PATCH, spliceMin: 0, maxSize: 1 << 20, countAs: K.countAs.NONE, ...fields };
  const a = new Int32Array(K.planFields.length);
  for (const name of Object.keys(values)) {
    const i = K.planFields.indexOf(name);
    if (i < 0) throw new Error(`no plan field ${name}`);
    a[i] = values[name] as number;
  }
  return a;
}

function counters(c: ReadCounters): Record<string, number> {
  const out = new Float64Array(K.readCounters.length);
  c.snapshot(out);
  return countersByName(K.readCounters, out);
}

/** Counter deltas of `fn`, only the ones that moved. */
function moved(c: ReadCounters, fn: () => void): Record<string, number> {
  const before = counters(c);
  fn();
  const after = counters(c);
  const d: Record<string, number> = {};
  for (const k of K.readCounters) if (after[k] !== before[k]) d[k] = (after[k] ?? 0) - (before[k] ?? 0);
  return d;
}

const data = randomBytes(64 * 1024 + 123);
const file = join(dir, 'data');
writeFileSync(file, data);
const filefd = open(file, fsc.O_RDONLY);
const aliases = addon.probeVmspliceAlias() === 1;

/** One READ through `ex`, what reached the device, the result and the counter deltas. */
function run(ex: ReadExecutor, c: ReadCounters, dev: { rfd: number; wfd: number }, p: PlanArray, unique: bigint, offset: bigint, size: number) {
  let r = 0;
  const delta = moved(c, () => (r = ex.read(dev.wfd, unique, p, offset, size)));
  return { r, sent: drain(dev.rfd), delta };
}

t.test('constants come from the addon and are frozen', async (t) => {
  t.same(K.planFields, ['fd', 'path', 'header', 'spliceMin', 'maxSize', 'countAs', 'write', 'flush']);
  t.same(K.readPath, { SPLICE: 0, COPY: 1 });
  t.same(K.header, { PATCH: 0, WRITE: 1 });
  t.same(K.countAs, { NONE: 0, NO_SPLICE: 1 });
  t.same(K.stage, { FILE: 1, DEVICE: 2, SHORT: 3, PIPE_FULL: 4, HEADER: 5, PIPE: 6, PIPE_TOO_SMALL: 7 });
  t.same(K.readCounters, [
    'spliceReplies', 'spliceBytes', 'copyReplies', 'copyBytes', 'smallCopies', 'noSpliceCopies', 'interrupted',
    'writeCopyReplies', 'writeCopyBytes', 'writeErrorReplies', 'writeSpliceReplies', 'writeSpliceBytes', 'writeSpliceFallbacks',
    'fsyncReplies', 'fallocateReplies', 'flushReplies', 'capabilityGetxattrReplies', 'writeStreams', 'writeStreamEnds',
  ]);
  t.same(K.workerCounters, ['forwarded', 'spinHits', 'spinMisses', 'answered', 'jobs']);
  t.ok(Object.isFrozen(K) && Object.isFrozen(K.stage) && Object.isFrozen(K.readCounters), 'frozen');
});

t.test('each path sends header + data exactly, counted by name', async (t) => {
  const c = new addon.ReadCounters();
  const ex = new addon.ReadExecutor(c, 16 * P, 1 << 20);
  t.teardown(() => ex.close());
  const dev = device('paths');
  t.equal(ex.pipeBytes, 16 * P, 'pipe of 16 pages');
  t.equal(ex.sizeError, 0);
  const off = 100;
  const size = 3 * P + 7; // unaligned: 5 slots with the header
  const want = reply(7n, data.subarray(off, off + size));
  const cases: Array<[string, PlanArray, Record<string, number>]> = [
    ['splice/write', plan({ fd: filefd, header: K.header.WRITE }), { spliceReplies: 1, spliceBytes: size }],
    ['copy', plan({ fd: filefd, path: K.readPath.COPY }), { copyReplies: 1, copyBytes: size }],
  ];
  if (aliases) cases.unshift(['splice/patch', plan({ fd: filefd }), { spliceReplies: 1, spliceBytes: size }]);
  else t.comment('vmsplice copies on this kernel: no splice/patch case');
  for (const [name, p, delta] of cases) {
    const got = run(ex, c, dev, p, 7n, BigInt(off), size);
    t.equal(got.r, size, `${name}: data bytes sent`);
    t.ok(got.sent.equals(want), `${name}: exact header + data (${got.sent.length} bytes)`);
    t.same(got.delta, delta, `${name}: counters`);
  }
});

t.test('small reads of a splice plan go by copy (smallCopies); maxSize cuts a READ', async (t) => {
  const c = new addon.ReadCounters();
  const ex = new addon.ReadExecutor(c, 16 * P, 1 << 20);
  t.teardown(() => ex.close());
  const dev = device('small');
  const small = run(ex, c, dev, plan({ fd: filefd, spliceMin: P }), 1n, 10n, P - 1);
  t.equal(small.r, P - 1);
  t.ok(small.sent.equals(reply(1n, data.subarray(10, 10 + P - 1))), 'small: exact');
  t.same(small.delta, { copyReplies: 1, copyBytes: P - 1, smallCopies: 1 }, 'small: a copy, counted as small');
  const atMin = run(ex, c, dev, plan({ fd: filefd, spliceMin: P, header: K.header.WRITE }), 2n, 0n, P);
  t.same(atMin.delta, { spliceReplies: 1, spliceBytes: P }, 'exactly spliceMin: spliced');

  for (const [name, p] of [
    ['splice', plan({ fd: filefd, header: K.header.WRITE, maxSize: 5000 })],
    ['copy', plan({ fd: filefd, path: K.readPath.COPY, maxSize: 5000 })],
  ] as const) {
    const got = run(ex, c, dev, p, 3n, 0n, 9000);
    t.equal(got.r, 5000, `${name}: cut to maxSize`);
    t.ok(got.sent.equals(reply(3n, data.subarray(0, 5000))), `${name}: header says 5000 + 16`);
  }
});

t.test('EOF: the header announces what the file holds', async (t) => {
  const c = new addon.ReadCounters();
  const ex = new addon.ReadExecutor(c, 16 * P, 1 << 20);
  t.teardown(() => ex.close());
  const dev = device('eof');
  const plans: Array<[string, PlanArray]> = [
    ['splice/write', plan({ fd: filefd, header: K.header.WRITE })],
    ['copy', plan({ fd: filefd, path: K.readPath.COPY })],
  ];
  if (aliases) plans.unshift(['splice/patch', plan({ fd: filefd })]);
  for (const [name, p] of plans) {
    const short = run(ex, c, dev, p, 9n, BigInt(data.length - 300), 2 * P);
    t.equal(short.r, 300, `${name}: short read`);
    t.ok(short.sent.equals(reply(9n, data.subarray(data.length - 300))), `${name}: header len 316, then 300 bytes`);
    const past = run(ex, c, dev, p, 10n, BigInt(data.length + P), P);
    t.equal(past.r, 0, `${name}: past EOF`);
    t.ok(past.sent.equals(reply(10n, Buffer.alloc(0))), `${name}: a bare header`);
  }
});

t.test('a reply that needs more pipe slots than the pipe has is not attempted', async (t) => {
  const c = new addon.ReadCounters();
  const ex = new addon.ReadExecutor(c, 2 * P, 1 << 20);
  t.teardown(() => ex.close());
  const dev = device('tiny');
  t.equal(ex.pipeBytes, 2 * P, 'two slots');
  const fits = run(ex, c, dev, plan({ fd: filefd, header: K.header.WRITE }), 4n, 0n, P);
  t.equal(fits.r, P, 'header + one aligned page fit');
  t.ok(fits.sent.equals(reply(4n, data.subarray(0, P))));
  for (const [off, size] of [[1, P], [0, P + 1]] as const) {
    const no = run(ex, c, dev, plan({ fd: filefd }), 5n, BigInt(off), size);
    t.same(decodeFailure(no.r), { stage: K.stage.PIPE_TOO_SMALL, errno: 0 }, `offset ${off} size ${size}: PIPE_TOO_SMALL`);
    t.equal(no.sent.length, 0, 'nothing reached the device');
    t.same(no.delta, {}, 'nothing counted');
  }
  const again = run(ex, c, dev, plan({ fd: filefd, header: K.header.WRITE }), 6n, BigInt(P), P);
  t.ok(again.sent.equals(reply(6n, data.subarray(P, 2 * P))), 'the pipe still serves what fits');

  const copyOnly = new addon.ReadExecutor(c, 0, 1 << 20);
  t.teardown(() => copyOnly.close());
  t.equal(copyOnly.pipeBytes, 0, 'pipeBytes 0: no pipe');
  const none = run(copyOnly, c, dev, plan({ fd: filefd }), 7n, 0n, P);
  t.same(decodeFailure(none.r), { stage: K.stage.PIPE_TOO_SMALL, errno: 0 }, 'a splice plan on a copy-only executor');
  const copied = run(copyOnly, c, dev, plan({ fd: filefd, path: K.readPath.COPY }), 8n, 0n, P);
  t.ok(copied.sent.equals(reply(8n, data.subarray(0, P))), 'copy-only: copies');
});

t.test('a copy plan standing in for splice is counted as noSpliceCopies', async (t) => {
  const c = new addon.ReadCounters();
  const ex = new addon.ReadExecutor(c, 16 * P, 1 << 20);
  t.teardown(() => ex.close());
  const dev = device('nosplice');
  const got = run(ex, c, dev, plan({ fd: filefd, path: K.readPath.COPY, countAs: K.countAs.NO_SPLICE }), 11n, 0n, 2 * P);
  t.ok(got.sent.equals(reply(11n, data.subarray(0, 2 * P))));
  t.same(got.delta, { copyReplies: 1, copyBytes: 2 * P, noSpliceCopies: 1 });
});

t.test('unique and offset past 2^53 arrive exactly', async (t) => {
  // Data at 2^53 in a sparse file: a read at 2^53 + 1 that a double had rounded to 2^53 (or
  // 2^53 + 2) would return other bytes.
  const big = 2n ** 53n;
  const path = join(dir, 'sparse');
  const fd = open(path, fsc.O_RDWR | fsc.O_CREAT);
  const pos = new BigInt64Array(1);
  const marker = randomBytes(2 * P);
  const sought = addon.lseek(fd, big, SEEK_SET, pos);
  if (sought < 0 || addon.write(fd, marker, marker.length) !== marker.length) {
    t.pass(`skipped: this filesystem (${dir}) cannot hold data at 2^53 (lseek ${sought})`, { skip: true });
    return;
  }
  t.equal(pos[0], big, 'lseek reports 2^53 exactly');
  t.equal(addon.lseek(fd, big + 1n, SEEK_SET, pos), 0);
  t.equal(pos[0], big + 1n, 'lseek to 2^53 + 1 (not a double)');
  const st = new BigUint64Array(16);
  t.equal(addon.fstatat(fd, '', 0x1000 /* AT_EMPTY_PATH */, st), 0);
  t.equal(st[7], big + BigInt(marker.length), 'st_size exact');

  const c = new addon.ReadCounters();
  const ex = new addon.ReadExecutor(c, 16 * P, 1 << 20);
  t.teardown(() => ex.close());
  const dev = device('big');
  const unique = 2n ** 63n + 2n ** 53n + 1n;
  const plans: Array<[string, PlanArray]> = [
    ['splice/write', plan({ fd, header: K.header.WRITE })],
    ['copy', plan({ fd, path: K.readPath.COPY })],
  ];
  if (aliases) plans.unshift(['splice/patch', plan({ fd })]);
  for (const [name, p] of plans) {
    const got = run(ex, c, dev, p, unique, big + 1n, 100);
    t.ok(got.sent.equals(reply(unique, marker.subarray(1, 101))), `${name}: unique and data at 2^53 + 1 exact`);
  }
  t.throws(() => ex.read(dev.wfd, 7 as unknown as bigint, plan({ fd }), 0n, 1), TypeError, 'unique as a number: refused');
  t.throws(() => ex.read(dev.wfd, 2n ** 64n, plan({ fd }), 0n, 1), RangeError, 'unique past 64 bits');
  t.throws(() => ex.read(dev.wfd, 1n, plan({ fd }), 2n ** 63n, 1), RangeError, 'offset past loff_t');
});

t.test('a refused reply is taken back from the counters and counted as interrupted', async (t) => {
  const c = new addon.ReadCounters();
  const ex = new addon.ReadExecutor(c, 16 * P, 1 << 20);
  t.teardown(() => ex.close());
  t.teardown(() => void addon.injectFault('device', ENOENT, 0));
  const dev = device('refused');
  for (const [name, p] of [
    ['splice', plan({ fd: filefd, header: K.header.WRITE })],
    ['copy', plan({ fd: filefd, path: K.readPath.COPY })],
  ] as const) {
    addon.injectFault('device', ENOENT, 1);
    const got = run(ex, c, dev, p, 12n, 0n, P);
    t.same(decodeFailure(got.r), { stage: K.stage.DEVICE, errno: ENOENT }, `${name}: DEVICE ENOENT`);
    t.same(got.delta, { interrupted: 1 }, `${name}: the reply's counts taken back, interrupted counted`);
    const next = run(ex, c, dev, p, 13n, 0n, P);
    t.ok(next.sent.equals(reply(13n, data.subarray(0, P))), `${name}: the next reply is exact (pipe clean)`);
  }
});

t.test('a failed splice leaves the pipe clean', async (t) => {
  const c = new addon.ReadCounters();
  const ex = new addon.ReadExecutor(c, 16 * P, 1 << 20);
  t.teardown(() => ex.close());
  t.teardown(() => void addon.injectFault('data', EAGAIN, 0));
  const dev = device('pipefull');
  addon.injectFault('data', EAGAIN, 1); // the header is in the pipe when the data splice fails
  const p = plan({ fd: filefd, header: K.header.WRITE });
  const full = run(ex, c, dev, p, 14n, 0n, 2 * P);
  t.same(decodeFailure(full.r), { stage: K.stage.PIPE_FULL, errno: EAGAIN }, 'PIPE_FULL');
  t.equal(full.sent.length, 0, 'nothing reached the device');
  t.same(full.delta, {}, 'nothing counted');
  t.equal(addon.injectFault('data', EAGAIN, 0), 0, 'the fault was used');
  const next = run(ex, c, dev, p, 15n, BigInt(P), P);
  t.ok(next.sent.equals(reply(15n, data.subarray(P, 2 * P))), 'the next reply is exact');
});

t.test('executors share one counter block; bad plans and closed executors throw', async (t) => {
  const c = new addon.ReadCounters();
  const a = new addon.ReadExecutor(c, 16 * P, 1 << 20);
  const b = new addon.ReadExecutor(c, 0, 1 << 20);
  const dev = device('shared');
  const copy = plan({ fd: filefd, path: K.readPath.COPY });
  const d = moved(c, () => {
    a.read(dev.wfd, 1n, copy, 0n, 10);
    b.read(dev.wfd, 2n, copy, 0n, 20);
  });
  drain(dev.rfd);
  t.same(d, { copyReplies: 2, copyBytes: 30 }, 'both counted into the one block');
  t.throws(() => a.read(dev.wfd, 1n, new Int32Array(3), 0n, 1), TypeError, 'a short plan array');
  t.throws(() => a.read(dev.wfd, 1n, plan({ fd: filefd, path: 2 }), 0n, 1), RangeError, 'an unknown path');
  t.throws(() => c.snapshot(new Float64Array(2)), TypeError, 'a snapshot array too short');
  t.throws(() => new addon.ReadExecutor({} as ReadCounters, 0, 1), TypeError, 'counters that are not ReadCounters');
  a.close();
  a.close();
  b.close();
  t.throws(() => a.read(dev.wfd, 1n, copy, 0n, 1), 'read after close');
});
