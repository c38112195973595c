// Issue 9, item 9: the birth time through the mount is the source's. `stat -c %W` / `%w` make
// statx(2) ask for btime, which the kernel turns into FUSE_STATX (it used to get ENOSYS, and the
// kernel then gave up statx for the whole mount: "-" for every file). Files, directories,
// symlinks (not followed, and followed with -L), a hard link and a FIFO, compared with the
// source; and a source that has no birth time (procfs) shows "-" through the mount too.
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck, run, withMount } from '../helpers/mount.js';

const NAMES = ['file', 'dir', 'link', 'dirlink', 'dangling', 'hard', 'fifo', 'dir/inner'];

function populate(src: string): void {
  writeFileSync(join(src, 'file'), 'content\n');
  mkdirSync(join(src, 'dir'));
  writeFileSync(join(src, 'dir', 'inner'), '');
  symlinkSync('file', join(src, 'link'));
  symlinkSync('dir', join(src, 'dirlink'));
  symlinkSync('nowhere', join(src, 'dangling'));
  linkSync(join(src, 'file'), join(src, 'hard'));
  execFileSync('mkfifo', [join(src, 'fifo')]);
}

/** `stat -c FORMAT` of each name under dir (one line each; errors included in the output). */
async function statEach(dir: string, format: string, extra: string[] = []): Promise<string> {
  const r = await run('stat', [...extra, '-c', format, ...NAMES.map((n) => join(dir, n))], { env: { ...process.env, LC_ALL: 'C' } });
  return r.stdout.toString() + r.stderr.toString().split(dir).join('@');
}

t.test('stat -c "%W %w": the source\'s birth time, for every kind of file', async (t) => {
  await withMount(t, {}, { populate }, async ({ src, mnt, stats }) => {
    const before = stats().requests.STATX ?? 0;
    const want = await statEach(src, '%W %w');
    t.notMatch(want, / - /, 'the source (tmpfs) has birth times');
    t.equal(await statEach(mnt, '%W %w'), want, 'the same birth times through the mount (s and ns)');
    // One STATX per inode: `hard` is `file`'s inode, whose btime the kernel then has cached.
    t.equal((stats().requests.STATX ?? 0) - before, NAMES.length - 1, 'answered by STATX, one per inode (counted in stats().requests)');
    t.equal(await statEach(mnt, '%W %w', ['-L']), await statEach(src, '%W %w', ['-L']), 'with -L: the targets\' birth times, the dangling link\'s error');
  });
});

t.test('a source without birth times: "-" through the mount, as on the source', async (t) => {
  await withMount(t, {}, { source: '/proc/sys/kernel' }, async ({ mnt, stats }) => {
    const names = ['ostype', 'random', 'random/uuid'];
    const want = await run('stat', ['-c', '%W %w %n', ...names.map((n) => join('/proc/sys/kernel', n))]);
    const got = await run('stat', ['-c', '%W %w %n', ...names.map((n) => join(mnt, n))]);
    t.equal(got.stdout.toString().split(mnt).join('/proc/sys/kernel'), want.stdout.toString());
    t.match(want.stdout.toString(), /^0 - /, 'procfs reports no btime (STATX_BTIME not in the mask)');
    t.ok((stats().requests.STATX ?? 0) > 0, 'asked by STATX');
  });
});

leftoverCheck(t);
