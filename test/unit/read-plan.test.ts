// READ plan decisions without a mount (src/datapath/read.ts, src/datapath/pipe-sizing.ts): the
// plan per mode and per file, what happens after each failure stage, the fallback counters, the
// per-node "cannot splice" memory, and the executor's Int32Array form of a plan. The executor is
// a scripted fake; the addon is only used for its constants (the executor's enumerations).
import { constants } from 'node:os';
import type { Logger } from 'pino';
import t from 'tap';
import { addon, type PlanArray, type ReadExecutor } from '../../src/addon.js';
import type { ReadMode } from '../../src/api/options.js';
import { chooseMaxPages, pipeBytesWanted } from '../../src/datapath/pipe-sizing.js';
import { ReadPath, encodePlan, type ReadPlan } from '../../src/datapath/read.js';
import { BackingFiles } from '../../src/datapath/backing.js';
import type { FileHandle } from '../../src/passthrough/handles.js';
import type { Node } from '../../src/passthrough/inodes.js';

const C = addon.constants;
const { EINVAL, ENOSYS, EOPNOTSUPP, EIO, ENOENT, ENODEV, EAGAIN, EFBIG, EPIPE } = constants.errno;
const MAX_READ = 255 * 4096;
const SPLICE_MIN = 8192;

/** A failure code as the executor reports it: -(stage << 12 | errno). */
const fail = (stage: number, errno: number) => -((stage << 12) | errno);

/** The plan fields by name, read back from the executor's array. */
function fields(a: PlanArray): Record<string, number> {
  if (a.length !== C.planFields.length) throw new Error(`a plan of ${a.length} slots, planFields names ${C.planFields.length}`);
  return Object.fromEntries(C.planFields.map((name, i) => [name, a[i]]));
}

interface Call {
  fd: number;
  unique: bigint;
  plan: Record<string, number>;
  offset: bigint;
  size: number;
}
/** A scripted executor: each read returns the next result (0 when none is left) and is recorded. */
function fakeExecutor(pipeBytes: number, results: number[] = []) {
  const calls: Call[] = [];
  const ex: ReadExecutor = {
    read(devfd, unique, plan, offset, size) {
      calls.push({ fd: devfd, unique, plan: Object.fromEntries(C.planFields.map((n, i) => [n, plan[i]])), offset, size });
      return results.shift() ?? size;
    },
    pipeBytes,
    sizeError: 0,
    lastPath: C.readPath.COPY,
    close() {},
  };
  return { ex, calls, results };
}

function node(): Node {
  // Only noSplice matters to the read path; the rest is a plausible node.
  return { nodeid: 2, dev: 1n, ino: 12n, mountIno: 12n, nlookup: 1, noSplice: false, heldFd: 30, reopen: null, parent: null, refs: 0, opens: 1 };
}
function handle(n: Node = node(), fd = 55): FileHandle {
  return { fh: 1, fd, node: n, plan: null, writable: false, append: false };
}

function readPath(mode: ReadMode, ex: ReadExecutor, header: 'patch' | 'write' = 'patch') {
  const logs: string[] = [];
  const logger = {
    info: (_o: unknown, msg: string) => logs.push(`info ${msg}`),
    warn: (_o: unknown, msg: string) => logs.push(`warn ${msg}`),
    error: (_o: unknown, msg: string) => logs.push(`error ${msg}`),
    debug: () => {},
  } as unknown as Logger;
  const deviceErrors: number[] = [];
  const planChanges: FileHandle[] = [];
  const rp = new ReadPath({
    mode,
    backing: new BackingFiles({ devfd: -1, logger }),
    header,
    executor: ex,
    maxRead: MAX_READ,
    spliceMin: SPLICE_MIN,
    logger,
    onDeviceError: (e) => deviceErrors.push(e),
    onPlanChange: (h) => planChanges.push(h),
  });
  return { rp, logs, deviceErrors, planChanges };
}

const base = { fd: 55, spliceMin: SPLICE_MIN, maxSize: MAX_READ };

// ---- planFor -----------------------------------------------------------------------------------

