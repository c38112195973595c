// Write mode auto (the default): WRITEs go by copy, and a worker that sees a stream of large
// WRITEs (64 KiB and up, datapath/write.ts RequestSplicing) reads requests by splice until the
// stream ends, so those payloads go from the pipe into the file by splice. Checked through a real
// mount against a plain reference directory (content, sizes, the tree), and by the counters:
// - one worker, no parking: a 16 MiB write starts a stream (write.streams.started moves, WRITEs
//   go by splice after the first few by copy); lookups after it end the stream (streams.ended);
//   small writes after that go by copy only; a new large write starts a new stream;
// - two workers with parking: metadata work and small files park the workers without a stream
//   (auto parks, unlike splice mode); a run of large writes after them unparks them and splices again;
// - a pipe too small for the largest request (--pipe-pages 16): no stream ever, every WRITE by
//   copy, the same bytes (splice mode refuses that pipe at startup; auto just copies);
// - a stream's bytes land where they belong when the file is read back and when it fills the
//   source (ENOSPC in auto is in rw-enospc, which runs every write mode).
import t from 'tap';
import type { Stats } from '../../src/api/stats.js';
import { leftoverCheck } from '../helpers/mount.js';
import { withRw } from '../helpers/rw.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** One WRITE exactly: 255 pages, the max_write a 256-slot pipe allows (pipe-sizing.ts). */
const ONE_WRITE = 255 * 4096;

function w(s: Stats | undefined) {
  if (!s) throw new Error('no stats');
  return s.write;
}

t.test('auto, one worker: a large write starts a stream, lookups end it, small writes stay copy', async (t) => {
  await withRw(t, { readMode: 'splice', writeMode: 'auto', threads: 1, parkWorkers: false }, {}, async (f) => {
    if (f.plain) return void t.comment('plain mode: no server');
    const p = f.pair;
    const s0 = w(f.stats());
    t.same(s0.streams, { started: 0, ended: 0 }, 'no stream before any write');
    await p.expect(t, '16 MiB in one write', { ok: 16 * MiB }, 'writefile', 'big', { seed: 1, len: 16 * MiB });
    const s1 = w(f.stats());
    t.ok(s1.streams.started >= 1, `a stream started (${s1.streams.started})`);
    t.ok(s1.spliceReplies - s0.spliceReplies > 0, `WRITEs went by splice (${s1.spliceReplies - s0.spliceReplies})`);
    t.ok(s1.copyReplies - s0.copyReplies > 0, `the first WRITEs, before the stream, by copy (${s1.copyReplies - s0.copyReplies})`);
    t.equal(s1.spliceBytes - s0.spliceBytes + (s1.copyBytes - s0.copyBytes), 16 * MiB, 'every payload byte once, by one path or the other');
    await p.expect(t, 'read back', 'ok', 'readfile', 'big');

    // Requests that are not large WRITEs wear the stream out: 20 lookups of new names.
    for (let i = 0; i < 20; i++) await p.expect(t, `lookup ${i}`, 'ENOENT', 'stat', `nope-${i}`);
    const s2 = w(f.stats());
    t.equal(s2.streams.ended, s2.streams.started, `the stream ended (${s2.streams.ended} of ${s2.streams.started})`);

    const h = await p.value<number>(t, 'open small', 'open', 'small', 'wronly|creat', 0o644);
    for (let i = 0; i < 100; i++) await p.expect(t, `small write ${i}`, { ok: 100 }, 'write', h, { seed: 100 + i, len: 100 });
    await p.expect(t, 'close', 'ok', 'close', h);
    const s3 = w(f.stats());
    t.equal(s3.spliceReplies, s2.spliceReplies, 'small writes after the stream: none by splice');
    t.equal(s3.copyBytes - s2.copyBytes, 100 * 100, `every small write's bytes by copy (${s3.copyReplies - s2.copyReplies} WRITEs)`);
    t.equal(s3.streams.started, s2.streams.started, 'and no stream');

    await p.expect(t, '8 MiB more at 16 MiB', { ok: 8 * MiB }, 'writefile', 'big2', { seed: 2, len: 8 * MiB });
    const s4 = w(f.stats());
    t.ok(s4.streams.started > s3.streams.started, 'a new large write starts a new stream');
    t.ok(s4.spliceReplies > s3.spliceReplies, 'and splices again');
    t.equal(s4.errorReplies, 0, 'no WRITE failed');
    await p.expect(t, 'small file read back', 'ok', 'readfile', 'small');
    await p.expect(t, 'big2 read back', 'ok', 'readfile', 'big2');
    await f.sameTrees(t, 'after streams');
  });
});

