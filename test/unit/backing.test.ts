// Kernel passthrough's backing ids without a mount (src/datapath/backing.ts): a stand-in for the
// two device ioctls records every call and answers as scripted, so the tests see exactly when an
// id is registered and closed: why passthrough is off mount-wide (INIT), one id per inode shared
// by its handles and closed at the last release, closeAll, the kernel's one-I/O-mode-per-inode
// rule (caching and direct opens block passthrough; a passing inode shares its id
// whatever is asked), each refusal by errno, and each reason logged once.
import { constants } from 'node:os';
import type { Logger } from 'pino';
import t from 'tap';
import { BackingFiles, hasCapSysAdmin, type BackingIoctls } from '../../src/datapath/backing.js';
import type { FileHandle } from '../../src/passthrough/handles.js';
import type { Node } from '../../src/passthrough/inodes.js';

const { EPERM, ELOOP, EOPNOTSUPP, EIO, EINVAL, ENOMEM, EBADF } = constants.errno;
const DEVFD = 77;

let nextIno = 10n;
function node(): Node {
  const ino = nextIno++;
  return { nodeid: Number(ino), dev: 1n, ino, mountIno: ino, nlookup: 1, noSplice: false, heldFd: 30, reopen: null, parent: null, refs: 0, opens: 1 };
}
let nextFd = 100;
function handle(n: Node): FileHandle {
  const fd = nextFd++;
  return { fh: fd, fd, node: n, plan: null, writable: false, append: false };
}

/**
 * BackingFiles over a scripted kernel: backingOpen answers the next of `opens` (a new id when
 * none is left), backingClose the next of `closes` (0 when none is left); every call and log line
 * is recorded.
 */
function setup(opts: { granted?: boolean; writebackCache?: boolean; capable?: boolean; opens?: number[]; closes?: number[] } = {}) {
  const calls: string[] = [];
  const openCalls: Array<[number, number]> = [];
  const closeCalls: Array<[number, number]> = [];
  const logs: Array<{ level: string; fields: Record<string, unknown>; msg: string }> = [];
  const opens = [...(opts.opens ?? [])];
  const closes = [...(opts.closes ?? [])];
  let id = 0;
  const ioctls: BackingIoctls = {
    backingOpen(devfd, fd) {
      calls.push('open');
      openCalls.push([devfd, fd]);
      return opens.length > 0 ? opens.shift()! : ++id;
    },
    backingClose(devfd, i) {
      calls.push('close');
      closeCalls.push([devfd, i]);
      return closes.shift() ?? 0;
    },
  };
  const log = (level: string) => (fields: Record<string, unknown>, msg: string) => void logs.push({ level, fields, msg });
  const logger = { info: log('info'), warn: log('warn'), error: log('error'), debug: () => {}, trace: () => {} } as unknown as Logger;
  const b = new BackingFiles({ devfd: DEVFD, logger, ioctls });
  if (opts.granted !== undefined || opts.writebackCache !== undefined) b.negotiated(opts.granted ?? true, opts.writebackCache ?? false, opts.capable ?? true);
  const reasons = () => logs.map((l) => l.fields.reason);
  return { b, calls, openCalls, closeCalls, logs, reasons };
}