t.test('planFor: the plan per mode and per file', async (t) => {
  const pipe = fakeExecutor(1 << 20).ex;
  const noPipe = fakeExecutor(0).ex;
  const marked = () => {
    const n = node();
    n.noSplice = true;
    return handle(n);
  };
  const cases: Array<[string, ReadMode, ReadExecutor, FileHandle, Partial<ReadPlan>]> = [
    ['auto', 'auto', pipe, handle(), { path: 'splice', countAs: 'none' }],
    ['splice', 'splice', pipe, handle(), { path: 'splice', countAs: 'none' }],
    ['copy', 'copy', pipe, handle(), { path: 'copy', countAs: 'none' }],
    ['auto, a file that cannot splice', 'auto', pipe, marked(), { path: 'copy', countAs: 'noSplice' }],
    ['splice, a file that cannot splice (forced: each READ tries)', 'splice', pipe, marked(), { path: 'splice', countAs: 'none' }],
    ['copy, a file that cannot splice', 'copy', pipe, marked(), { path: 'copy', countAs: 'none' }],
    ['auto, an executor without a pipe', 'auto', noPipe, handle(), { path: 'copy', countAs: 'none' }],
    ['splice, an executor without a pipe', 'splice', noPipe, handle(), { path: 'copy', countAs: 'none' }],
    ['auto, no pipe, a file that cannot splice', 'auto', noPipe, marked(), { path: 'copy', countAs: 'none' }],
  ];
  for (const [what, mode, ex, h, want] of cases) {
    t.strictSame(readPath(mode, ex).rp.planFor(h), { ...base, header: 'patch', ...want }, what);
  }
  t.equal(readPath('auto', pipe, 'write').rp.planFor(handle()).header, 'write', 'the header strategy comes from the config');

  const { rp } = readPath('auto', pipe);
  const h = handle();
  const a = rp.plan(h);
  t.equal(h.plan, a, 'plan() stores the array on the handle');
  t.equal(rp.plan(h), a, 'and makes it once');
  t.strictSame(fields(a), { fd: 55, path: C.readPath.SPLICE, header: C.header.PATCH, spliceMin: SPLICE_MIN, maxSize: MAX_READ, countAs: C.countAs.NONE, write: 0, flush: 0 }, 'in the executor form (write 0: the read path leaves WRITEs to datapath/write.ts)');
});

// ---- encodePlan --------------------------------------------------------------------------------

t.test('encodePlan: laid out by addon.constants.planFields', async (t) => {
  t.same([...C.planFields].sort(), ['countAs', 'fd', 'flush', 'header', 'maxSize', 'path', 'spliceMin', 'write'], 'the addon names the eight plan fields');
  t.not(C.readPath.SPLICE, C.readPath.COPY, 'SPLICE and COPY differ');
  t.not(C.header.PATCH, C.header.WRITE, 'PATCH and WRITE differ');
  t.not(C.countAs.NONE, C.countAs.NO_SPLICE, 'NONE and NO_SPLICE differ');
  const plans: ReadPlan[] = [
    { fd: 123, path: 'splice', header: 'write', spliceMin: 8192, maxSize: 1044480, countAs: 'noSplice' },
    { fd: 7, path: 'copy', header: 'patch', spliceMin: 0, maxSize: 4096, countAs: 'none' },
  ];
  for (const p of plans) {
    const a = encodePlan(p);
    t.ok(a instanceof Int32Array, 'an Int32Array');
    const want = new Int32Array(C.planFields.length);
    want[C.planFields.indexOf('fd')] = p.fd;
    want[C.planFields.indexOf('path')] = p.path === 'splice' ? C.readPath.SPLICE : C.readPath.COPY;
    want[C.planFields.indexOf('header')] = p.header === 'write' ? C.header.WRITE : C.header.PATCH;
    want[C.planFields.indexOf('spliceMin')] = p.spliceMin;
    want[C.planFields.indexOf('maxSize')] = p.maxSize;
    want[C.planFields.indexOf('countAs')] = p.countAs === 'noSplice' ? C.countAs.NO_SPLICE : C.countAs.NONE;
    t.same([...a], [...want], `${p.path}/${p.header}/${p.countAs}: every field in its slot`);
  }
});

// ---- decide ------------------------------------------------------------------------------------

