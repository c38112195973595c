// The command line given bad input, as a user runs it: `node dist/cli.js` in a child process
// (run `npm run build` first; `npm test` does it in pretest). --help prints the usage and exits
// 0; every bad input (arguments, options, paths, a mountpoint already mounted, no permission
// for /dev/fuse) gives one line on stderr, starting "splicefs:", no stack trace, a non-zero
// exit, never a hang, and mounts nothing.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CLI, ROOT, cli, oneLineError } from '../helpers/cli.js';
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

t.test('--version and -V print the version, exit 0', async (t) => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const r = await cli([flag]);
    t.equal(r.code, 0, `${flag}: exit 0`);
    t.match(r.stdout.toString(), new RegExp(`^splicefs ${version.replace(/\./g, '\\.')}\n`), `${flag}: splicefs ${version}`);
    t.match(r.stdout.toString(), /FUSE kernel protocol 7\.\d+/, `${flag}: the protocol it speaks`);
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
    ['a near miss of a command (unmount)', ['unmount', mnt], /unknown command 'unmount': did you mean 'splicefs umount'\?/, 2],
    ['a near miss of a command (stat)', ['stat', mnt], /unknown command 'stat': did you mean 'splicefs stats'\?/, 2],
    ['one argument', [src], /missing MOUNTPOINT/, 2],
    ['too many arguments', [src, mnt, 'extra'], /unexpected argument 'extra'/, 2],
    ['missing source', [missing, mnt], /source .*missing does not exist/],
    ['source not a directory', [file, mnt], /source .*a-file is not a directory/],
    ['missing mountpoint', [src, missing], /mountpoint .*missing does not exist/],
    ['mountpoint not a directory', [src, file], /mountpoint .*a-file is not a directory/],
    ['unknown option', [src, mnt, '--bogus'], /unknown option '--bogus'/, 2],
    ['unknown option with a value', [src, mnt, '--bogus=1'], /unknown option '--bogus'/, 2],
    ['unknown option before the paths', ['--bogus', src, mnt], /unknown option '--bogus'/, 2],
    ['unknown short option', [src, mnt, '-z'], /unknown option '-z'/, 2],
    ['unknown short option in a bundle', [src, mnt, '-fz'], /unknown option '-z' in '-fz'/, 2],
    ['a path that looks like an option', ['-weird', mnt], /unknown option '-w' in '-weird'/, 2],
    ['a lone -', [src, '-'], /mountpoint - does not exist/, 1],
    ['a lone --', ['--'], /missing SOURCE and MOUNTPOINT/, 2],
    ['a path after -- that looks like an option', ['--', '-x', mnt], /^splicefs: source -x does not exist$/, 1],
    ['--threads=x', [src, mnt, '--threads=x'], /^splicefs: --threads takes a whole number from 0 to 64, not 'x' \(see splicefs --help\)$/, 2],
    ['--threads -1', [src, mnt, '--threads', '-1'], /--threads takes a whole number from 0 to 64, not '-1'/, 2],
    ['--threads without value', [src, mnt, '--threads'], /--threads needs a value: N, a whole number from 0 to 64/, 2],
    ['--threads out of range', [src, mnt, '--threads', '1000'], /--threads takes a whole number from 0 to 64, not '1000' \(see splicefs --help\)$/, 2],
    ['--spin-us in hex', [src, mnt, '--spin-us', '0x10'], /--spin-us takes a whole number from 0 to 1000000, not '0x10'/, 2],
    ['-s and --threads', [src, mnt, '-s', '--threads', '2'], /-s \(single thread\) and --threads 2 contradict/, 2],
    ['a flag given a value', [src, mnt, '--direct-io=yes'], /--direct-io takes no value, not 'yes'/, 2],
    ['-o without value', [src, mnt, '-o'], /-o needs a value/, 2],
    ['unknown -o option', [src, mnt, '-o', 'ro,frobnicate'], /unknown mount option 'frobnicate'/, 2],
    ['--write-mode x', [src, mnt, '--write-mode', 'x'], /--write-mode takes one of auto, splice, copy, not 'x' \(see splicefs --help\)$/, 2],
    ['mount_helper=none with auto_unmount', [src, mnt, '-o', 'auto_unmount,mount_helper=none'], /-o auto_unmount and -o mount_helper=none contradict each other \(auto_unmount needs fusermount3\)/, 2],
    ['--mount-helper x', [src, mnt, '--mount-helper', 'x'], /--mount-helper takes one of auto, none, fusermount3, not 'x'/, 2],
    ['-o allow_root,allow_other', [src, mnt, '-o', 'allow_root,allow_other'], /allow_other and allow_root contradict/, 2],
    ['-o fsname without value', [src, mnt, '-o', 'fsname='], /-o fsname takes a name without commas or white space, not ''/, 2],
    ['-o fsname with a space', [src, mnt, '-o', 'fsname=a b'], /-o fsname takes a name without commas or white space, not 'a b'/, 2],
    ['-o subtype with a slash', [src, mnt, '-o', 'subtype=a/b'], /-o subtype takes a name of letters, digits and \._\+-, not 'a\/b'/, 2],
    ['-o threads=x', [src, mnt, '-o', 'threads=x'], /-o threads takes a whole number from 0 to 64, not 'x'/, 2],
    ['-o spin_us=-1', [src, mnt, '-o', 'spin_us=-1'], /-o spin_us takes a whole number from 0 to 1000000, not '-1' \(see splicefs --help\)$/, 2],
    ['-o read_mode without value', [src, mnt, '-o', 'read_mode'], /-o read_mode needs a value: read_mode=MODE, one of auto, passthrough, splice, copy/, 2],
    ['-o ro=1', [src, mnt, '-o', 'ro=1'], /-o ro takes no value, not '1'/, 2],
    ['--log-file without value', [src, mnt, '--log-file='], /--log-file takes a path, not ''/, 2],
    ['an escape sequence', [src, mnt, '--\x1b[2J'], /unknown option '--\\x1b\[2J'/, 2],
    ['bad --read-mode', [src, mnt, '--read-mode', 'teleport'], /--read-mode takes one of auto, passthrough, splice, copy, not 'teleport'/, 2],
    ['bad --header-mode', [src, mnt, '--header-mode', 'sideways'], /--header-mode takes one of auto, patch, write, not 'sideways'/, 2],
    ['bad --max-read', [src, mnt, '--max-read', 'lots'], /--max-read takes a whole number from 1 to 1073741824, not 'lots'/, 2],
    ['--pipe-pages 0', [src, mnt, '--pipe-pages', '0'], /--pipe-pages takes a whole number from 1 to 262144, not '0'/, 2],
    ['--max-background 0', [src, mnt, '--max-background', '0'], /--max-background takes a whole number from 1 to 65535, not '0'/, 2],
    ['bad --log-level', [src, mnt, '--log-level', 'shout'], /--log-level takes one of fatal, .*, not 'shout'/, 2],
    ['bad --timeout', [src, mnt, '--timeout', '-1'], /--timeout takes seconds from 0 to 2147483647, not '-1'/, 2],
    ['--read-mode without value', [src, mnt, '--read-mode'], /--read-mode needs a value: MODE, one of auto/, 2],
    ['umount without mountpoint', ['umount'], /umount takes one MOUNTPOINT/, 2],
    ['umount with an option', ['umount', '-f', mnt], /unknown option '-f'/, 2],
    ['umount of a directory that is not a mount', ['umount', mnt], /not a mount point/],
    ['umount of a missing path', ['umount', missing], /does not exist/],
  ];
  for (const [what, args, pattern, code] of cases) {
    const r = await cli(args);
    oneLineError(t, what, r, pattern, code);
    t.notMatch(r.stderr.toString(), /To specify a positional|ERR_PARSE_ARGS|TypeError/, `${what}: in splicefs's words`);
  }
  t.notOk(isMounted(mnt), 'nothing got mounted');
});

