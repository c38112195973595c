// Helpers for the read-write tests (test/mount/rw-*.test.ts, issue 10): every operation is done
// on the mount AND on a plain reference directory of the same file system type, by two
// instances of test/scripts/opserver.py (child processes: nothing here touches the mount from
// this process, so the server on our event loop never waits on us). The results (values and
// errno names) must agree, and so must the trees at the end (names, types, modes, sizes,
// contents, link counts, owners, symlink targets, user.* xattrs, shared inodes); the mount's
// tree must also be what its source directory holds.
//
// SPLICEFS_RW_PLAIN=1 runs every rw test with a plain directory in place of the mount (no FUSE:
// both halves are the kernel's own file system), to check a test's logic before the server can
// write. Checks that need the server (its counters) then only print a comment; this mode is
// for development, never for CI.
//
// When run as a test file itself (tap runs every .ts under test/), this file checks its own
// promises on two plain directories: equal operations compare equal, a different errno, value
// or tree is caught, and an op server can run as another user.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import type { MountOptions, ReadMode, Stats } from '../../src/index.js';
import { freshDir, leftoverCheck, withMount, type MountFixtureOptions } from './mount.js';
import { ptDelta, settle } from './passthrough.js';
import { scratch } from './mirror.js';
import { OpServer, treeDifference, type OpServerOptions, type Result, type TreeEntry } from './opserver.js';

export { OPSERVER, OpServer, treeDifference, type OpServerOptions, type Result, type TreeEntry } from './opserver.js';


/** True when SPLICEFS_RW_PLAIN=1: a plain directory stands in for the mount. */
export const PLAIN = process.env.SPLICEFS_RW_PLAIN === '1';

export type WriteMode = 'auto' | 'splice' | 'copy';

/** The options of issue 10 (read-write), until MountOptions has them all. */
export interface RwMountOptions extends MountOptions {
  readOnly?: boolean;
  writeMode?: WriteMode;
  writebackCache?: boolean;
}

/** WRITE replies and payload bytes per path (stats().write). */
export interface WriteStats {
  spliceReplies: number;
  spliceBytes: number;
  copyReplies: number;
  copyBytes: number;
  errorReplies: number;
}

const NO_WRITE_STATS: WriteStats = { spliceReplies: 0, spliceBytes: 0, copyReplies: 0, copyBytes: 0, errorReplies: 0 };

/** stats().write, or undefined when the server does not report it (yet). */
export function writeStats(s: Stats): WriteStats | undefined {
  return (s as unknown as { write?: WriteStats }).write;
}

export function writeDelta(before: WriteStats | undefined, after: WriteStats | undefined): WriteStats {
  const b = before ?? NO_WRITE_STATS;
  const a = after ?? NO_WRITE_STATS;
  return {
    spliceReplies: a.spliceReplies - b.spliceReplies,
    spliceBytes: a.spliceBytes - b.spliceBytes,
    copyReplies: a.copyReplies - b.copyReplies,
    copyBytes: a.copyBytes - b.copyBytes,
    errorReplies: a.errorReplies - b.errorReplies,
  };
}

const show = (r: Result) => ('err' in r ? `err ${r.err}` : `ok ${JSON.stringify(r.ok)}`);

/**
 * The same op server pair as the test's processes see it: `m` on the mount, `r` on the
 * reference. Each op runs on both (at once: two processes), and the answers must agree.
 */
export class Pair {
  constructor(
    readonly m: OpServer,
    readonly r: OpServer,
  ) {}

  async both(op: string, ...args: unknown[]): Promise<{ mnt: Result; ref: Result }> {
    const [mnt, ref] = await Promise.all([this.m.call(op, ...args), this.r.call(op, ...args)]);
    // An open that succeeded on one side only: the other side uses up the handle number too, so
    // the two keep numbering alike and one difference does not turn every later op into one.
    if (op === 'open' && 'ok' in mnt !== 'ok' in ref) await ('ok' in mnt ? this.r : this.m).call('burn');
    return { mnt, ref };
  }

  /** Assert the mount answers as the reference does; returns the mount's answer. */
  async same(t: Test, what: string, op: string, ...args: unknown[]): Promise<Result> {
    const { mnt, ref } = await this.both(op, ...args);
    t.same(mnt, ref, `${what}: ${show(mnt)} (reference: ${show(ref)})`);
    return mnt;
  }

