// Shared code of the fault tests (test/mount/faults-*.test.ts): the failure paths nothing else
// provokes, provoked through the addon's fault-injection test hook (addon/faults.h): the next N
// runs of a syscall site fail with a chosen errno, so the real recovery code runs (drain or
// replace the pipe, fall back to copy, answer EIO, count). Every READ scenario proves three
// things: the path ran (its counter moved, and the armed fault was used up), the bytes read
// back are the source's, and the server serves correctly afterwards.
//
// A file that arms faults registers `t.afterEach(disarmAll)`.
//
// When run as a test file itself (tap runs every .ts under test/), this file checks the hook
// it relies on: arming and disarming a site (no mount).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { open, readFile, type FileHandle } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { addon, type FaultSite } from '../../src/addon.js';
import type { MountOptions, Stats } from '../../src/index.js';
import { freshDir, isMounted, readDelta, run, within, type Mounted } from './mount.js';

export const E = constants.errno;
export const P = 4096;
const MiB = 1024 * 1024;

/** The one file `f` of every fault test's source. */
export const data = randomBytes(4 * MiB + 123);
export const populate = (src: string) => writeFileSync(join(src, 'f'), data);

/** A site, the errno it fails with, and how many times (default once). */
export type Fault = [site: FaultSite, errno: number, count?: number];

export function arm(faults: Fault[]): void {
  for (const [site, errno, count = 1] of faults) addon.injectFault(site, errno, count);
}

/** Disarms each site, checking every armed fault had been used (none was left armed). */
export function usedUp(t: Test, faults: Fault[]): void {
  for (const [site] of faults) t.equal(addon.injectFault(site, 0, 0), 0, `the ${site} fault was used`);
}

export const SITES = ['header', 'data', 'pread', 'drain', 'pipe', 'device', 'clone', 'init'] as const;

export function disarmAll(): void {
  for (const s of SITES) addon.injectFault(s, 0, 0);
}

/** The mounts of the READ scenarios: the event loop serves READs, or one worker does. */
export const THREADS: Array<[string, MountOptions]> = [
  ['threads 0', { threads: 0 }],
  // One worker: a scenario that leaves a pipe broken for the next READs needs them all to meet
  // the same worker's pipe (with two, the other worker's pipe would serve some).
  ['threads 1 (a worker serves READs)', { threads: 1 }],
];

/** The counters a test compares, as deltas. */
export function delta(before: Stats, after: Stats) {
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
export async function settled(m: Mounted): Promise<Stats> {
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
export async function readAt(fh: FileHandle, pos: number, len: number): Promise<Buffer | NodeJS.ErrnoException> {
  const buf = Buffer.alloc(len);
  try {
    const { bytesRead } = await within(10_000, `read at ${pos} of ${len}`, fh.read(buf, 0, len, pos));
    return buf.subarray(0, bytesRead);
  } catch (err) {
    return err as NodeJS.ErrnoException;
  }
}

export const failed = (x: Buffer | NodeJS.ErrnoException): x is NodeJS.ErrnoException => !(x instanceof Buffer);

export function exact(t: Test, got: Buffer | NodeJS.ErrnoException, pos: number, len: number, what: string): void {
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
export async function healthy(t: Test, m: Mounted, fh: FileHandle, spliced: boolean, what: string): Promise<void> {
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

export interface Scenario {
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

/** Arm the scenario's faults, read through `fh`, check the counters, then that all is healthy. */
export async function runScenario(t: Test, m: Mounted, fh: FileHandle, s: Scenario, spliced: boolean): Promise<void> {
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

/**
 * On a mount of the fault tests' source: the server is healthy before any fault, then each
 * scenario in turn (through one open file), each followed by its health check.
 */
export async function runScenarios(t: Test, m: Mounted, scenarios: Scenario[], spliced: boolean): Promise<void> {
  const fh = await open(join(m.mnt, 'f'));
  try {
    await healthy(t, m, fh, spliced, 'before any fault');
    for (const s of scenarios) await runScenario(t, m, fh, s, spliced);
  } finally {
    await fh.close();
  }
}

/**
 * A populated source and a bare mountpoint for a server that is meant to fail (or that runs in
 * a child): whatever happens, the teardown unmounts lazily and removes both.
 */
export function scratchPair(t: Test, label: string): { src: string; mnt: string } {
  const src = freshDir(`${label}-src`);
  const mnt = freshDir(`${label}-mnt`);
  populate(src);
  t.teardown(async () => {
    if (isMounted(mnt)) await run('umount', ['-l', mnt]);
    await run('rm', ['-rf', src]);
    if (!isMounted(mnt)) await run('rmdir', [mnt]);
  });
  return { src, mnt };
}

// ---- self-test, when tap runs this file directly ---------------------------------------
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  t.afterEach(disarmAll);
  t.test('the fault hook: arming a site, and disarming it says how many runs were left', async (t) => {
    arm([['data', E.EAGAIN, 2]]);
    t.equal(addon.injectFault('data', 0, 0), 2, 'an armed fault no READ used: 2 runs left');
    t.equal(addon.injectFault('data', 0, 0), 0, 'disarmed: none left');
    arm(SITES.map((s): Fault => [s, E.EIO]));
    disarmAll();
    for (const s of SITES) t.equal(addon.injectFault(s, 0, 0), 0, `disarmAll disarmed ${s}`);
  });
}