t.test('off mount-wide: before INIT, not offered, the writeback cache', async (t) => {
  const before = setup();
  t.equal(before.b.offMountWide, 'notOffered', 'before INIT nothing passes through');
  t.equal(before.b.open(handle(node()), true, false), 0, 'an open before INIT goes through the server');
  t.equal(before.calls.length, 0, 'no ioctl');

  const no = setup({ granted: false, writebackCache: false });
  t.equal(no.b.offMountWide, 'notOffered', 'negotiated(false, false): notOffered');
  for (let i = 0; i < 3; i++) t.equal(no.b.open(handle(node()), true, false), 0, `open ${i}: through the server`);
  t.equal(no.b.counts.fallbacks.notOffered, 3, 'fallbacks.notOffered counts each open that wanted it');
  t.equal(no.calls.length, 0, 'no ioctl ever');
  t.same(no.reasons(), ['notOffered'], 'logged once');

  const wb = setup({ granted: false, writebackCache: true });
  t.equal(wb.b.offMountWide, 'writebackCache', 'negotiated(false, true): writebackCache');
  wb.b.open(handle(node()), true, false);
  wb.b.open(handle(node()), true, false);
  t.equal(wb.b.counts.fallbacks.writebackCache, 2, 'fallbacks.writebackCache counted');
  t.equal(wb.b.counts.fallbacks.notOffered, 0, 'and not as notOffered');
  t.equal(wb.calls.length, 0, 'no ioctl');
  t.same(wb.reasons(), ['writebackCache'], 'logged once');

  const not = setup({ granted: false });
  t.equal(not.b.open(handle(node()), false, false), 0, 'an open that does not want passthrough');
  t.equal(not.b.counts.fallbacks.notOffered, 0, 'is no fallback');

  const ok = setup({ granted: true });
  t.equal(ok.b.offMountWide, null, 'negotiated(true, false): available');
  t.same(ok.logs, [], 'nothing logged');
});

t.test('one id per inode, shared by its handles, closed at the last release only', async (t) => {
  const k = setup({ granted: true });
  const n = node();
  const [h1, h2, h3] = [handle(n), handle(n), handle(n)];
  const id = k.b.open(h1, true, false);
  t.ok(id > 0, `the first open registers an id (${id})`);
  t.same(k.openCalls, [[DEVFD, h1.fd]], 'BACKING_OPEN on the device with the handle\'s fd');
  t.equal(k.b.open(h2, true, false), id, 'the second open shares it');
  t.equal(k.b.open(h3, false, false), id, 'so does an open that does not ask for passthrough (one I/O mode per inode)');
  t.equal(k.calls.length, 1, 'one ioctl for the three');
  t.match(k.b.counts, { opens: 3, backingOpens: 1, backingIds: 1, backingCloses: 0 });

  const other = handle(node());
  const id2 = k.b.open(other, true, false);
  t.ok(id2 > 0 && id2 !== id, 'another inode gets its own id');
  t.equal(k.b.counts.backingIds, 2, 'two ids open');

  k.b.release(h1);
  k.b.release(h3);
  t.same(k.closeCalls, [], 'two of three released: not closed');
  k.b.release(h2);
  t.same(k.closeCalls, [[DEVFD, id]], 'the last release closes it, once');
  t.match(k.b.counts, { backingCloses: 1, backingIds: 1 });
  k.b.release(h2);
  t.equal(k.closeCalls.length, 1, 'releasing the same handle again closes nothing');

  const h4 = handle(n);
  const id3 = k.b.open(h4, true, false);
  t.ok(id3 > 0, 'a new open after the last release registers anew');
  t.equal(k.b.counts.backingOpens, 3, 'a third BACKING_OPEN');
  k.b.release(h4);
  k.b.release(other);
  t.match(k.b.counts, { opens: 5, backingOpens: 3, backingCloses: 3, backingIds: 0 });
});

t.test('closeAll closes every open id once; releases after it close nothing', async (t) => {
  const k = setup({ granted: true });
  const a = node();
  const b = node();
  const c = node();
  const ha = [handle(a), handle(a)];
  const hb = handle(b);
  const hc = handle(c);
  const ida = k.b.open(ha[0]!, true, false);
  k.b.open(ha[1]!, true, false);
  const idb = k.b.open(hb, true, false);
  k.b.open(hc, false, false); // through the server: no id
  k.b.closeAll();
  t.same(k.closeCalls.map(([, i]) => i).sort(), [ida, idb].sort(), 'each id closed once');
  t.match(k.b.counts, { backingCloses: 2, backingIds: 0 });
  for (const h of [...ha, hb, hc]) k.b.release(h);
  t.equal(k.closeCalls.length, 2, 'the releases that follow close nothing more');
  t.equal(k.b.counts.backingIds, 0, 'and backingIds stays 0');
  k.b.closeAll();
  t.equal(k.closeCalls.length, 2, 'a second closeAll closes nothing');
});