  /**
   * As same(), and the reference gives `want` (an errno name, or {ok: value}): the test checks
   * what it means to check, on the kernel's own file system first.
   */
  async expect(t: Test, what: string, want: string | { ok: unknown }, op: string, ...args: unknown[]): Promise<Result> {
    const { mnt, ref } = await this.both(op, ...args);
    const w: Result = typeof want === 'string' ? (want === 'ok' ? ('err' in ref ? { ok: '(success)' } : ref) : { err: want }) : want;
    t.same(ref, w, `${what}: the reference gives ${show(w)}`);
    t.same(mnt, ref, `${what}: the mount gives ${show(mnt)} (reference: ${show(ref)})`);
    return mnt;
  }

  /** The value both agree on (a failed op or a disagreement fails the test, returns undefined). */
  async value<V = unknown>(t: Test, what: string, op: string, ...args: unknown[]): Promise<V | undefined> {
    const r = await this.expect(t, what, 'ok', op, ...args);
    return 'ok' in r ? (r.ok as V) : undefined;
  }

  async close(): Promise<void> {
    await Promise.all([this.m.close(), this.r.close()]);
  }
}

export interface RwFixture {
  /** The source directory of the mount (sync fs calls fine); in plain mode, the same as mnt. */
  src: string;
  /** The mountpoint (child processes or fs.promises only). */
  mnt: string;
  /** The reference directory (plain, same fs type as the source). */
  ref: string;
  /** Op servers as root on mount and reference. */
  pair: Pair;
  /** More op servers (another user, a second process for locks); closed at the end. */
  newPair(opts?: OpServerOptions): Pair;
  /** The server's counters (undefined in plain mode). */
  stats(): Stats | undefined;
  /** stats().write now (undefined in plain mode or when the server does not report it). */
  write(): WriteStats | undefined;
  /** Assert the trees of mount and reference agree, and the mount's is its source's. */
  sameTrees(t: Test, what: string, rel?: string): Promise<boolean>;
  plain: boolean;
}

export interface RwFixtureOptions {
  where?: 'shm' | 'tmp';
  /** Fill the source and the reference the same way (called once for each). */
  populate?: (dir: string) => void;
  /** A source directory to mount (not removed), and a reference to compare with. */
  source?: string;
  reference?: string;
}

/**
 * A read-write mount of a fresh source (default readOnly: false) and a reference directory
 * filled the same way, with an op server pair on them. In plain mode the "mount" is a plain
 * directory. The mount is always removed (withMount), the op servers always stopped.
 */
export async function withRw(t: Test, options: RwMountOptions, fx: RwFixtureOptions, fn: (f: RwFixture) => Promise<void>): Promise<void> {
  const where = fx.where ?? 'shm';
  const ref = fx.reference ?? scratch(t, 'ref', where);
  if (!fx.reference) fx.populate?.(ref);
  const servers: Pair[] = [];
  const body = async (src: string, mnt: string, stats: () => Stats | undefined) => {
    const newPair = (opts: OpServerOptions = {}) => {
      const p = new Pair(new OpServer(mnt, opts), new OpServer(ref, opts));
      servers.push(p);
      return p;
    };
    const pair = newPair();
    const srcServer = src === mnt ? undefined : new OpServer(src);
    const sameTrees = async (t: Test, what: string, rel = ''): Promise<boolean> => {
      const [a, b, c] = await Promise.all([
        pair.m.value<TreeEntry[]>('tree', rel),
        pair.r.value<TreeEntry[]>('tree', rel),
        srcServer ? srcServer.value<TreeEntry[]>('tree', rel) : Promise.resolve(undefined),
      ]);
      const d = treeDifference(b, a);
      let ok = t.ok(d === null, `${what}: the mount's tree is the reference's (${a.length} entries vs ${b.length})`, { firstDifference: d ?? undefined });
      if (c) {
        const e = treeDifference(c, a);
        ok = t.ok(e === null, `${what}: the mount's tree is what its source holds`, { firstDifference: e ?? undefined }) && ok;
      }
      return ok;
    };
    try {
      await fn({
        src,
        mnt,
        ref,
        pair,
        newPair,
        stats,
        write: () => {
          const s = stats();
          return s ? writeStats(s) : undefined;
        },
        sameTrees,
        plain: PLAIN,
      });
    } finally {
      await Promise.all(servers.map((s) => s.close()));
      await srcServer?.close();
    }
  };
  if (PLAIN) {
    const dir = fx.source ?? scratch(t, 'plain-mnt', where);
    if (!fx.source) fx.populate?.(dir);
    await body(dir, dir, () => undefined);
    return;
  }
  const mfx: MountFixtureOptions = { where, source: fx.source, populate: fx.source ? undefined : fx.populate };
  await withMount(t, { readOnly: false, ...options } as MountOptions, mfx, async (m) => {
    await body(m.src, m.mnt, () => m.stats());
  });
}