t.test('decide: after each failure stage', async (t) => {
  const S = C.stage;
  const { rp, planChanges } = readPath('auto', fakeExecutor(1 << 20).ex);
  const h = handle();
  t.strictSame(rp.decide(fail(S.DEVICE, ENOENT), h), { do: 'device', errno: ENOENT }, 'DEVICE ENOENT (interrupted): the device');
  t.strictSame(rp.decide(fail(S.DEVICE, ENODEV), h), { do: 'device', errno: ENODEV }, 'DEVICE ENODEV (unmounted): the device');
  t.strictSame(rp.decide(fail(S.FILE, EIO), h), { do: 'error', errno: EIO }, 'FILE EIO: an error reply');
  t.strictSame(rp.decide(fail(S.FILE, ENOENT), h), { do: 'error', errno: ENOENT }, 'FILE another errno: an error reply');
  t.notOk(h.node.noSplice, 'an I/O error does not mark the file');
  t.strictSame(rp.decide(fail(S.PIPE_TOO_SMALL, EFBIG), h), { do: 'copy', reason: 'pipeTooSmall' }, 'PIPE_TOO_SMALL: copy');
  t.strictSame(rp.decide(fail(S.SHORT, 0), h), { do: 'copy', reason: 'shortData' }, 'SHORT: copy');
  t.strictSame(rp.decide(fail(S.PIPE_FULL, EAGAIN), h), { do: 'copy', reason: 'pipeFull' }, 'PIPE_FULL: copy');
  t.strictSame(rp.decide(fail(S.HEADER, EFBIG), h), { do: 'copy', reason: 'spliceError' }, 'HEADER: copy (spliceError)');
  t.strictSame(rp.decide(fail(S.PIPE, EPIPE), h), { do: 'copy', reason: 'spliceError' }, 'PIPE: copy (spliceError)');
  t.strictSame(rp.decide(fail(15, EIO), h), { do: 'copy', reason: 'spliceError' }, 'an unknown stage: copy (spliceError)');
  t.equal(planChanges.length, 0, 'no plan changed');
  t.equal(h.plan, null, 'decide makes no plan by itself');

  for (const errno of [EINVAL, ENOSYS, EOPNOTSUPP]) {
    for (const mode of ['auto', 'splice'] as const) {
      const { rp, planChanges, logs } = readPath(mode, fakeExecutor(1 << 20).ex);
      const h = handle();
      t.strictSame(rp.decide(fail(S.FILE, errno), h), { do: 'copy', reason: 'noSpliceRead' }, `${mode}: FILE errno ${errno}: no splice_read, copy`);
      t.ok(h.node.noSplice, `${mode}: the node is marked`);
      t.strictSame(planChanges, [h], `${mode}: onPlanChange called with the handle`);
      t.equal(logs.filter((l) => l.startsWith('info')).length, 1, `${mode}: said once`);
      const want = mode === 'auto' ? { path: C.readPath.COPY, countAs: C.countAs.NO_SPLICE } : { path: C.readPath.SPLICE, countAs: C.countAs.NONE };
      t.match(fields(h.plan!), want, `${mode}: the new plan is ${mode === 'auto' ? 'copy, counted as noSplice' : 'still splice (forced)'}`);
      t.strictSame(rp.decide(fail(S.FILE, errno), h), { do: 'copy', reason: 'noSpliceRead' }, `${mode}: again: copy`);
      t.equal(planChanges.length, 1, `${mode}: onPlanChange not called again`);
      t.equal(logs.length, 1, `${mode}: not said again`);
      // Another handle of the same node: its first plan is already copy in auto mode.
      const h2 = handle(h.node, 56);
      t.equal(rp.planFor(h2).path, mode === 'auto' ? 'copy' : 'splice', `${mode}: a second open of the node plans ${mode === 'auto' ? 'copy' : 'splice'}`);
    }
  }
  const copy = readPath('copy', fakeExecutor(1 << 20).ex);
  const hc = handle();
  t.strictSame(copy.rp.decide(fail(S.FILE, EINVAL), hc), { do: 'error', errno: EINVAL }, 'copy mode: FILE EINVAL is an error (pread said so)');
  t.notOk(hc.node.noSplice, 'copy mode marks nothing');
  t.equal(copy.planChanges.length, 0, 'copy mode changes no plan');
});

// ---- serve -------------------------------------------------------------------------------------

