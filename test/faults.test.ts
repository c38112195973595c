// The failure paths nothing else provokes, provoked through the addon's fault-injection test
// hook (addon/faults.h): the next N runs of a syscall site fail with a chosen errno, so the real
// recovery code runs (drain or replace the pipe, fall back to copy, answer EIO, count). Every
// test proves three things: the path ran (its counter moved, and the armed fault was used up),
// the bytes read back are the source's, and the server serves correctly afterwards. Both
// serving paths: threads 0 (the event loop executes every READ) and the default worker thread.
// Start-up failures (cloning /dev/fuse for the workers, INIT never answered) go through the API
// and the CLI (SPLICEFS_FAULTS): one clear line, a rejection or non-zero exit, no mount left.
//
// Through the mount only fs.promises (the server shares this event loop) or child processes.
import { randomBytes } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { addon, type FaultSite } from '../src/addon.js';
import { mount, SplicefsError, type MountOptions, type Stats } from '../src/index.js';
import { freshDir, isMounted, leftoverCheck, mountsAt, quietLogger, readDelta, run, withAllSplice, within, type Mounted } from './helpers/mount.js';

const E = constants.errno;
const P = 4096;
const MiB = 1024 * 1024;
const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');

const data = randomBytes(4 * MiB + 123);
const populate = (src: string) => writeFileSync(join(src, 'f'), data);

/** A site, the errno it fails with, and how many times (default once). */
type Fault = [site: FaultSite, errno: number, count?: number];

function arm(faults: Fault[]): void {
  for (const [site, errno, count = 1] of faults) addon.injectFault(site, errno, count);
}

/** Disarms each site, checking every armed fault had been used (none was left armed). */
function usedUp(t: Test, faults: Fault[]): void {
  for (const [site] of faults) t.equal(addon.injectFault(site, 0, 0), 0, `the ${site} fault was used`);
}

function disarmAll(): void {
  for (const s of ['header', 'data', 'pread', 'drain', 'pipe', 'device', 'clone', 'init'] as const) addon.injectFault(s, 0, 0);
}
t.afterEach(disarmAll);

/** The counters a test compares, as deltas. */
function delta(before: Stats, after: Stats) {
  return {
    ...readDelta(before, after),
    interrupted: after.interrupted - before.interrupted,
    forwarded: after.forwarded - before.forwarded,
  };
}

/**
 * The counters once they stop moving: a worker counts a reply after its splice returns, which
 * can be just after the reader already has the bytes.
 */
async function settled(m: Mounted): Promise<Stats> {
  let last = JSON.stringify(m.stats());
  for (let i = 0; i < 100; i++) {
    await new Promise((res) => setTimeout(res, 10));
    const now = JSON.stringify(m.stats());
    if (now === last) break;
    last = now;
  }
  return m.stats();
}

