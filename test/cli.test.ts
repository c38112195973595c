// The command line, as a user runs it: `node dist/cli.js` in a child process (run `npm run
// build` first; `npm test` does it in pretest). Bad input: one line on stderr, starting
// "splicefs:", no stack trace, a non-zero exit, never a hang. Signals and umounts end the
// server with exit 0 and no mount left; a killed server's stale mount is cleaned by
// `splicefs umount`.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync, chmodSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { forceUnmount, freshDir, isMounted, leftoverCheck, mountsAt, run, within, withMount } from './helpers/mount.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..');
const CLI = join(ROOT, 'dist', 'cli.js');
const NODE = process.execPath;
// tap's processinfo hook adds its loader to NODE_OPTIONS of every child; the CLI must run as a
// user runs it (and the unprivileged one cannot write tap's .tap/ directory), so drop it.
const CLEAN_NODE = ['env', '-u', 'NODE_OPTIONS', NODE];

t.test('dist/cli.js is built', async (t) => {
  t.ok(existsSync(CLI), `${CLI} exists (npm run build)`);
});

function cli(args: string[], opts: { timeoutMs?: number; asNobody?: boolean } = {}) {
  const argv = [CLI, ...args];
  if (opts.asNobody)
    return run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', ...CLEAN_NODE, ...argv], { timeoutMs: opts.timeoutMs ?? 15_000 });
  return run(CLEAN_NODE[0], [...CLEAN_NODE.slice(1), ...argv], { timeoutMs: opts.timeoutMs ?? 15_000 });
}

/** Asserts the shape every bad input must have; returns the one line. */
function oneLineError(t: Test, what: string, r: Awaited<ReturnType<typeof cli>>, pattern: RegExp, exitCode?: number): string {
  const err = r.stderr.toString();
  const lines = err.split('\n').filter((l) => l.length > 0);
  t.notOk(r.timedOut, `${what}: did not hang`);
  t.not(r.code, 0, `${what}: non-zero exit (${r.code})`);
  if (exitCode !== undefined) t.equal(r.code, exitCode, `${what}: exit ${exitCode}`);
  t.equal(lines.length, 1, `${what}: exactly one line on stderr`, { stderr: err });
  t.match(lines[0] ?? '', /^splicefs: /, `${what}: the line starts with "splicefs:"`);
  t.notOk(/^\s+at /m.test(err), `${what}: no stack trace`);
  t.match(lines[0] ?? '', pattern, `${what}: says what is wrong`);
  return lines[0] ?? '';
}

// ---- bad input ----------------------------------------------------------------------------

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

// ---- a running server ----------------------------------------------------------------------

interface Server {
  child: ChildProcess;
  src: string;
  mnt: string;
  stderr: () => string;
  stdout: () => string;
  mounted: Record<string, unknown>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start `splicefs SRC MNT args...` and wait for its "mounted" line. Always cleaned up. */
async function startServer(t: Test, args: string[], populate?: (src: string) => void): Promise<Server> {
  const src = freshDir('cli-src');
  const mnt = freshDir('cli-mnt');
  populate?.(src);
  const child = spawn(CLEAN_NODE[0], [...CLEAN_NODE.slice(1), CLI, src, mnt, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal })),
  );
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    if (isMounted(mnt)) await forceUnmount(mnt);
    if (!isMounted(mnt)) await run('rm', ['-rf', src, mnt]);
  });
  const mounted = await within(
    20_000,
    'the mounted line',
    new Promise<Record<string, unknown>>((resolve, reject) => {
      child.stderr!.on('data', (b: Buffer) => {
        err += b.toString();
        for (const line of err.split('\n')) {
          try {
            const j = JSON.parse(line) as Record<string, unknown>;
            if (j.msg === 'mounted') resolve(j);
          } catch {
            /* not JSON yet */
          }
        }
      });
      void exited.then(({ code }) => reject(new Error(`server exited (${code}) before mounting: ${err}`)));
    }),
  );
  return { child, src, mnt, mounted, exited, stderr: () => err, stdout: () => out };
}