t.test('one I/O mode per inode: caching and direct opens block passthrough; a passing inode is shared by all', async (t) => {
  const k = setup({ granted: true });
  const n = node();
  const cached = handle(n);
  t.equal(k.b.open(cached, false, false), 0, 'an open through the server (caching)');
  t.equal(k.b.open(handle(n), true, false), 0, 'a later passthrough open of that inode stays with the server');
  t.equal(k.b.counts.fallbacks.openThroughServer, 1, 'fallbacks.openThroughServer: 1');
  t.equal(k.calls.length, 0, 'no ioctl tried');
  const other = handle(node());
  t.ok(k.b.open(other, true, false) > 0, 'another inode passes through meanwhile');

  // Both caching handles of n released: the inode is free again.
  const k2 = setup({ granted: true });
  const m = node();
  const c1 = handle(m);
  const c2 = handle(m);
  k2.b.open(c1, false, false);
  k2.b.open(c2, true, false); // openThroughServer: a caching handle too
  k2.b.release(c1);
  t.equal(k2.b.open(handle(m), true, false), 0, 'one caching handle left: still through the server');
  k2.b.release(c2);
  // the one just opened above is still open in the caching mode
  t.equal(k2.b.counts.fallbacks.openThroughServer, 2, 'counted again');

  const k3 = setup({ granted: true });
  const d = node();
  const direct = handle(d);
  t.equal(k3.b.open(direct, true, true), 0, 'a direct-I/O open does not pass through');
  t.equal(k3.b.counts.fallbacks.directIo, 1, 'fallbacks.directIo: 1');
  t.equal(k3.calls.length, 0, 'no ioctl for it');
  t.equal(k3.b.open(handle(d), false, true), 0, 'a direct open that does not want passthrough');
  t.equal(k3.b.counts.fallbacks.directIo, 1, 'is no fallback');
  // A direct-I/O handle blocks passthrough like a caching one: its first shared mmap (which the
  // server never sees) turns the inode to the caching mode, and a passthrough open beside it
  // would fail with EIO (test/mount/passthrough-fallback.test.ts, one I/O mode per inode (c)).
  t.equal(k3.b.open(handle(d), true, false), 0, 'a passthrough open beside the direct ones stays with the server');
  t.equal(k3.b.counts.fallbacks.openThroughServer, 1, 'fallbacks.openThroughServer: 1');
  t.equal(k3.calls.length, 0, 'still no ioctl');
  k3.b.release(direct);
  t.equal(k3.closeCalls.length, 0, 'releasing a direct handle closes nothing');

  // A direct open of an inode that passes through already shares its id (FOPEN_PASSTHROUGH on
  // every open of it, the kernel's rule; FOPEN_DIRECT_IO beside it keeps its I/O with us).
  const k4 = setup({ granted: true });
  const e = node();
  const id = k4.b.open(handle(e), true, false);
  t.ok(id > 0, 'a passthrough open');
  t.equal(k4.b.open(handle(e), true, true), id, 'a direct open of the passing inode shares the id');
  t.equal(k4.b.open(handle(e), false, true), id, 'also when it does not want passthrough');
});

t.test('EPERM: noCapability mount-wide, the kernel is not asked again', async (t) => {
  const k = setup({ granted: true, opens: [-EPERM] });
  const h = handle(node());
  t.equal(k.b.open(h, true, false), 0, 'refused: through the server');
  t.equal(k.b.counts.fallbacks.noCapability, 1, 'fallbacks.noCapability: 1');
  t.equal(k.b.offMountWide, 'noCapability', 'off mount-wide: noCapability');
  for (let i = 0; i < 4; i++) t.equal(k.b.open(handle(node()), true, false), 0, `later open ${i}: through the server`);
  t.equal(k.b.open(handle(h.node), true, false), 0, 'the refused inode too');
  t.equal(k.calls.filter((c) => c === 'open').length, 1, 'one BACKING_OPEN in all');
  t.equal(k.b.counts.fallbacks.noCapability, 6, 'each open counted as noCapability');
  t.match(k.b.counts, { opens: 0, backingOpens: 0, backingIds: 0 });
  t.same(k.reasons(), ['noCapability'], 'logged once');
  t.equal(k.logs[0]?.fields.errno, EPERM, 'with its errno');
});