/** The write modes the data tests run in. */
export const WRITE_MODES: WriteMode[] = ['splice', 'copy', 'auto'];

/** One configuration of the long randomized runs. */
export interface RunConfig {
  /** for test names */
  name: string;
  readMode: ReadMode;
  writeMode: WriteMode;
  writebackCache: boolean;
  /**
   * The data path whose counters must move: the server's WRITE path in a write mode (wrotePath),
   * or 'kernel': FUSE passthrough, where the kernel writes the source itself (passedThrough).
   */
  path: WriteMode | 'kernel';
}

/**
 * The long randomized runs' configurations: the server's WRITE path in each write mode, then
 * with the writeback cache (auto write mode), all in read mode splice (the default, auto, would
 * hand the files to the kernel: no WRITE would reach the server); then kernel passthrough (read
 * mode passthrough: opens hand the kernel the source file, and it writes it itself).
 */
export const RUN_CONFIGS: ReadonlyArray<RunConfig> = [
  ...WRITE_MODES.map((mode): RunConfig => ({ name: `write mode ${mode}`, readMode: 'splice', writeMode: mode, writebackCache: false, path: mode })),
  { name: 'write mode auto, writeback cache', readMode: 'splice', writeMode: 'auto', writebackCache: true, path: 'auto' },
  { name: 'kernel passthrough', readMode: 'passthrough', writeMode: 'auto', writebackCache: false, path: 'kernel' },
];

/** The mount options of a run configuration. */
export function runOptions(c: RunConfig): RwMountOptions {
  return { readMode: c.readMode, writeMode: c.writeMode, writebackCache: c.writebackCache };
}

/** Assert the data path of `c` ran, from `before` (f.stats() when the run started) to now. */
export async function ranPath(t: Test, f: RwFixture, c: RunConfig, before: Stats | undefined, what: string): Promise<void> {
  if (c.path === 'kernel') return passedThrough(t, f, before, what);
  wrotePath(t, f, c.path, writeDelta(before ? writeStats(before) : undefined, f.write()), what);
}

/**
 * Assert kernel passthrough carried the writes (read mode passthrough): opens passed through, no
 * refusal that would send every open through the server, and no WRITE reached the server, unless
 * some opens had to go through it (a set-user-ID or set-group-ID file, fallbacks.setId; an inode
 * already open through the server, openThroughServer: e.g. an empty file opened read-only, which
 * gets direct I/O, and opened for writing while that is open), whose WRITEs then must not fail.
 * Every backing id is closed once nothing is open. A comment in plain mode (no server).
 */
export async function passedThrough(t: Test, f: RwFixture, before: Stats | undefined, what: string): Promise<void> {
  if (f.plain || before === undefined) {
    t.comment(`${what}: plain mode, no server counters to check`);
    return;
  }
  const after = await settle({ stats: () => f.stats()! });
  const d = ptDelta(before, after);
  const w = writeDelta(writeStats(before), writeStats(after));
  t.ok(d.opens > 0, `${what}: opens passed through (${d.opens}, ${d.backingOpens} backing files registered)`, { d });
  t.same(
    [d.notOffered, d.writebackCache, d.noCapability, d.notStackable, d.backingError],
    [0, 0, 0, 0, 0],
    `${what}: no passthrough refused for the mount or by a backing file`,
    { d },
  );
  const throughServer = d.setId + d.openThroughServer;
  if (throughServer === 0) {
    t.same([w.spliceReplies, w.copyReplies, d.writeRequests], [0, 0, 0], `${what}: no WRITE reached the server (the kernel wrote every byte)`, { w });
  } else {
    t.comment(`${what}: ${throughServer} opens went through the server (setId ${d.setId}, openThroughServer ${d.openThroughServer}): their WRITEs are the server's (${d.writeRequests})`);
    t.equal(w.errorReplies, 0, `${what}: no WRITE of the opens through the server failed`);
  }
  t.equal(after.passthrough.backingIds, 0, `${what}: every backing id closed with its last handle`);
}