function populateSmall(src: string): void {
  writeFileSync(join(src, 'hello'), 'hello through splicefs\n'.repeat(1000));
}

async function catHello(t: Test, s: Server): Promise<void> {
  const r = await run('cat', [join(s.mnt, 'hello')]);
  t.equal(r.stdout.toString(), 'hello through splicefs\n'.repeat(1000), 'a file reads through the mount');
}

t.test('the "mounted" line says what was negotiated and chosen', async (t) => {
  const s = await startServer(t, ['--pipe-pages', '16'], populateSmall);
  const m = s.mounted;
  t.match(m.protocol, /^7\.\d+$/, `protocol ${m.protocol}`);
  for (const k of ['maxRead', 'maxPages', 'pipeBytes']) t.type(m[k], 'number', `${k} is a number (${m[k]})`);
  t.equal(m.pipeBytes, 16 * 4096, 'pipeBytes is the 16-page pipe asked for');
  t.equal(m.maxRead, (m.maxPages as number) * 4096, 'maxRead = maxPages pages');
  t.equal(m.readMode, 'auto', 'readMode');
  t.match(m.headerMode, /^(patch|write)$/, `headerMode ${m.headerMode}`);
  t.equal(m.mountpoint, s.mnt, 'mountpoint');
  t.equal(m.level, 30, 'an info line');
  t.ok(isMounted(s.mnt), 'mounted');
  t.equal((await run('umount', [s.mnt])).code, 0, 'umount');
  t.equal((await within(15_000, 'exit', s.exited)).code, 0, 'exit 0');
});

