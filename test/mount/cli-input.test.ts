// The command line given bad input, as a user runs it: `node dist/cli.js` in a child process
// (run `npm run build` first; `npm test` does it in pretest). --help prints the usage and exits
// 0; every bad input (arguments, options, paths, a mountpoint already mounted, no permission
// for /dev/fuse) gives one line on stderr, starting "splicefs:", no stack trace, a non-zero
// exit, never a hang, and mounts nothing.
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CLI, cli, oneLineError } from '../helpers/cli.js';
import { freshDir, isMounted, leftoverCheck, mountsAt, run, withMount } from '../helpers/mount.js';

t.test('dist/cli.js is built', async (t) => {
  t.ok(existsSync(CLI), `${CLI} exists (npm run build)`);
});

t.test('--help exits 0 with the usage', async (t) => {
  for (const flag of ['--help', '-h']) {
    const r = await cli([flag]);
    t.equal(r.code, 0, `${flag}: exit 0`);
    t.match(r.stdout.toString(), /usage: splicefs SOURCE MOUNTPOINT/, `${flag}: usage on stdout`);
    t.match(r.stdout.toString(), /--read-mode/, `${flag}: lists the options`);
    t.equal(r.stderr.toString(), '', `${flag}: nothing on stderr`);
  }
});

t.test('bad input: one clear line, non-zero exit, no hang', async (t) => {
  const dir = freshDir('cli-bad');
  t.teardown(() => run('rm', ['-rf', dir]));
  const src = join(dir, 'src');
  const mnt = join(dir, 'mnt');
  const file = join(dir, 'a-file');
  mkdirSync(src);
  mkdirSync(mnt);
  writeFileSync(file, 'x');
  const missing = join(dir, 'missing');

  const cases: Array<[string, string[], RegExp, number?]> = [
    ['no arguments', [], /missing SOURCE and MOUNTPOINT/, 2],
    ['one argument', [src], /missing MOUNTPOINT/, 2],
    ['too many arguments', [src, mnt, 'extra'], /unexpected argument 'extra'/, 2],
    ['missing source', [missing, mnt], /source .*missing does not exist/],
    ['source not a directory', [file, mnt], /source .*a-file is not a directory/],
    ['missing mountpoint', [src, missing], /mountpoint .*missing does not exist/],
    ['mountpoint not a directory', [src, file], /mountpoint .*a-file is not a directory/],
    ['unknown option', [src, mnt, '--bogus'], /--bogus/, 2],
    ['unknown short option', [src, mnt, '-z'], /-z/, 2],
    ['unknown -o option', [src, mnt, '-o', 'ro,frobnicate'], /unknown mount option 'frobnicate'/, 2],
    ['-o rw', [src, mnt, '-o', 'rw'], /rw/, 2],
    ['-o fsname without value', [src, mnt, '-o', 'fsname='], /fsname/, 2],
    ['bad --read-mode', [src, mnt, '--read-mode', 'teleport'], /read.mode/, 2],
    ['bad --header-mode', [src, mnt, '--header-mode', 'sideways'], /header.mode/, 2],
    ['bad --max-read', [src, mnt, '--max-read', 'lots'], /--max-read/, 2],
    ['--pipe-pages 0', [src, mnt, '--pipe-pages', '0'], /pipe-pages/, 2],
    ['--max-background 0', [src, mnt, '--max-background', '0'], /max-background/, 2],
    ['bad --log-level', [src, mnt, '--log-level', 'shout'], /log level/, 2],
    ['bad --timeout', [src, mnt, '--timeout', '-1'], /timeout/, 2],
    ['--read-mode without value', [src, mnt, '--read-mode'], /read-mode/, 2],
    ['umount without mountpoint', ['umount'], /umount/, 2],
    ['umount of a directory that is not a mount', ['umount', mnt], /not a mount point/],
    ['umount of a missing path', ['umount', missing], /does not exist/],
  ];
  for (const [what, args, pattern, code] of cases) oneLineError(t, what, await cli(args), pattern, code);
  t.notOk(isMounted(mnt), 'nothing got mounted');
});

t.test('bad input: mountpoint already a mount', async (t) => {
  await withMount(t, {}, {}, async ({ mnt }) => {
    const other = freshDir('cli-src2');
    t.teardown(() => run('rmdir', [other]));
    const before = mountsAt(mnt).length;
    // The child stats the mountpoint: served by this process's loop while we await.
    const r = await cli([other, mnt]);
    oneLineError(t, 'already a mount', r, /already a mount point/);
    t.equal(mountsAt(mnt).length, before, 'no second mount stacked on it');
  });
});

t.test('bad input: no permission for /dev/fuse (unprivileged user)', async (t) => {
  const dir = freshDir('cli-nobody', 'tmp');
  chmodSync(dir, 0o755);
  t.teardown(() => run('rm', ['-rf', dir]));
  mkdirSync(join(dir, 'src'), { mode: 0o755 });
  mkdirSync(join(dir, 'mnt'), { mode: 0o777 });
  const who = await run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'id', '-u']);
  t.equal(who.stdout.toString().trim(), '65534', 'setpriv runs a command as uid 65534');
  const r = await cli([join(dir, 'src'), join(dir, 'mnt')], { asNobody: true });
  const line = oneLineError(t, 'unprivileged', r, /permission/i);
  t.match(line, /\/dev\/fuse|mount/, 'names what it was refused');
  t.notOk(isMounted(join(dir, 'mnt')), 'nothing got mounted');
});

leftoverCheck(t);