/**
 * Assert the WRITE path of the mode ran: in copy mode copyReplies moved (and no splice), in
 * splice mode spliceReplies moved, in auto one of them. A comment in plain mode (no server).
 */
export function wrotePath(t: Test, f: RwFixture, mode: WriteMode, d: WriteStats, what: string): void {
  if (f.plain) {
    t.comment(`${what}: plain mode, no server counters to check`);
    return;
  }
  t.ok(f.write() !== undefined, `${what}: stats().write is reported`);
  if (mode === 'copy') {
    t.ok(d.copyReplies > 0, `${what}: copy mode: WRITEs went by copy (${d.copyReplies} replies, ${d.copyBytes} bytes)`);
    t.equal(d.spliceReplies, 0, `${what}: copy mode: no WRITE by splice`);
  } else if (mode === 'splice') {
    t.ok(d.spliceReplies > 0, `${what}: splice mode: WRITEs went by splice (${d.spliceReplies} replies, ${d.spliceBytes} bytes)`);
  } else {
    // auto: copy, and splice only within streams of large WRITEs (rw-write-streams checks which).
    t.ok(d.copyReplies + d.spliceReplies > 0, `${what}: auto mode: WRITEs reached the server (${d.copyReplies} by copy, ${d.spliceReplies} by splice)`);
  }
  t.equal(d.errorReplies, 0, `${what}: no WRITE failed`);
}

/** A directory in `dir` with this mode (chmod after mkdir: no umask). */
export function mkdirMode(dir: string, name: string, mode: number): string {
  const p = join(dir, name);
  mkdirSync(p);
  chmodSync(p, mode);
  return p;
}