t.test('SIGTERM as soon as the "mounted" line appears: exit 0, no mount left (10 times)', async (t) => {
  // A supervisor waits for the mounted line, then may stop the server at once: the signal
  // must already be handled by then, or the server dies by it and leaves a stale mount.
  const results: string[] = [];
  for (let i = 0; i < 10; i++) {
    const s = await startServer(t, [], populateSmall);
    s.child.kill('SIGTERM');
    const { code, signal } = await within(15_000, 'server exit', s.exited);
    const stale = isMounted(s.mnt);
    results.push(`code=${code} signal=${signal} mounted=${stale}`);
    if (stale) await forceUnmount(s.mnt);
  }
  t.same(results, Array(10).fill('code=0 signal=null mounted=false'), 'every time: exit 0 and the mount gone');
});

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${sig} unmounts, exits 0 and prints --stats`, async (t) => {
    const readMode = sig === 'SIGTERM' ? 'auto' : 'copy';
    const s = await startServer(t, ['--stats', '--read-mode', readMode], populateSmall);
    t.ok(isMounted(s.mnt), 'mounted');
    await catHello(t, s);
    s.child.kill(sig);
    const { code, signal } = await within(15_000, 'server exit', s.exited);
    t.equal(code, 0, 'exit 0');
    t.equal(signal, null, 'not killed by the signal');
    t.notOk(isMounted(s.mnt), 'the mount is gone');
    const lines = s.stdout().split('\n').filter(Boolean);
    t.equal(lines.length, 1, 'one line on stdout');
    let stats: { read?: { spliceReplies: number; copyReplies: number; fallbacks: Record<string, number> }; info?: { readMode: string } } = {};
    try {
      stats = JSON.parse(lines[0] ?? '') as typeof stats;
      t.pass('--stats is JSON');
    } catch (err) {
      t.fail('--stats is JSON', { stdout: s.stdout() });
    }
    t.type(stats.read?.spliceReplies, 'number', 'read.spliceReplies');
    t.type(stats.read?.copyReplies, 'number', 'read.copyReplies');
    t.type(stats.read?.fallbacks, 'object', 'read.fallbacks');
    t.equal(stats.info?.readMode, readMode, 'info.readMode');
    if (readMode === 'copy') {
      t.ok((stats.read?.copyReplies ?? 0) > 0, 'copy mode: copy replies counted');
      t.equal(stats.read?.spliceReplies, 0, 'copy mode: no splice');
    } else {
      t.ok((stats.read?.spliceReplies ?? 0) > 0, 'auto mode: splice replies counted');
    }
    t.match(s.stderr(), /"msg":"stopped"/, 'a stopped line');
  });
}

t.test('SIGTERM with a file held open: the busy mount still goes, exit 0', async (t) => {
  const s = await startServer(t, [], populateSmall);
  const holder = spawn('python3', ['-c', 'import sys,time\nf=open(sys.argv[1])\nprint("open", flush=True)\ntime.sleep(60)', join(s.mnt, 'hello')], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  t.teardown(() => {
    holder.kill('SIGKILL');
  });
  await within(10_000, 'holder opened the file', new Promise<void>((res) => holder.stdout!.once('data', () => res())));
  s.child.kill('SIGTERM');
  const { code } = await within(20_000, 'server exit', s.exited);
  t.equal(code, 0, 'exit 0 although a file was open');
  t.notOk(isMounted(s.mnt), 'the mount is gone');
});

t.test('an external umount makes the server exit 0', async (t) => {
  const s = await startServer(t, [], populateSmall);
  await catHello(t, s);
  const u = await run('umount', [s.mnt]);
  t.equal(u.code, 0, 'umount exits 0', { stderr: u.stderr.toString() });
  const { code } = await within(15_000, 'server exit', s.exited);
  t.equal(code, 0, 'server exit 0');
  t.notOk(isMounted(s.mnt), 'no mount');
});

t.test('fusermount -u makes the server exit 0', async (t) => {
  const which = await run('sh', ['-c', 'command -v fusermount3 || command -v fusermount']);
  t.equal(which.code, 0, 'fusermount(3) is installed');
  const s = await startServer(t, [], populateSmall);
  const u = await run(which.stdout.toString().trim(), ['-u', s.mnt]);
  t.equal(u.code, 0, 'fusermount -u exits 0', { stderr: u.stderr.toString() });
  const { code } = await within(15_000, 'server exit', s.exited);
  t.equal(code, 0, 'server exit 0');
  t.notOk(isMounted(s.mnt), 'no mount');
});

t.test('`splicefs umount` of a live mount: the server exits 0', async (t) => {
  const s = await startServer(t, [], populateSmall);
  const r = await cli(['umount', s.mnt]);
  t.equal(r.code, 0, 'splicefs umount exits 0', { stderr: r.stderr.toString() });
  const { code } = await within(15_000, 'server exit', s.exited);
  t.equal(code, 0, 'server exit 0');
  t.notOk(isMounted(s.mnt), 'no mount');
});

t.test('kill -9 leaves a stale mount that `splicefs umount` cleans', async (t) => {
  const s = await startServer(t, [], populateSmall);
  await catHello(t, s);
  s.child.kill('SIGKILL');
  const { signal } = await within(15_000, 'server death', s.exited);
  t.equal(signal, 'SIGKILL', 'the server was killed');
  t.ok(isMounted(s.mnt), 'the mount is still there (stale)');
  const st = await run('stat', [s.mnt]);
  t.not(st.code, 0, 'stat of the stale mount fails');
  t.match(st.stderr.toString(), /Transport endpoint is not connected/, 'with ENOTCONN');

  // A new server on the stale mountpoint says what to do.
  const again = await cli([s.src, s.mnt]);
  oneLineError(t, 'mount on a stale mount', again, /stale|already a mount/);

  const r = await cli(['umount', s.mnt]);
  t.equal(r.code, 0, 'splicefs umount exits 0', { stderr: r.stderr.toString() });
  t.notOk(isMounted(s.mnt), 'the stale mount is gone');
  const st2 = await run('stat', ['-c', '%F', s.mnt]);
  t.equal(st2.stdout.toString().trim(), 'directory', 'the mountpoint is a plain directory again');
});

leftoverCheck(t);