t.test('serve: the plan, then the copy fallback', async (t) => {
  const S = C.stage;
  {
    const { ex, calls } = fakeExecutor(1 << 20, [4096]);
    const { rp } = readPath('auto', ex);
    const h = handle();
    t.equal(rp.serve(9, 77n, h, 2n ** 53n + 1n, 4096), 0, 'a reply went out: 0');
    t.equal(calls.length, 1, 'one executor call');
    t.strictSame(calls[0], { fd: 9, unique: 77n, plan: fields(h.plan!), offset: 2n ** 53n + 1n, size: 4096 }, 'the handle\'s plan, reply fd, unique, exact offset, size');
    t.strictSame(rp.fallbacks, { noSpliceRead: 0, pipeTooSmall: 0, shortData: 0, pipeFull: 0, spliceError: 0 }, 'no fallback');
  }
  const fallbacks: Array<[string, number, string]> = [
    ['PIPE_TOO_SMALL', fail(S.PIPE_TOO_SMALL, EFBIG), 'pipeTooSmall'],
    ['SHORT', fail(S.SHORT, 0), 'shortData'],
    ['PIPE_FULL', fail(S.PIPE_FULL, EAGAIN), 'pipeFull'],
    ['HEADER', fail(S.HEADER, EIO), 'spliceError'],
    ['PIPE', fail(S.PIPE, EPIPE), 'spliceError'],
    ['FILE EINVAL', fail(S.FILE, EINVAL), 'noSpliceRead'],
  ];
  for (const [what, code, reason] of fallbacks) {
    const { ex, calls } = fakeExecutor(1 << 20, [code, 100]);
    const { rp } = readPath('auto', ex);
    t.equal(rp.serve(9, 5n, handle(), 8192n, 65536), 0, `${what}: answered by copy`);
    t.equal(calls.length, 2, `${what}: the plan, then a copy`);
    t.strictSame(calls[1].plan, { fd: 55, path: C.readPath.COPY, header: C.header.PATCH, spliceMin: 0, maxSize: MAX_READ, countAs: C.countAs.NONE, write: 0, flush: 0 }, `${what}: the copy plan: same fd and size, no small-read threshold, not counted as noSplice`);
    t.equal(calls[1].offset, 8192n, `${what}: same offset`);
    t.equal((rp.fallbacks as unknown as Record<string, number>)[reason], 1, `${what}: counted as ${reason}`);
    t.equal(Object.values(rp.fallbacks).reduce((a, b) => a + b, 0), 1, `${what}: and nothing else`);
    t.equal(rp.errorReplies, 0, `${what}: no error reply`);
  }
  {
    const { ex, calls } = fakeExecutor(1 << 20, [fail(S.FILE, EIO)]);
    const { rp } = readPath('auto', ex);
    t.equal(rp.serve(9, 5n, handle(), 0n, 4096), -EIO, 'FILE EIO: -EIO for the caller to send');
    t.equal(calls.length, 1, 'no copy attempted');
    t.equal(rp.errorReplies, 1, 'counted as an error reply');
  }
  {
    const { ex } = fakeExecutor(1 << 20, [fail(S.SHORT, 0), fail(S.FILE, EIO)]);
    const { rp } = readPath('auto', ex);
    t.equal(rp.serve(9, 5n, handle(), 0n, 4096), -EIO, 'the copy fails too: -EIO');
    t.equal(rp.errorReplies, 1, 'one error reply');
    t.equal(rp.fallbacks.shortData, 1, 'the fallback was counted');
  }
  for (const [what, results] of [['the plan', [fail(S.DEVICE, ENODEV)]], ['the copy', [fail(S.PIPE_FULL, EAGAIN), fail(S.DEVICE, ENODEV)]]] as const) {
    const { ex } = fakeExecutor(1 << 20, [...results]);
    const { rp, deviceErrors } = readPath('auto', ex);
    t.equal(rp.serve(9, 5n, handle(), 0n, 4096), 0, `${what} meets ENODEV: 0 (nothing left to send)`);
    t.strictSame(deviceErrors, [ENODEV], `${what}: onDeviceError(ENODEV)`);
    t.equal(rp.errorReplies, 0, `${what}: no error reply`);
  }
  {
    const { ex, calls } = fakeExecutor(1 << 20, [fail(S.DEVICE, ENOENT)]);
    const { rp, deviceErrors } = readPath('auto', ex);
    t.equal(rp.serve(9, 5n, handle(), 0n, 4096), 0, 'DEVICE ENOENT (interrupted): 0');
    t.strictSame(deviceErrors, [], 'ENOENT is not a device error for the session');
    t.equal(calls.length, 1, 'no copy after the device refused');
  }
  {
    // A worker already tried the plan: continue from its failure without trying it again.
    const { ex, calls } = fakeExecutor(1 << 20, [100]);
    const { rp } = readPath('auto', ex);
    t.equal(rp.serve(9, 5n, handle(), 0n, 4096, fail(S.PIPE_FULL, EAGAIN)), 0, 'prior PIPE_FULL: answered by copy');
    t.equal(calls.length, 1, 'only the copy ran');
    t.equal(calls[0].plan.path, C.readPath.COPY, 'and it was a copy');
    t.equal(rp.fallbacks.pipeFull, 1, 'counted as pipeFull');
  }
  {
    const { ex, calls } = fakeExecutor(1 << 20, []);
    const { rp } = readPath('auto', ex);
    t.equal(rp.serve(9, 5n, handle(), 0n, 4096, fail(S.FILE, EIO)), -EIO, 'prior FILE EIO: -EIO, no executor call');
    t.equal(calls.length, 0, 'nothing ran');
  }
});