/** One read through an open file: the bytes, or the error it failed with. */
async function readAt(fh: FileHandle, pos: number, len: number): Promise<Buffer | NodeJS.ErrnoException> {
  const buf = Buffer.alloc(len);
  try {
    const { bytesRead } = await within(10_000, `read at ${pos} of ${len}`, fh.read(buf, 0, len, pos));
    return buf.subarray(0, bytesRead);
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
}

const failed = (x: Buffer | NodeJS.ErrnoException): x is NodeJS.ErrnoException => !(x instanceof Buffer);

function exact(t: Test, got: Buffer | NodeJS.ErrnoException, pos: number, len: number, what: string): void {
  const want = data.subarray(pos, Math.min(pos + len, data.length));
  if (failed(got)) {
    t.fail(`${what}: read failed (${got.code})`);
    return;
  }
  t.ok(got.length === want.length && got.equals(want), `${what}: ${got.length} bytes, equal to the source's`);
}

/**
 * The server is healthy: reads of several shapes (the largest READ, aligned, from offset 0:
 * it needs the whole pipe) all come back exact and all go by splice, in the worker when there
 * is one; a whole-file read is exact too.
 */
async function healthy(t: Test, m: Mounted, fh: FileHandle, spliced: boolean, what: string): Promise<void> {
  const threads = m.handle.info.threads;
  const before = await settled(m);
  const reads: Array<[number, number]> = [
    [0, m.handle.info.maxRead],
    [1, 3 * P],
    [data.length - 5000, 10_000],
  ];
  for (const [pos, len] of reads) exact(t, await readAt(fh, pos, len), pos, len, `${what}: afterwards, read at ${pos} of ${len}`);
  const d = delta(before, await settled(m));
  t.equal(d.errorReplies, 0, `${what}: afterwards, no error replies`);
  t.same([d.noSpliceRead, d.pipeTooSmall, d.shortData, d.pipeFull, d.spliceError], [0, 0, 0, 0, 0], `${what}: afterwards, no fallback`);
  if (spliced) {
    t.ok(d.spliceReplies >= reads.length, `${what}: afterwards, spliced (${d.spliceReplies} replies)`);
    t.equal(d.copyReplies, 0, `${what}: afterwards, nothing by copy`);
  } else {
    t.ok(d.copyReplies >= reads.length, `${what}: afterwards, copied (${d.copyReplies} replies)`);
  }
  if (threads > 0) t.equal(d.forwarded, 0, `${what}: afterwards, the worker served them all itself`);
  const whole = await within(30_000, 'whole-file read', readFile(join(m.mnt, 'f')));
  t.ok(whole.equals(data), `${what}: afterwards, a whole-file read is exact`);
  // The RELEASE of that read's file reaches the server after close() returns: wait for it, so
  // it does not land in the next test's counters (a worker forwards it).
  for (let i = 0; i < 100 && m.stats().openFiles !== 1; i++) await new Promise((res) => setTimeout(res, 20));
  t.equal(m.stats().openFiles, 1, `${what}: afterwards, only the test's own file is open`);
}

interface Scenario {
  name: string;
  faults: Fault[];
  /** What the faulted read must look like: the counter deltas that must hold. */
  expect: Partial<ReturnType<typeof delta>>;
  /** The read fails with this errno instead of returning the bytes. */
  fails?: string;
  /** How many faulted reads (default 1): the counters are for all of them. */
  reads?: number;
  /** With worker threads: was the READ handed to the event loop (a failed plan)? */
  forwarded: boolean;
}

const SPLICE_SCENARIOS: Scenario[] = [
  {
    name: 'pipe full (the data splice says EAGAIN): drained, sent by copy',
    faults: [['data', E.EAGAIN]],
    expect: { pipeFull: 1, copyReplies: 1, spliceReplies: 0, spliceError: 0, errorReplies: 0 },
    forwarded: true,
  },
  {
    name: 'the header does not go into the pipe: sent by copy',
    faults: [['header', E.ENOMEM]],
    expect: { spliceError: 1, copyReplies: 1, spliceReplies: 0, pipeFull: 0, errorReplies: 0 },
    forwarded: true,
  },
  {
    name: 'pipe full and the pipe cannot be drained: replaced, sent by copy',
    faults: [
      ['data', E.EAGAIN],
      ['drain', E.EIO],
    ],
    expect: { pipeFull: 1, copyReplies: 1, spliceReplies: 0, spliceError: 0, errorReplies: 0 },
    forwarded: true,
  },
  {
    name: 'pipe full, cannot be drained, and no new pipe can be made: sent by copy',
    faults: [
      ['data', E.EAGAIN],
      ['drain', E.EIO],
      ['pipe', E.EMFILE],
    ],
    expect: { spliceError: 1, pipeFull: 0, copyReplies: 1, spliceReplies: 0, errorReplies: 0 },
    forwarded: true,
  },
  {
    name: 'no pipe can be made for three READs in a row: each goes by copy, then splice resumes',
    faults: [
      ['data', E.EAGAIN],
      ['drain', E.EIO],
      ['pipe', E.ENFILE, 3],
    ],
    reads: 3,
    expect: { spliceError: 3, pipeFull: 0, copyReplies: 3, spliceReplies: 0, errorReplies: 0 },
    forwarded: true,
  },
  {
    name: 'the backing file fails to read (EIO): the reader gets EIO',
    faults: [['data', E.EIO]],
    fails: 'EIO',
    expect: { errorReplies: 1, spliceReplies: 0, copyReplies: 0, pipeFull: 0, spliceError: 0, noSpliceRead: 0 },
    forwarded: true,
  },
  {
    name: 'the device refuses the reply (ENOENT, interrupted): counted, not sent again',
    faults: [['device', E.ENOENT]],
    expect: { interrupted: 1, spliceReplies: 0, copyReplies: 0, errorReplies: 0, pipeFull: 0, spliceError: 0 },
    forwarded: false,
  },
];

const COPY_SCENARIOS: Scenario[] = [
  {
    name: 'copy mode: the backing file fails to read (EIO): the reader gets EIO',
    faults: [['pread', E.EIO]],
    fails: 'EIO',
    expect: { errorReplies: 1, copyReplies: 0, spliceReplies: 0 },
    forwarded: true,
  },
  {
    name: 'copy mode: the device refuses the reply (ENOENT, interrupted): counted, not sent again',
    faults: [['device', E.ENOENT]],
    expect: { interrupted: 1, copyReplies: 0, errorReplies: 0 },
    forwarded: false,
  },
];

async function runScenario(t: Test, m: Mounted, fh: FileHandle, s: Scenario, spliced: boolean): Promise<void> {
  const threads = m.handle.info.threads;
  const [pos, len] = [P + 7, 200_003];
  const reads = s.reads ?? 1;
  const before = await settled(m);
  arm(s.faults);
  for (let i = 0; i < reads; i++) {
    const got = await readAt(fh, pos, len);
    const what = reads > 1 ? `${s.name} (read ${i + 1})` : s.name;
    if (s.fails) {
      t.ok(failed(got) && got.code === s.fails, `${what}: the read failed with ${s.fails}`, {
        got: failed(got) ? got.code : `${got.length} bytes`,
      });
    } else {
      exact(t, got, pos, len, what);
    }
  }
  const d = delta(before, await settled(m));
  usedUp(t, s.faults);
  for (const [k, v] of Object.entries(s.expect)) t.equal(d[k as keyof typeof d], v, `${s.name}: ${k} ${v}`, { d });
  if (threads > 0) t.equal(d.forwarded, s.forwarded ? reads : 0, `${s.name}: ${s.forwarded ? 'the worker handed the READ to the event loop' : 'the worker handled it alone'}`);
  else t.equal(d.forwarded, 0, `${s.name}: no worker, nothing forwarded`);
  await healthy(t, m, fh, spliced, s.name);
}

const THREADS: Array<[string, MountOptions]> = [
  ['threads 0', { threads: 0 }],
  // One worker: a scenario that leaves a pipe broken for the next READs needs them all to meet
  // the same worker's pipe (with two, the other worker's pipe would serve some).
  ['threads 1 (a worker serves READs)', { threads: 1 }],
];

for (const [tname, topts] of THREADS) {
  for (const headerMode of ['patch', 'write'] as const) {
    t.test(`splice faults, header ${headerMode}, direct-io, ${tname}`, async (t) => {
      await withAllSplice(t, { ...topts, directIo: true, readMode: 'splice', headerMode }, { populate }, async (m) => {
        t.equal(m.handle.info.threads, topts.threads, `${m.handle.info.threads} worker threads`);
        t.equal(m.handle.info.headerMode, headerMode, `header strategy ${headerMode}`);
        const fh = await open(join(m.mnt, 'f'));
        try {
          await healthy(t, m, fh, true, 'before any fault');
          for (const s of SPLICE_SCENARIOS) await runScenario(t, m, fh, s, true);
        } finally {
          await fh.close();
        }
      });
    });
  }

  t.test(`copy-mode faults, direct-io, ${tname}`, async (t) => {
    await withAllSplice(t, { ...topts, directIo: true, readMode: 'copy' }, { populate }, async (m) => {
      const fh = await open(join(m.mnt, 'f'));
      try {
        await healthy(t, m, fh, false, 'before any fault');
        for (const s of COPY_SCENARIOS) await runScenario(t, m, fh, s, false);
      } finally {
        await fh.close();
      }
    });
  });

  t.test(`faults under buffered readahead (async READs), ${tname}`, async (t) => {
    await withAllSplice(t, { ...topts, readMode: 'splice' }, { populate }, async (m) => {
      const faults: Fault[] = [
        ['data', E.EAGAIN],
        ['header', E.ENOMEM],
      ];
      const before = m.stats();
      arm(faults);
      const got = await within(30_000, 'whole-file read', readFile(join(m.mnt, 'f')));
      const d = delta(before, await settled(m));
      usedUp(t, faults);
      t.ok(got.equals(data), 'the whole file read back exact');
      t.equal(d.pipeFull, 1, 'one pipe-full fallback');
      t.equal(d.spliceError, 1, 'one splice-error fallback');
      t.equal(d.copyReplies, 2, 'exactly those two went by copy');
      t.ok(d.spliceReplies > 0, `the rest spliced (${d.spliceReplies})`);
      t.equal(d.errorReplies, 0, 'no error replies');
      const fh = await open(join(m.mnt, 'f'));
      try {
        await healthy(t, m, fh, true, 'buffered');
      } finally {
        await fh.close();
      }
    });
  });
}

// ---- start-up failures ----------------------------------------------------------------------

const openFds = () => readdirSync('/proc/self/fd').length;

/** A mount() that must fail: its rejection, and the mountpoint left bare. */
async function failingMount(t: Test, opts: MountOptions, what: string): Promise<SplicefsError | null> {
  const src = freshDir('faults-src');
  const mnt = freshDir('faults-mnt');
  populate(src);
  t.teardown(async () => {
    if (isMounted(mnt)) await run('umount', ['-l', mnt]);
    await run('rm', ['-rf', src]);
    if (!isMounted(mnt)) await run('rmdir', [mnt]);
  });
  const fds = openFds();
  const err = await within(
    20_000,
    what,
    mount(src, mnt, { logger: quietLogger(), ...opts }).then(
      async (h) => {
        await h.unmount({ graceMs: 0 });
        return null;
      },
      (e: unknown) => e,
    ),
  );
  t.ok(err instanceof SplicefsError, `${what}: mount() rejects with a SplicefsError`, { err: String(err) });
  const msg = err instanceof Error ? err.message : '';
  t.notOk(msg.includes('\n'), `${what}: the message is one line: ${msg}`);
  t.same(mountsAt(mnt), [], `${what}: no mount left at the mountpoint`);
  t.equal(openFds(), fds, `${what}: no file descriptor left open`);
  // The same mountpoint mounts and serves normally afterwards.
  await withAllSplice(t, opts.threads === undefined ? {} : { threads: opts.threads }, { source: src }, async (m) => {
    const got = await within(30_000, 'read after the failed mount', readFile(join(m.mnt, 'f')));
    t.ok(got.equals(data), `${what}: afterwards, a new mount serves the file exact`);
  });
  return err instanceof SplicefsError ? err : null;
}

// threads 3 with the third clone failing: two cloned fds are open by then and must be closed.
for (const [threads, skip] of [
  [1, 0],
  [3, 2],
]) {
  t.test(`API: cloning /dev/fuse for the workers fails (threads ${threads}, clone ${skip + 1} fails)`, async (t) => {
    addon.injectFault('clone', E.EMFILE, 1, skip);
    const err = await failingMount(t, { threads }, 'clone failure');
    t.equal(addon.injectFault('clone', 0, 0), 0, 'the clone fault was used');
    t.match(err?.message ?? '', /cannot start serving .*: cannot clone \/dev\/fuse: Too many open files$/, 'says what failed');
  });
}

t.test('API: the INIT reply never arrives: mount() times out, unmounts, rejects', async (t) => {
  addon.injectFault('init', E.EIO, 1);
  const t0 = Date.now();
  const err = await failingMount(t, { initTimeoutMs: 500 }, 'INIT timeout');
  t.equal(addon.injectFault('init', 0, 0), 0, 'the init fault was used');
  t.match(err?.message ?? '', /^mount on .* failed: session ended before INIT: INIT timeout$/, 'says what failed');
  t.ok(Date.now() - t0 >= 500, 'after the timeout asked for');
});

// ---- the CLI, armed through SPLICEFS_FAULTS ----------------------------------------------------

/** Run the CLI with SPLICEFS_FAULTS (tap's NODE_OPTIONS dropped, as a user runs it). */
function cliWithFaults(faults: string, args: string[], timeoutMs: number) {
  return run('env', ['-u', 'NODE_OPTIONS', `SPLICEFS_FAULTS=${faults}`, process.execPath, CLI, ...args], { timeoutMs });
}

function cliFailure(t: Test, r: Awaited<ReturnType<typeof run>>, pattern: RegExp, what: string): void {
  const lines = r.stderr.toString().split('\n').filter(Boolean);
  // Log records are JSON lines; the error is the one plain line.
  const plain = lines.filter((l) => !l.startsWith('{'));
  t.notOk(r.timedOut, `${what}: did not hang`);
  t.equal(r.code, 1, `${what}: exit 1`);
  t.equal(plain.length, 1, `${what}: one error line on stderr`, { stderr: r.stderr.toString() });
  t.match(plain[0] ?? '', /^splicefs: /, `${what}: it starts with "splicefs:"`);
  t.match(plain[0] ?? '', pattern, `${what}: says what failed`);
  t.notOk(/^\s+at /m.test(r.stderr.toString()), `${what}: no stack trace`);
  for (const l of lines.filter((x) => x.startsWith('{'))) t.doesNotThrow(() => JSON.parse(l), `${what}: a log record: ${l.slice(0, 80)}`);
}

t.test('CLI: SPLICEFS_FAULTS=clone:EMFILE:1: one line, exit 1, no mount left', async (t) => {
  const src = freshDir('faults-cli-src');
  const mnt = freshDir('faults-cli-mnt');
  populate(src);
  t.teardown(async () => {
    if (isMounted(mnt)) await run('umount', ['-l', mnt]);
    await run('rm', ['-rf', src]);
    if (!isMounted(mnt)) await run('rmdir', [mnt]);
  });
  const r = await cliWithFaults('clone:EMFILE:1', [src, mnt], 20_000);
  cliFailure(t, r, /cannot start serving .*: cannot clone \/dev\/fuse: Too many open files$/, 'clone failure');
  t.equal(r.stderr.toString().split('\n').filter(Boolean).length, 1, 'nothing else on stderr');
  t.same(mountsAt(mnt), [], 'no mount left');
});

t.test('CLI: SPLICEFS_FAULTS=init:EIO:1: the default INIT timeout, one line, exit 1, no mount left', async (t) => {
  const src = freshDir('faults-cli-src');
  const mnt = freshDir('faults-cli-mnt');
  populate(src);
  t.teardown(async () => {
    if (isMounted(mnt)) await run('umount', ['-l', mnt]);
    await run('rm', ['-rf', src]);
    if (!isMounted(mnt)) await run('rmdir', [mnt]);
  });
  const t0 = Date.now();
  const r = await cliWithFaults('init:EIO:1', [src, mnt], 30_000);
  const took = Date.now() - t0;
  cliFailure(t, r, /mount on .* failed: session ended before INIT: INIT timeout$/, 'INIT timeout');
  t.ok(took >= 10_000 && took < 25_000, `gave up after the 10 s default (${took} ms)`);
  t.same(mountsAt(mnt), [], 'no mount left');
});

t.test('CLI: SPLICEFS_FAULTS arms a READ site in a server that then serves normally', async (t) => {
  const src = freshDir('faults-cli-src');
  const mnt = freshDir('faults-cli-mnt');
  populate(src);
  t.teardown(async () => {
    if (isMounted(mnt)) await run('umount', ['-l', mnt]);
    await run('rm', ['-rf', src]);
    if (!isMounted(mnt)) await run('rmdir', [mnt]);
  });
  const server = cliWithFaults('data:EAGAIN:2', [src, mnt, '--stats', '--direct-io', '--log-level', 'warn'], 60_000);
  for (let i = 0; i < 100 && !isMounted(mnt); i++) await new Promise((res) => setTimeout(res, 100));
  t.ok(isMounted(mnt), 'the server mounted');
  const cat = await run('cat', [join(mnt, 'f')]);
  t.ok(cat.stdout.equals(data), 'cat through the mount: exact');
  const dd = await run('dd', [`if=${join(mnt, 'f')}`, 'bs=64K', 'status=none']);
  t.ok(dd.stdout.equals(data), 'dd bs=64K through the mount: exact');
  t.equal((await run('umount', [mnt])).code, 0, 'umount');
  const r = await server;
  t.equal(r.code, 0, 'the server exits 0');
  let stats: Partial<Stats> = {};
  try {
    stats = JSON.parse(r.stdout.toString()) as Stats;
  } catch {
    t.fail('--stats printed JSON', { stdout: r.stdout.toString() });
  }
  t.equal(stats.read?.fallbacks.pipeFull, 2, 'exactly the two armed pipe-full fallbacks ran');
  t.equal(stats.read?.copyReplies, 2, 'and only those went by copy');
  t.ok((stats.read?.spliceReplies ?? 0) > 0, 'the rest spliced');
  t.equal(stats.read?.errorReplies, 0, 'no error replies');
});

leftoverCheck(t);
