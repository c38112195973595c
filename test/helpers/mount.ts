// Shared helpers for the mount tests.
//
// THE rule of every test that mounts with the programmatic API: the server runs on this
// process's event loop, so a synchronous fs call on a path inside the mount deadlocks (the
// kernel waits for the server, the server waits for the loop). Through the mount use only
// fs.promises (libuv pool; at most 3 at a time, the pool has 4 threads) or child processes.
// Synchronous calls on the SOURCE directory are fine. Nothing in this file touches a path
// inside a mount synchronously; /proc/self/mountinfo is read to know what is mounted.
//
// When run as a test file itself (tap runs every .ts under test/), this file checks its own
// promise: a mount whose test body throws, or leaves a file open, is still unmounted.
import { execFile, type ExecFileOptions } from 'node:child_process';
import { mkdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import t, { type Test } from 'tap';
import { mount, type MountHandle, type MountOptions, type Stats } from '../../src/index.js';

type T = Test;

/** Every dir this process makes starts with this, so leftovers are attributable to us. */
export const RUN_PREFIX = `splicefs-test-${process.pid}-`;
let seq = 0;

// The server's own /proc/self/mountinfo parser (never touches a FUSE path).
import { readMountinfo as mountinfo, type MountEntry } from '../../src/mnt/mountinfo.js';
export type { MountEntry };
export { mountinfo };

export function mountsAt(path: string): MountEntry[] {
  return mountinfo().filter((m) => m.mountpoint === path);
}

export function isMounted(path: string): boolean {
  return mountsAt(path).length > 0;
}

/** splicefs mounts on directories this process created. */
export function ourLeftovers(): MountEntry[] {
  return mountinfo().filter((m) => m.mountpoint.includes(RUN_PREFIX));
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: Buffer;
  timedOut: boolean;
}

/**
 * Run a child process and collect its output; never rejects (exit status is in the result).
 * The timeout kills the child with SIGKILL, so no test hangs on a stuck reader.
 */
export function run(
  cmd: string,
  args: readonly string[],
  opts: ExecFileOptions & { timeoutMs?: number; input?: string | Buffer } = {},
): Promise<RunResult> {
  const { timeoutMs = 30_000, input, ...rest } = opts;
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { maxBuffer: 256 * 1024 * 1024, encoding: 'buffer', timeout: timeoutMs, killSignal: 'SIGKILL', ...rest },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { killed?: boolean; signal?: NodeJS.Signals; code?: unknown }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout: stdout as unknown as Buffer,
          stderr: stderr as unknown as Buffer,
          timedOut: Boolean(e?.killed && e.signal === 'SIGKILL'),
        });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

/** Reject with a clear message instead of hanging. */
export async function within<V>(ms: number, what: string, p: Promise<V>): Promise<V> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_r, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The directory the tests' own directories (and so every mountpoint they make) go under: on
 * tmpfs ('shm', most tests) or on a disk filesystem ('tmp'). SPLICEFS_TEST_SHM and
 * SPLICEFS_TEST_TMP name them when set: .ci/run sets both to fresh directories of its run, and
 * then checks and cleans only the mounts under them, never a mount someone else made. Unset:
 * /dev/shm and os.tmpdir(). A directory given must exist and be searchable by uid 65534 (some
 * tests run commands as that user): mode 1777, as /dev/shm and /tmp are.
 */
export function testRoot(where: 'shm' | 'tmp' = 'shm'): string {
  const given = process.env[where === 'shm' ? 'SPLICEFS_TEST_SHM' : 'SPLICEFS_TEST_TMP'];
  return given || (where === 'shm' ? '/dev/shm' : tmpdir());
}

/** A fresh, unique directory (under testRoot: tmpfs by default, or 'tmp' for a disk fs). */
export function freshDir(label: string, where: 'shm' | 'tmp' = 'shm'): string {
  const dir = join(testRoot(where), `${RUN_PREFIX}${label.replace(/[^A-Za-z0-9_-]/g, '_')}-${seq++}`);
  mkdirSync(dir, { recursive: false, mode: 0o755 });
  return dir;
}

export interface Mounted {
  /** The source directory (sync fs calls are fine here). */
  src: string;
  /** The mountpoint (fs.promises or child processes only). */
  mnt: string;
  handle: MountHandle;
  stats(): Stats;
}

export interface MountFixtureOptions {
  /** Where the fresh source dir lives (ignored when `source` is given). */
  where?: 'shm' | 'tmp';
  /** Mount this existing directory instead of a fresh one (it is never removed). */
  source?: string;
  /** Fill the fresh source before mounting. */
  populate?: (src: string) => void;
}

/** A pino logger at warn: real warnings show up in the test's stderr, info lines do not. */
export function quietLogger() {
  return pino({ name: 'splicefs-test', level: 'warn' }, pino.destination({ fd: 2, sync: true }));
}

/**
 * Force a mount at `mnt` away: the handle's unmount first (by its caller), then the
 * connection's abort switch and a lazy umount. Never touches the mount's contents.
 */
export async function forceUnmount(mnt: string): Promise<void> {
  for (const m of mountsAt(mnt)) {
    if (m.fstype.startsWith('fuse')) {
      await writeFile(`/sys/fs/fuse/connections/${m.minor}/abort`, '1').catch(() => {});
    }
  }
  for (let i = 0; i < 5 && isMounted(mnt); i++) await run('umount', ['-l', mnt], { timeoutMs: 10_000 });
}