t.test('splicefs umount leaves a mount that is not FUSE alone (as root, umount2 would take it)', async (t) => {
  // A tmpfs of this test's own, never a system mount: were the refusal missing, the test would
  // unmount only what it made.
  const dir = freshDir('cli-umount-tmpfs');
  t.equal((await run('mount', ['-t', 'tmpfs', 'tmpfs', dir])).code, 0, 'a tmpfs mounted');
  t.teardown(async () => {
    if (isMounted(dir)) await run('umount', ['-l', dir]);
  });
  const r = await cli(['umount', dir]);
  oneLineError(t, 'umount of a tmpfs', r, /is a tmpfs mount, not a FUSE mount: splicefs umount leaves it alone/, 1);
  t.ok(isMounted(dir), 'the tmpfs is still mounted');
  const viaSlash = await cli(['umount', `${dir}/`]);
  oneLineError(t, 'umount of it with a trailing slash', viaSlash, /not a FUSE mount/, 1);
  t.ok(isMounted(dir), 'still mounted');
});

t.test('splicefs umount finds the mount through a relative path', async (t) => {
  await withMount(t, {}, {}, async ({ mnt }) => {
    const parent = mnt.slice(0, mnt.lastIndexOf('/'));
    const r = await cli(['umount', mnt.slice(parent.length + 1)], { cwd: parent });
    t.equal(r.code, 0, 'unmounted by a relative path', { stderr: r.stderr.toString() });
    t.notOk(isMounted(mnt), 'gone');
  });
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

  // A pipe above pipe-max-size: only CAP_SYS_RESOURCE may have one, which uid 65534 never has,
  // so the kernel refuses it (EPERM) before anything is mounted (api/setup.ts pipeRefused).
  const most = Math.floor(Number(readFileSync('/proc/sys/fs/pipe-max-size', 'utf8')) / 4096);
  for (const [what, args] of [['--pipe-pages', ['--pipe-pages', String(most * 2)]], ['-o pipe_pages', ['-o', `pipe_pages=${most * 2}`]]] as const) {
    const p = await cli([join(dir, 'src'), join(dir, 'mnt'), ...args], { asNobody: true });
    const said = oneLineError(t, `${what} above pipe-max-size`, p, new RegExp(`^splicefs: ${what} takes at most ${most} on this system, not '${most * 2}': `), 1);
    t.match(said, new RegExp(`\\(EPERM\\); raise it with sysctl fs\\.pipe-max-size=${most * 2 * 4096}$`), `${what}: says how to raise the limit`);
    t.notMatch(said, /see splicefs --help/, `${what}: no --help (it is the system's limit)`);
  }
  t.notOk(isMounted(join(dir, 'mnt')), 'nothing got mounted');
});

leftoverCheck(t);