t.test('ELOOP and EOPNOTSUPP: notStackable; any other errno: backingError; per file, logged once each', async (t) => {
  const k = setup({ granted: true, opens: [-ELOOP, -EOPNOTSUPP, -EIO, -EINVAL, -ENOMEM, -ELOOP] });
  const results = [];
  for (let i = 0; i < 6; i++) results.push(k.b.open(handle(node()), true, false));
  t.same(results, [0, 0, 0, 0, 0, 0], 'each refused open goes through the server');
  t.equal(k.b.counts.fallbacks.notStackable, 3, 'ELOOP, EOPNOTSUPP, ELOOP: notStackable');
  t.equal(k.b.counts.fallbacks.backingError, 3, 'EIO, EINVAL, ENOMEM: backingError');
  t.equal(k.b.counts.fallbacks.noCapability, 0, 'none as noCapability');
  t.equal(k.b.offMountWide, null, 'not off mount-wide');
  t.ok(k.b.open(handle(node()), true, false) > 0, 'the next file passes through');
  t.equal(k.calls.length, 7, 'every open asked the kernel');
  t.same(k.reasons().sort(), ['backingError', 'notStackable'], 'each reason logged once');
  t.equal(k.b.counts.backingIds, 1, 'one id open');
});

t.test('a refused inode goes through the server until released, then tries again', async (t) => {
  const k = setup({ granted: true, opens: [-EIO] });
  const n = node();
  const h = handle(n);
  t.equal(k.b.open(h, true, false), 0, 'refused (EIO)');
  t.equal(k.b.open(handle(n), true, false), 0, 'its inode is open through the server now');
  t.equal(k.b.counts.fallbacks.openThroughServer, 1, 'so the next open is openThroughServer');
  t.equal(k.calls.length, 1, 'without asking the kernel');
});

t.test('release of an unknown handle is harmless', async (t) => {
  const k = setup({ granted: true });
  const before = JSON.stringify(k.b.counts);
  k.b.release(handle(node()));
  const n = node();
  const h = handle(n);
  k.b.open(h, true, false);
  k.b.release(handle(n)); // same node, never opened
  t.equal(k.closeCalls.length, 0, 'no close for a handle never opened');
  t.equal(k.b.counts.backingIds, 1, 'the real handle keeps its id');
  k.b.release(h);
  t.equal(k.closeCalls.length, 1, 'closed at its own release');
  t.not(JSON.stringify(k.b.counts), before);
});

t.test('a failed BACKING_CLOSE is counted as closed and logged once', async (t) => {
  const k = setup({ granted: true, closes: [-EBADF, -EBADF] });
  for (let i = 0; i < 2; i++) {
    const h = handle(node());
    k.b.open(h, true, false);
    k.b.release(h);
  }
  t.match(k.b.counts, { backingOpens: 2, backingCloses: 2, backingIds: 0 });
  t.same(k.reasons(), ['close'], 'one log line for both');
});

t.test('CAP_SYS_ADMIN: read from CapEff; without it passthrough is off mount-wide (noCapability)', async (t) => {
  t.equal(hasCapSysAdmin('Name:\tx\nCapEff:\t000001ffffffffff\n'), true, 'all capabilities: has it');
  t.equal(hasCapSysAdmin('CapEff:\t0000000000000000\n'), false, 'none: lacks it');
  t.equal(hasCapSysAdmin('CapEff:\t0000000000200000\n'), true, 'bit 21 alone: has it');
  t.equal(hasCapSysAdmin('CapEff:\t00000000001fffff\n'), false, 'bits 0-20: lacks it');
  t.equal(hasCapSysAdmin('no such line\n'), false, 'unreadable: lacks it');
  const k = setup({ granted: true, capable: false });
  t.equal(k.b.offMountWide, 'noCapability', 'granted at INIT, but no capability: noCapability');
  t.equal(k.logs.length, 1, 'said once at INIT');
  t.equal(k.b.open(handle(node()), true, false), 0, 'an open goes through the server');
  t.equal(k.b.counts.fallbacks.noCapability, 1, 'counted as noCapability');
  t.same(k.calls, [], 'the kernel is never asked');
});