/**
 * Mount a fresh source (or `fx.source`) on a fresh mountpoint and run `fn`. Whatever `fn` does
 * (throws, times out, leaves files open), the mount is removed: a finally here, and a
 * t.teardown in case the test is killed by its timeout. Asserts no mount of the path remains.
 */
export async function withMount(
  t: T,
  options: MountOptions,
  fx: MountFixtureOptions,
  fn: (m: Mounted) => Promise<void>,
): Promise<void> {
  const ownSource = fx.source === undefined;
  const src = fx.source ?? freshDir('src', fx.where);
  const mnt = freshDir('mnt');
  let handle: MountHandle | undefined;
  let cleaned = false;
  const cleanup = async (): Promise<boolean> => {
    if (cleaned) return !isMounted(mnt);
    cleaned = true;
    if (handle) {
      await within(15_000, 'unmount', handle.unmount({ graceMs: 1000 })).catch(() => {});
    }
    if (isMounted(mnt)) await forceUnmount(mnt);
    const gone = !isMounted(mnt);
    if (gone) {
      // Only once nothing is mounted there: removing a mounted dir's contents would go
      // through the mount (and deadlock).
      try {
        rmdirSync(mnt);
      } catch {
        /* leave it */
      }
    }
    if (ownSource) rmSync(src, { recursive: true, force: true });
    return gone;
  };
  t.teardown(async () => {
    await cleanup();
  });
  try {
    fx.populate?.(src);
    handle = await within(20_000, 'mount', mount(src, mnt, { logger: quietLogger(), ...options }));
    const h = handle;
    await fn({ src, mnt, handle: h, stats: () => h.stats() });
  } finally {
    const gone = await cleanup();
    t.ok(gone, `no mount left at ${mnt}`);
  }
}

/**
 * withMount for tests of the splice machinery at every READ size: read mode splice unless the
 * test names another (the default, auto, hands reads to the kernel where it takes them: FUSE
 * passthrough, and no READ reaches the server), and spliceMin 0 (even a one-page READ splices)
 * unless the test sets it; the default copies one-page READs.
 */
export const withAllSplice: typeof withMount = (t, opts, fx, fn) => withMount(t, { spliceMin: 0, readMode: 'splice', ...opts }, fx, fn);

/** Counter deltas: `after - before` for the READ counters. */
export function readDelta(before: Stats, after: Stats) {
  const a = after.read;
  const b = before.read;
  return {
    spliceReplies: a.spliceReplies - b.spliceReplies,
    spliceBytes: a.spliceBytes - b.spliceBytes,
    copyReplies: a.copyReplies - b.copyReplies,
    copyBytes: a.copyBytes - b.copyBytes,
    errorReplies: a.errorReplies - b.errorReplies,
    smallCopies: a.smallCopies - b.smallCopies,
    noSpliceRead: a.fallbacks.noSpliceRead - b.fallbacks.noSpliceRead,
    pipeTooSmall: a.fallbacks.pipeTooSmall - b.fallbacks.pipeTooSmall,
    shortData: a.fallbacks.shortData - b.fallbacks.shortData,
    pipeFull: a.fallbacks.pipeFull - b.fallbacks.pipeFull,
    spliceError: a.fallbacks.spliceError - b.fallbacks.spliceError,
  };
}

/** The final test of a file: none of this process's mounts is left, and none is stale. */
export function leftoverCheck(t: T): void {
  t.test('no splicefs mount left behind by this file', async (t) => {
    const left = ourLeftovers();
    t.same(
      left.map((m) => m.mountpoint),
      [],
      'no mount on a directory this test process created',
    );
    for (const m of left) await forceUnmount(m.mountpoint);
  });
}

// ---- self-test, when tap runs this file directly ---------------------------------------
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  t.test('a mount whose test body throws is still unmounted', async (t) => {
    let mnt = '';
    await t.rejects(
      withMount(t, { readMode: 'copy' }, { populate: (s) => mkdirSync(join(s, 'd')) }, async (m) => {
        mnt = m.mnt;
        t.ok(isMounted(m.mnt), 'mounted while the body runs');
        throw new Error('boom');
      }),
      { message: 'boom' },
    );
    t.not(mnt, '');
    t.notOk(isMounted(mnt), 'gone after the body threw');
  });

  t.test('a mount with a file still open is still unmounted', async (t) => {
    let mnt = '';
    const { open } = await import('node:fs/promises');
    let fh: Awaited<ReturnType<typeof open>> | undefined;
    await withMount(t, {}, { populate: (s) => writeFileSync(join(s, 'f'), 'x') }, async (m) => {
      mnt = m.mnt;
      fh = await open(join(m.mnt, 'f'));
      t.equal((await fh.read(Buffer.alloc(4), 0, 4, 0)).bytesRead, 1);
      // deliberately left open: the helper must detach and abort after its grace period
    });
    t.notOk(isMounted(mnt), 'gone although a file was open');
    // The connection was aborted: close() reports ENOTCONN (from FLUSH) but releases the fd.
    await fh?.close().catch(() => {});
  });

  leftoverCheck(t);
}