// ---- self-test, when tap runs this file directly ---------------------------------------
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  t.test('two plain directories: equal ops compare equal, differences are caught', async (t) => {
    const a = scratch(t, 'rw-self-a');
    const b = scratch(t, 'rw-self-b');
    const pair = new Pair(new OpServer(a), new OpServer(b));
    t.teardown(() => pair.close());
    await pair.expect(t, 'mkdir', 'ok', 'mkdir', 'd', 0o755);
    await pair.expect(t, 'mkdir again', 'EEXIST', 'mkdir', 'd', 0o755);
    await pair.expect(t, 'rmdir of a missing dir', 'ENOENT', 'rmdir', 'nope');
    const h = await pair.value<number>(t, 'open', 'open', 'd/f', 'wronly|creat|excl', 0o640);
    t.equal(h, 1, 'handles are numbered from 1 on both sides');
    await pair.expect(t, 'pwrite', { ok: 100 }, 'pwrite', h, 5, { seed: 1, len: 100 });
    await pair.expect(t, 'close', { ok: null }, 'close', h);
    const st = await pair.value<{ size: number; mode: string }>(t, 'stat', 'stat', 'd/f');
    t.equal(st?.size, 105, 'a write at 5 makes 105 bytes');

    // A difference in the tree is caught, and named.
    writeFileSync(join(b, 'extra'), 'x');
    const [ta, tb] = await Promise.all([pair.m.value<TreeEntry[]>('tree'), pair.r.value<TreeEntry[]>('tree')]);
    const d = treeDifference(ta, tb);
    t.ok(d !== null, 'an extra file makes the trees differ');
    t.equal(d?.b?.path, 'extra', 'the difference names it');
    // A different errno is caught.
    const r = await pair.both('unlink', 'extra');
    t.notSame(r.mnt, r.ref, 'ENOENT on one side, success on the other: different');
    t.same(r.mnt, { err: 'ENOENT' });
    // Contents differ: sha differs.
    writeFileSync(join(a, 'c'), 'one');
    writeFileSync(join(b, 'c'), 'two');
    const x = await pair.both('readfile', 'c');
    t.notSame(x.mnt, x.ref, 'different contents read different');
    // An unknown op and a bad handle are answers, not hangs.
    t.same(await pair.m.call('nosuchop'), { err: 'BADOP:nosuchop' });
    t.same(await pair.m.call('close', 99), { err: 'EBADF' });
    // An open that fails on one side only does not shift the handle numbers of later opens.
    writeFileSync(join(a, 'only-a'), 'a');
    const once = await pair.both('open', 'only-a', 'rdonly', 0);
    t.same(once.ref, { err: 'ENOENT' }, 'fails on one side');
    writeFileSync(join(b, 'only-a'), 'b');
    const next = await pair.both('open', 'only-a', 'rdonly', 0);
    t.same(next.mnt, next.ref, 'the next open gets the same number on both sides');
  });

  t.test('the tree: hard links, symlinks, xattrs, owners', async (t) => {
    const a = scratch(t, 'rw-self-tree');
    const s = new OpServer(a);
    t.teardown(() => s.close());
    await s.value('writefile', 'f', { seed: 3, len: 10 });
    await s.value('link', 'f', 'g');
    await s.value('symlink', 'f', 'l');
    await s.value('setxattr', 'f', 'user.k', 'v');
    await s.value('mkdir', 'd', 0o700);
    const tree = await s.value<TreeEntry[]>('tree');
    t.same(
      tree.map((e) => [e.path, e.type, e.nlink, e.same ?? '']),
      [
        ['d', 'dir', 2, ''],
        ['f', 'file', 2, 'f'],
        ['g', 'file', 2, 'f'],
        ['l', 'symlink', 1, ''],
      ],
    );
    t.same(tree[1]!.xattrs, { 'user.k': '76' }, 'user.* xattrs, hex');
    t.equal(tree[3]!.target, 'f');
    t.equal(tree[0]!.mode, '0o700');
  });

  t.test('an op server as another user', async (t) => {
    const a = scratch(t, 'rw-self-user');
    chmodSync(a, 0o755);
    mkdirMode(a, 'open', 0o1777);
    const s = new OpServer(a, { uid: 65534 });
    t.teardown(() => s.close());
    t.same(await s.value('ids'), [65534, 65534, []], 'nobody, no supplementary groups');
    t.same(await s.call('mkdir', 'x', 0o755), { err: 'EACCES' }, 'no write in a 755 root dir');
    t.same(await s.call('mkdir', 'open/x', 0o755), { ok: null }, 'a 1777 dir takes it');
    t.same(await s.value('stat', 'open/x'), { type: 'dir', mode: '0o755', nlink: 2, uid: 65534, gid: 65534 });
  });

  t.test('withRw in plain mode of a fresh dir (the fixture without a mount)', async (t) => {
    // Only the plain half here: the fixture with a real mount is what rw-*.test.ts use.
    const dir = freshDir('rw-self-plain');
    const refd = scratch(t, 'rw-self-plain-ref');
    t.teardown(() => import('node:fs').then((fs) => fs.rmSync(dir, { recursive: true, force: true })));
    const pair = new Pair(new OpServer(dir), new OpServer(refd));
    t.teardown(() => pair.close());
    await pair.expect(t, 'symlink', 'ok', 'symlink', 'target', 's');
    await pair.expect(t, 'readlink', { ok: 'target' }, 'readlink', 's');
  });

  t.test('a wedged op fails by its timeout instead of hanging', async (t) => {
    const a = scratch(t, 'rw-self-wedge');
    const fifo = join(a, 'fifo');
    const s = new OpServer(a, { timeoutMs: 1500 });
    t.teardown(() => s.close());
    await s.value('mknod', 'fifo', 'fifo', 0o600);
    await t.rejects(s.call('readfile', 'fifo'), /no answer within 1500 ms/, 'opening a fifo with no writer blocks: the call fails');
    await t.rejects(s.call('pid'), /exited/, 'the killed op server refuses further calls');
    t.ok(fifo.length > 0);
  });

  leftoverCheck(t);
}
