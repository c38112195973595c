// Issue 9, item 7: /proc/PID/status-like files have size 0 and no splice_read (splice(2) from
// them fails with EINVAL). Read with direct I/O, their READs first try splice and fall back to
// copy (auto mode remembers the file, splice mode tries each time): the content equals the
// source's and the fallback is counted (read.fallbacks.noSpliceRead), on worker threads and on
// the event loop alike, and no READ is answered with an error.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import type { MountOptions } from '../../src/index.js';
import { leftoverCheck, run, withMount } from '../helpers/mount.js';

const FILES = ['status', 'cmdline', 'environ', 'maps', 'limits', 'comm', 'cgroup'];

/**
 * What `cat` prints. status's SigQ line counts the signals queued for every process of the same
 * user (root: the whole machine), so it can change between two reads: it is masked.
 */
async function cat(path: string): Promise<Buffer> {
  const r = await run('cat', [path]);
  if (r.code !== 0) return Buffer.from(`error ${r.code}: ${r.stderr}`);
  return path.endsWith('/status') ? Buffer.from(r.stdout.toString('latin1').replace(/^SigQ:.*$/m, 'SigQ: (masked)'), 'latin1') : r.stdout;
}

// A process that sleeps through the test: its /proc files do not change while they are read.
const sleeper = spawn('sleep', ['600'], { stdio: 'ignore', env: { ...process.env, SPLICEFS_TEST_MARK: 'x'.repeat(5000) } });
t.teardown(() => {
  sleeper.kill('SIGKILL');
});
const proc = `/proc/${sleeper.pid}`;

const MODES: Array<[string, MountOptions, boolean]> = [
  ['auto, worker threads', { spliceMin: 0 }, true],
  ['auto, event loop only', { spliceMin: 0, threads: 0 }, true],
  ['splice (tries each READ)', { spliceMin: 0, readMode: 'splice' }, true],
  ['copy (never splices)', { readMode: 'copy' }, false],
];

for (const [name, opts, spliced] of MODES) {
  t.test(`${proc}/{${FILES.join(',')}}: ${name}`, async (t) => {
    await withMount(t, opts, { source: proc }, async ({ mnt, stats }) => {
      for (const f of FILES) {
        const want = await cat(join(proc, f));
        t.ok(want.length > 0, `${f}: the source has content`);
        t.same(await cat(join(mnt, f)), want, `${f}: the same bytes through the mount`);
      }
      const s = stats();
      t.ok(s.directIoOpens.pseudoFs >= FILES.length, 'every open was direct I/O (pseudoFs)');
      t.equal(s.read.errorReplies, 0, 'no READ answered with an error');
      if (spliced) t.ok(s.read.fallbacks.noSpliceRead >= FILES.length, `the missing splice_read was met and counted (noSpliceRead ${s.read.fallbacks.noSpliceRead})`);
      else t.equal(s.read.fallbacks.noSpliceRead, 0, 'copy mode never tries splice');
      t.ok(s.read.copyReplies > 0, 'the bytes went by copy');
    });
  });
}

leftoverCheck(t);