t.test('auto, two workers with parking: small files park them, large writes unpark and splice', async (t) => {
  await withRw(t, { readMode: 'splice', writeMode: 'auto' }, {}, async (f) => {
    if (f.plain) return void t.comment('plain mode: no server');
    const p = f.pair;
    // Directories made, timed and stat'ed: every request one the event loop answers.
    for (let i = 0; i < 100; i++) {
      await p.expect(t, `mkdir d${i}`, 'ok', 'mkdir', `d${i}`, 0o755);
      await p.expect(t, `utimens d${i}`, 'ok', 'utimens', `d${i}`, [1000, 0], [2000, 0]);
      await p.expect(t, `stat d${i}`, 'ok', 'stat', `d${i}`);
    }
    for (let i = 0; i < 50; i++) await p.expect(t, `small file ${i}`, 'ok', 'writefile', `d${i}/f`, { seed: 1000 + i, len: 200 + i });
    const s1 = f.stats();
    if (!s1) throw new Error('no stats');
    t.ok(s1.loop.parks >= 1, `the workers parked during the metadata work (${s1.loop.parks}): auto parks like copy`);
    t.equal(s1.write.streams.started, 0, 'small files make no stream');
    t.equal(s1.write.spliceReplies, 0, 'and no WRITE by splice');

    const h = await p.value<number>(t, 'open big', 'open', 'big', 'wronly|creat', 0o644);
    for (let i = 0; i < 96; i++) await p.expect(t, `large write ${i}`, { ok: ONE_WRITE }, 'write', h, { seed: 5000 + i, len: ONE_WRITE });
    await p.expect(t, 'close', 'ok', 'close', h);
    const s2 = f.stats();
    if (!s2) throw new Error('no stats');
    t.ok(s2.loop.unparks >= 1, `large writes unparked the workers (${s2.loop.unparks})`);
    t.ok(s2.write.streams.started >= 1, `a stream started (${s2.write.streams.started})`);
    t.ok(s2.write.spliceReplies > 0, `WRITEs by splice (${s2.write.spliceReplies})`);
    t.equal(s2.write.errorReplies, 0, 'no WRITE failed');
    await p.expect(t, 'read back', 'ok', 'readfile', 'big');
    await f.sameTrees(t, 'small files and a big one');
  });
});

t.test('auto with a pipe too small for the largest request: copy only, same bytes', async (t) => {
  await withRw(t, { readMode: 'splice', writeMode: 'auto', pipePages: 16, threads: 1, parkWorkers: false }, {}, async (f) => {
    if (f.plain) return void t.comment('plain mode: no server');
    const p = f.pair;
    await p.expect(t, '8 MiB in one write', { ok: 8 * MiB }, 'writefile', 'big', { seed: 7, len: 8 * MiB });
    const s = w(f.stats());
    t.equal(s.streams.started, 0, 'no stream: requests cannot be spliced into this pipe');
    t.equal(s.spliceReplies, 0, 'no WRITE by splice');
    t.equal(s.copyBytes, 8 * MiB, 'all 8 MiB by copy');
    await p.expect(t, 'read back', 'ok', 'readfile', 'big');
    await f.sameTrees(t, 'small pipe');
  });
});

leftoverCheck(t);
