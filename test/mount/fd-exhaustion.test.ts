// Issue 9, fault 3: a big tree must not run the server out of file descriptors. With the
// server at a lowered `ulimit -n`, a stat of each of 3000 files by name succeeds, and a walk of a
// 100,000-file tree (find, ls -lR, du -s) succeeds with the source's output while the server's
// open fds (/proc/PID/fd) stay clear of its limit.
//
// The 1,000,000-file variant is test/scripts/fd-walk-1m.sh (slow; not run by npm test).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { makeTree } from '../helpers/fds.js';
import { leftoverCheck } from '../helpers/mount.js';
import { fdCount, fdSampler, needTools, onBoth, PY, sameBig, scratch, sh, startMounted, type CliServer } from '../helpers/mirror.js';

const LOW = 1024;
/** Fds the server must keep free below its limit (for the files users hold open, the device, ...). */
const HEADROOM = 64;

/** The server still answers, and can still open something it never opened before. */
async function stillServing(t: Test, s: CliServer, src: string, mnt: string): Promise<void> {
  writeFileSync(join(src, 'late-arrival'), 'late\n');
  t.notOk(s.hasExited(), 'the server is still running', { stderr: s.stderr().slice(-2000) });
  const r = await sh('cat "$1/late-arrival"', [mnt], { timeoutMs: 10_000 });
  t.equal(r.stdout.toString(), 'late\n', 'a file never seen before still opens and reads', { stderr: r.stderr.toString(), fds: fdCount(s.pid) });
}

t.test('needs the walking tools', async (t) => {
  await needTools(t, ['find', 'ls', 'du', 'stat', 'xargs', PY]);
});

t.test(`3000 files, server at ulimit -n ${LOW}: every file by name`, async (t) => {
  const src = scratch(t, 'fd3000');
  for (let i = 1; i <= 3000; i++) writeFileSync(join(src, `f${String(i).padStart(5, '0')}`), `content of ${i}\n`);
  const names = Array.from({ length: 3000 }, (_v, i) => `f${String(i + 1).padStart(5, '0')}`).join('\n') + '\n';

  const cases: Array<[string, string]> = [
    [
      'python os.stat of each name (no readdir)',
      `${PY} -c "import os,sys
bad=0
for i in range(1,3001):
    n='f%05d'%i
    try:
        s=os.stat(os.path.join(sys.argv[1],n)); print(n, s.st_size, oct(s.st_mode), s.st_nlink, s.st_uid)
    except OSError as e:
        bad+=1; print(n, 'ERROR', e.strerror)
sys.exit(1 if bad else 0)" "$P"`,
    ],
    ['stat(1) of all 3000 names at once', `sed "s|^|$P/|" | xargs -d '\\n' stat -c '%n %s %h %a'`],
    [
      'read each file by name',
      `${PY} -c "import os,sys
bad=0
for i in range(1,3001):
    n='f%05d'%i
    try:
        with open(os.path.join(sys.argv[1],n),'rb') as f: print(n, f.read().decode().strip())
    except OSError as e:
        bad+=1; print(n, 'ERROR', e.strerror)
sys.exit(1 if bad else 0)" "$P"`,
    ],
    ['stat of each name, twice', `for k in 1 2; do printf '%s' "$NAMES" | sed "s|^|$P/|" | xargs -d '\\n' stat -c '%n %s' || exit; done`],
  ];
  for (const [what, script] of cases) {
    await t.test(what, async (t) => {
      const mnt = scratch(t, 'mnt');
      const s = await startMounted(t, src, mnt, { nofile: LOW });
      const r = await onBoth(script, src, mnt, { timeoutMs: 120_000, input: names, env: { NAMES: names } });
      sameBig(t, what, r);
      await stillServing(t, s, src, mnt);
    });
  }
});

t.test(`a 100,000-file tree, server at ulimit -n ${LOW}: find, ls -lR, du -s`, async (t) => {
  const src = scratch(t, 'fd100k');
  await makeTree(t, src, 100, 1000);
  const mnt = scratch(t, 'mnt');
  const s = await startMounted(t, src, mnt, { nofile: LOW });
  const sampler = fdSampler(s.pid);
  const walks: Array<[string, string]> = [
    ['find', 'find "$P" | sort; exit ${PIPESTATUS[0]}'],
    ['ls -lR', 'ls -lR "$P"'],
    ['du -s', 'du -s "$P"'],
    ['find -printf (stats every entry)', 'find "$P" -printf "%P %s %n\\n" | sort; exit ${PIPESTATUS[0]}'],
  ];
  for (const [what, script] of walks) {
    const r = await onBoth(script, src, mnt, { timeoutMs: 180_000 });
    sameBig(t, what, r);
    t.comment(`${what}: the server's fds so far at most ${sampler.max()} (limit ${LOW})`);
  }
  const max = sampler.stop();
  t.ok(max > 0, `the server's fds were sampled (${max})`);
  t.ok(max <= LOW - HEADROOM, `the server's open fds stayed bounded: at most ${max}, limit ${LOW}, at least ${HEADROOM} kept free`);
  await stillServing(t, s, src, mnt);
});

leftoverCheck(t);
