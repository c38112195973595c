// Worker parking (transport/phases.ts, loop-reader.ts, workers.ts): while the workers hand over
// nearly every request they read, they park and the event loop reads /dev/fuse itself, passing
// the READ/WRITE/FSYNC/FALLOCATE of handles with a plan to the parked workers (jobs); a stream
// of such requests unparks them. stats().loop proves each path. The metadata burst is a Python
// child (not this process: the server runs on our event loop): 64 directories made, chmodded
// and timed (every request one the event loop answers: the first window parks), then files
// created with content, chmodded, timed and stat'ed, and a missing name looked up (one request
// in about ten, the WRITE, is one a worker executes: it stays parked). Read mode splice
// throughout: the default (auto) hands files to kernel passthrough, where no READ or WRITE
// reaches the server. Every file is compared with what was written, in the source directory.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import type { Stats } from '../../src/index.js';
import { leftoverCheck, readDelta, run, within, withMount } from '../helpers/mount.js';
import { OpServer } from '../helpers/opserver.js';

const KiB = 1024;
const MiB = 1024 * KiB;

const BURST = `
import os, sys
root, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
d = os.path.join(root, tag)
os.mkdir(d)
for i in range(64):
    s = os.path.join(d, 'd%d' % i)
    os.mkdir(s); os.chmod(s, 0o700); os.utime(s, (1000, 2000)); os.stat(s)
for i in range(n):
    f = os.path.join(d, 'f%d' % i)
    fd = os.open(f, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, (('%s %d\\n' % (tag, i)) * (1 + i % 7)).encode())
    os.close(fd)
    os.chmod(f, 0o600); os.utime(f, (1000000 + i, 2000000 + i)); os.chmod(f, 0o640)
    os.stat(f)
    try:
        os.lstat(f + '.missing')
    except FileNotFoundError:
        pass
`;

const content = (tag: string, i: number) => `${tag} ${i}\n`.repeat(1 + (i % 7));

/** Run the burst on the mount: directory `tag` with n files. */
async function burst(t: Test, mnt: string, tag: string, n: number): Promise<void> {
  const r = await run('python3', ['-c', BURST, mnt, tag, String(n)], { timeoutMs: 120_000 });
  t.equal(r.code, 0, `burst ${tag} (${n} files) ran`, { stderr: r.stderr.toString() });
}

/** The burst's files, read in the source directory: content, mode, mtime. */
function checkBurst(t: Test, src: string, tag: string, n: number): void {
  const bad: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = join(src, tag, `f${i}`);
    try {
      const s = statSync(f);
      if (readFileSync(f, 'utf8') !== content(tag, i)) bad.push(`${f}: content`);
      if ((s.mode & 0o777) !== 0o640) bad.push(`${f}: mode ${(s.mode & 0o777).toString(8)}`);
      if (Math.floor(s.mtimeMs / 1000) !== 2000000 + i) bad.push(`${f}: mtime ${s.mtimeMs}`);
    } catch (e) {
      bad.push(`${f}: ${(e as Error).message}`);
    }
  }
  for (let i = 0; i < 64; i++) {
    const s = statSync(join(src, tag, `d${i}`), { throwIfNoEntry: false });
    if (!s?.isDirectory() || (s.mode & 0o777) !== 0o700) bad.push(`${tag}/d${i}: ${s ? (s.mode & 0o777).toString(8) : 'missing'}`);
  }
  t.same(bad.slice(0, 10), [], `burst ${tag}: ${n} files and 64 dirs as written, in the source`);
}

/**
 * stats() once loop.answered has reached atLeast, or after 2 s. A worker counts a request
 * answered only after its reply went in (addon/workers.cc), so the client can have its reply,
 * and we its answer, a moment before the count moves.
 */
async function settled(stats: () => Stats, atLeast: number): Promise<Stats> {
  const until = performance.now() + 2000;
  let s = stats();
  while (s.loop.answered < atLeast && performance.now() < until) {
    await sleep(5);
    s = stats();
  }
  return s;
}

const parked = (s: Stats) => s.loop.parks > s.loop.unparks;
const loopLine = (s: Stats) => JSON.stringify(s.loop);
const req = (s: Stats, op: string) => s.requests[op] ?? 0;
/** What opserver.py answers for a read. */
const digest = (b: Buffer) => ({ len: b.length, sha: createHash('sha256').update(b).digest('hex').slice(0, 32), ...(b.length <= 64 ? { hex: b.toString('hex') } : {}) });