// ---- pipe sizing -------------------------------------------------------------------------------

t.test('pipe sizing', async (t) => {
  const MiB = 1 << 20;
  const dflt = { maxRead: MiB, pipeMaxSize: MiB, maxPagesLimit: 256, spliceRequests: false };
  t.equal(pipeBytesWanted(dflt), MiB, 'the largest pipe allowed (pipe-max-size)');
  t.equal(pipeBytesWanted({ ...dflt, pipePages: 16 }), 65536, '--pipe-pages 16: 64 KiB');
  t.equal(pipeBytesWanted({ ...dflt, pipeMaxSize: 4 * MiB }), 4 * MiB, 'a raised pipe-max-size');

  t.equal(chooseMaxPages(dflt, MiB), 255, 'default: a 256-slot pipe carries header + 255 pages');
  t.equal(chooseMaxPages({ ...dflt, maxRead: 128 * 1024 }, MiB), 32, '--max-read 128 KiB: 32 pages');
  t.equal(chooseMaxPages({ ...dflt, maxRead: 128 * 1024 + 1 }, MiB), 33, 'a max-read not a page multiple rounds up');
  t.equal(chooseMaxPages({ ...dflt, maxPagesLimit: 64 }, MiB), 64, 'max_pages_limit 64');
  t.equal(chooseMaxPages(dflt, 64 * 1024), 15, 'a 16-slot pipe granted: 15 pages');
  t.equal(chooseMaxPages({ ...dflt, pipePages: 16 }, 65536), 256, '--pipe-pages fixed: not fitted to the pipe (bigger READs go by copy)');
  t.equal(chooseMaxPages({ ...dflt, pipePages: 16, maxPagesLimit: 100 }, 65536), 100, '--pipe-pages: still within max_pages_limit');
  t.equal(chooseMaxPages({ ...dflt, pipePages: 16, spliceRequests: true }, 65536), 15, '--pipe-pages with spliced requests: every WRITE must fit the pipe');
  t.equal(chooseMaxPages({ ...dflt, pipePages: 17, spliceRequests: true }, 32 * 4096), 31, 'spliced requests: fitted to the pipe granted (rounded up), not the one asked');
  t.equal(chooseMaxPages({ ...dflt, spliceRequests: true }, MiB), 255, 'spliced requests, default pipe: 255 as before');
  t.equal(chooseMaxPages({ maxRead: 4 * MiB, pipeMaxSize: 4 * MiB, maxPagesLimit: 1024, spliceRequests: false }, 4 * MiB), 1023, 'raised limits: 4 MiB pipe, 1023 pages');
  t.equal(chooseMaxPages({ maxRead: 4 * MiB, pipeMaxSize: MiB, maxPagesLimit: 1024, spliceRequests: false }, MiB), 255, 'max_pages_limit raised, pipe-max-size not: 255');
  t.equal(chooseMaxPages(dflt, 4096), 1, 'a one-slot pipe: still 1 page');
  t.equal(chooseMaxPages({ ...dflt, maxRead: 1 }, MiB), 1, 'max-read of 1 byte: 1 page');
});