t.test('default options: a metadata burst parks the workers, a stream unparks them', async (t) => {
  await withMount(t, { readMode: 'splice' }, {}, async ({ src, mnt, stats }) => {
    const s0 = stats();
    t.same([s0.loop.parks, s0.loop.reads], [0, 0], 'not parked at the start');
    await burst(t, mnt, 'a', 300);
    const s1 = stats();
    t.ok(s1.loop.parks >= 1, `the burst parked the workers (${loopLine(s1)})`);
    t.ok(s1.loop.reads > 300, `the event loop read the device (${s1.loop.reads} requests)`);
    t.ok(parked(s1), 'still parked after the burst');
    checkBurst(t, src, 'a', 300);

    // Files written while parked: each WRITE passed to a worker.
    await burst(t, mnt, 'b', 100);
    const s2 = await settled(stats, s1.loop.answered + 100);
    t.equal(s2.loop.unparks, s1.loop.unparks, 'parked throughout the second burst');
    t.ok(s2.loop.reads - s1.loop.reads >= 100 * 8, `the loop read the second burst (${s2.loop.reads - s1.loop.reads})`);
    t.ok(s2.loop.jobs - s1.loop.jobs >= 100, `its 100 WRITEs went to parked workers (jobs +${s2.loop.jobs - s1.loop.jobs})`);
    t.ok(s2.loop.answered - s1.loop.answered >= 100, `and the workers answered them (answered +${s2.loop.answered - s1.loop.answered})`);
    t.equal(s2.write.errorReplies, 0, 'no WRITE failed');
    checkBurst(t, src, 'b', 100);

    // A stream: 8 MiB in 128 KiB writes, fsync, then read back through a fresh open.
    const data = randomBytes(8 * MiB);
    writeFileSync(join(src, 'orig'), data);
    const dd = await run('dd', [`if=${join(src, 'orig')}`, `of=${join(mnt, 'big')}`, 'bs=128k', 'conv=fsync'], { timeoutMs: 60_000 });
    t.equal(dd.code, 0, 'dd wrote 8 MiB in 128 KiB writes', { stderr: dd.stderr.toString() });
    const s3 = stats();
    t.ok(s3.loop.unparks > s2.loop.unparks, `the stream unparked the workers (${loopLine(s3)})`);
    t.ok(s3.loop.jobs > s2.loop.jobs, 'its first WRITEs went to parked workers');
    // Write mode auto: the parked workers' jobs go by copy; once unparked, a worker that sees
    // the stream of 128 KiB WRITEs reads them by splice (rw-write-streams).
    const copied = s3.write.copyBytes - s2.write.copyBytes;
    t.ok(copied > 0, `the parked workers' WRITEs went by copy (${copied} bytes)`);
    t.equal(copied + (s3.write.spliceBytes - s2.write.spliceBytes), 8 * MiB, 'every byte written once, by copy or in a stream by splice');
    t.ok(req(s3, 'FSYNC') > req(s2, 'FSYNC'), 'the fsync reached the server');
    t.ok(readFileSync(join(src, 'big')).equals(data), 'the 8 MiB file is identical in the source');
    const cmp = await run('cmp', [join(src, 'orig'), join(mnt, 'big')], { timeoutMs: 60_000 });
    t.equal(cmp.code, 0, 'read back through the mount: identical', { stdout: cmp.stdout.toString() });
    const d = readDelta(s3, stats());
    t.ok(d.spliceReplies + d.copyReplies > 0, `READ replies counted (splice ${d.spliceReplies}, copy ${d.copyReplies})`);
    t.ok(d.spliceBytes + d.copyBytes >= 8 * MiB, `READ bytes cover the file (${d.spliceBytes + d.copyBytes})`);
  });
});

t.test('parkWorkers false: the workers read every request', async (t) => {
  await withMount(t, { readMode: 'splice', parkWorkers: false }, {}, async ({ src, mnt, stats }) => {
    const s0 = stats();
    await burst(t, mnt, 'a', 300);
    const s1 = stats();
    t.same([s1.loop.parks, s1.loop.reads, s1.loop.jobs], [0, 0, 0], 'never parked, the loop read nothing');
    t.ok(s1.forwarded - s0.forwarded >= 300 * 7, `the workers handed the burst over (${s1.forwarded - s0.forwarded})`);
    checkBurst(t, src, 'a', 300);
  });
});

t.test('write mode splice: the workers never park', async (t) => {
  await withMount(t, { readMode: 'splice', writeMode: 'splice' }, {}, async ({ src, mnt, stats }) => {
    const s0 = stats();
    await burst(t, mnt, 'a', 300);
    const s1 = stats();
    t.same([s1.loop.parks, s1.loop.reads], [0, 0], 'never parked, the loop read nothing');
    t.ok(s1.write.spliceReplies - s0.write.spliceReplies >= 300, `WRITEs spliced (${s1.write.spliceReplies - s0.write.spliceReplies})`);
    t.ok(s1.forwarded - s0.forwarded >= 300 * 7, `the workers handed the rest over (${s1.forwarded - s0.forwarded})`);
    checkBurst(t, src, 'a', 300);
  });
});

t.test('threads 0: the event-loop channel counts its reads', async (t) => {
  await withMount(t, { readMode: 'splice', threads: 0 }, {}, async ({ src, mnt, handle, stats }) => {
    t.equal(handle.info.threads, 0, 'no worker threads');
    const s0 = stats();
    await burst(t, mnt, 'a', 300);
    const s1 = stats();
    const reads = s1.loop.reads - s0.loop.reads;
    const total = (s: Stats) => Object.values(s.requests).reduce((a, b) => a + b, 0);
    t.ok(reads >= 300 * 8, `the loop read the burst (${reads} requests)`);
    t.equal(reads, total(s1) - total(s0), 'as many reads as requests counted: the loop read each one');
    checkBurst(t, src, 'a', 300);
  });
});

t.test('parked: READ, WRITE, FSYNC, FALLOCATE of handles opened before go to the workers', async (t) => {
  const rdata = randomBytes(16 * MiB);
  const wdata = randomBytes(64 * KiB);
  const populate = (s: string) => {
    writeFileSync(join(s, 'r.bin'), rdata);
    writeFileSync(join(s, 'w.bin'), wdata);
  };
  await withMount(t, { readMode: 'splice' }, { populate }, async ({ src, mnt, stats }) => {
    const op = new OpServer(mnt);
    try {
      const hr = await op.value<number>('open', 'r.bin', 'rdonly');
      const hw = await op.value<number>('open', 'w.bin', 'rdwr');
      await burst(t, mnt, 'p', 200);
      const s1 = stats();
      t.ok(parked(s1), `parked after the burst (${loopLine(s1)})`);
      for (const [off, len] of [
        [0, 4096],
        [5 * MiB + 3, 10_000],
        [11 * MiB - 7, 70_000],
        [16 * MiB - 100, 100],
      ] as const) {
        t.same(await op.value('pread', hr, off, len), digest(rdata.subarray(off, off + len)), `pread ${len} at ${off}`);
      }
      const s2 = stats();
      const d = readDelta(s1, s2);
      t.ok(d.spliceReplies + d.copyReplies > 0, `the preads were READs answered (splice ${d.spliceReplies}, copy ${d.copyReplies})`);
      t.ok(s2.loop.jobs > s1.loop.jobs, `READ jobs (+${s2.loop.jobs - s1.loop.jobs})`);
      t.equal(s2.loop.unparks, s1.loop.unparks, 'still parked after the preads');

      t.equal(await op.value('pwrite', hw, 1000, 'parked write'), 12, 'pwrite');
      t.equal(await op.value('fsync', hw), null, 'fsync succeeds');
      t.equal(await op.value('fallocate', hw, '', 0, MiB), null, 'fallocate to 1 MiB succeeds');
      const s3 = await settled(stats, s2.loop.answered + 3);
      t.ok(s3.loop.jobs - s2.loop.jobs >= 3, `WRITE, FSYNC, FALLOCATE went to parked workers (jobs +${s3.loop.jobs - s2.loop.jobs})`);
      t.ok(s3.loop.answered - s2.loop.answered >= 3, `the workers answered them (answered +${s3.loop.answered - s2.loop.answered})`);
      t.equal(s3.loop.unparks, s1.loop.unparks, 'parked throughout');
      t.equal(req(s3, 'FSYNC') - req(s2, 'FSYNC'), 1, 'one FSYNC counted');
      t.equal(req(s3, 'FALLOCATE') - req(s2, 'FALLOCATE'), 1, 'one FALLOCATE counted');
      const w = readFileSync(join(src, 'w.bin'));
      const want = Buffer.alloc(MiB);
      wdata.copy(want);
      want.write('parked write', 1000);
      t.equal(w.length, MiB, 'the source file grew to 1 MiB');
      t.ok(w.equals(want), 'the source file: the write in place, zeros past the old end');
      await op.value('close', hr);
      await op.value('close', hw);
    } finally {
      await op.close();
    }
    checkBurst(t, src, 'p', 200);
  });
});

// A parked worker asleep in poll(2) must come back for the jobs the loop passes it: it only did
// once the device woke it, so a synchronous caller whose READ or WRITE was the last request
// waited forever (the benchmark's byte check hung). With a 1 µs spin the workers sleep at once;
// the pauses let every spin run out before the next request.
t.test('parked workers asleep take the jobs passed to them', async (t) => {
  const data = randomBytes(4 * MiB);
  await withMount(t, { readMode: 'splice', spinUs: 1 }, { populate: (s) => writeFileSync(join(s, 'r.bin'), data) }, async ({ src, mnt, stats }) => {
    const op = new OpServer(mnt);
    try {
      const h = await op.value<number>('open', 'r.bin', 'rdwr');
      await within(60_000, 'the burst', burst(t, mnt, 's', 100));
      const s1 = stats();
      t.ok(parked(s1), `parked after the burst (${loopLine(s1)})`);
      for (let i = 0; i < 10; i++) {
        await sleep(20);
        const off = i * 300_000;
        t.same(await within(5000, `pread ${i}`, op.value('pread', h, off, 5000)), digest(data.subarray(off, off + 5000)), `pread ${i} answered`);
        await sleep(20);
        t.equal(await within(5000, `pwrite ${i}`, op.value('pwrite', h, off, 'x')), 1, `pwrite ${i} answered`);
      }
      const s2 = stats();
      t.ok(s2.loop.jobs - s1.loop.jobs >= 20, `the READs and WRITEs were jobs (+${s2.loop.jobs - s1.loop.jobs})`);
      await op.value('close', h);
    } finally {
      await op.close();
    }
    checkBurst(t, src, 's', 100);
  });
});

// Park and unpark back to back, each time with a synchronous caller whose first request after
// the switch is one the workers execute: parking comes while the workers sleep in poll(2),
// where a request the loop read first never woke them (the old hang).
const CYCLES = `
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
fd = os.open(os.path.join(root, 'big.bin'), os.O_RDONLY | os.O_DIRECT)
import mmap
buf = mmap.mmap(-1, 1 << 20)
for c in range(n):
    d = os.path.join(root, 'c%d' % c)
    os.mkdir(d)
    for i in range(80):
        os.mkdir(os.path.join(d, str(i)))
    for i in range(40):
        os.preadv(fd, [buf], ((c * 40 + i) % 32) << 20)
print('done')
`;

t.test('park and unpark back to back, with synchronous callers', async (t) => {
  const populate = (s: string) => writeFileSync(join(s, 'big.bin'), randomBytes(32 * MiB));
  // A 1 µs spin: the workers sleep in poll(2) at once.
  await withMount(t, { readMode: 'splice', spinUs: 1 }, { populate }, async ({ mnt, stats }) => {
    const r = await run('python3', ['-c', CYCLES, mnt, '20'], { timeoutMs: 60_000 });
    t.equal(r.code, 0, 'every cycle answered', { stderr: r.stderr.toString() });
    const s = stats();
    t.ok(s.loop.parks >= 10 && s.loop.unparks >= 10, `parked and unparked again and again (${loopLine(s)})`);
  });
});

t.test('unmount while parked is clean', async (t) => {
  await withMount(t, { readMode: 'splice' }, {}, async ({ src, mnt, handle, stats }) => {
    await burst(t, mnt, 'u', 200);
    const s = stats();
    t.ok(parked(s), `parked when the unmount comes (${loopLine(s)})`);
    checkBurst(t, src, 'u', 200);
    const t0 = performance.now();
    await within(15_000, 'unmount', handle.unmount({ graceMs: 1000 }));
    const took = performance.now() - t0;
    t.same(await within(5000, 'closed', handle.closed), { reason: 'unmounted' }, 'the server ended: unmounted');
    // unmount() aborts the connection after 2 s if the server has not ended by then.
    t.ok(took < 1900, `the server ended on its own, before the abort (${took.toFixed(0)} ms)`);
    const listed = readFileSync('/proc/self/mounts', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[1] === mnt);
    t.notOk(listed, 'the mountpoint is not in /proc/self/mounts');
  });
});

leftoverCheck(t);
