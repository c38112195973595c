// A running CLI server, as a user runs it: `node dist/cli.js SRC MNT` in a child process (run
// `npm run build` first; `npm test` does it in pretest). The "mounted" line says what was
// negotiated; SIGTERM and SIGINT (even right after "mounted", even with a file held open),
// umount, fusermount -u and `splicefs umount` end the server with exit 0 and no mount left,
// --stats prints the counters; a killed server's stale mount is cleaned by `splicefs umount`.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { CLEAN_NODE, CLI, cli, oneLineError } from '../helpers/cli.js';
import { forceUnmount, freshDir, isMounted, leftoverCheck, run, within } from '../helpers/mount.js';

const HOLD_OPEN = fileURLToPath(new URL('../scripts/hold_open.py', import.meta.url));

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
  const child = spawn(CLEAN_NODE[0]!, [...CLEAN_NODE.slice(1), CLI, src, mnt, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
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

/** The server ends by itself: exit 0, nothing mounted. */
async function exitsCleanly(t: Test, s: Server): Promise<void> {
  const { code } = await within(15_000, 'server exit', s.exited);
  t.equal(code, 0, 'server exit 0');
  t.notOk(isMounted(s.mnt), 'no mount');
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
    // Each names the path it checks: the server's own READ path, by splice or by copy (auto
    // would hand the reads to the kernel, FUSE passthrough, and no READ would reach us).
    const readMode = sig === 'SIGTERM' ? 'splice' : 'copy';
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
    let stats: {
      read?: { spliceReplies: number; copyReplies: number; fallbacks: Record<string, number> };
      passthrough?: { opens: number };
      info?: { readMode: string };
    } = {};
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
    t.equal(stats.passthrough?.opens, 0, `${readMode} mode: passthrough.opens there, and 0`);
    if (readMode === 'copy') {
      t.ok((stats.read?.copyReplies ?? 0) > 0, 'copy mode: copy replies counted');
      t.equal(stats.read?.spliceReplies, 0, 'copy mode: no splice');
    } else {
      t.ok((stats.read?.spliceReplies ?? 0) > 0, 'splice mode: splice replies counted');
    }
    t.match(s.stderr(), /"msg":"stopped"/, 'a stopped line');
  });
}

/** A child process holding `path` open (killed in teardown); resolves once it has it open. */
async function holdOpen(t: Test, path: string): Promise<void> {
  const holder = spawn('python3', [HOLD_OPEN, path], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.teardown(() => {
    holder.kill('SIGKILL');
  });
  await within(10_000, 'holder opened the file', new Promise<void>((res) => holder.stdout!.once('data', () => res())));
}

t.test('SIGTERM with a file held open: the busy mount still goes, exit 0', async (t) => {
  const s = await startServer(t, [], populateSmall);
  await holdOpen(t, join(s.mnt, 'hello'));
  s.child.kill('SIGTERM');
  const { code } = await within(20_000, 'server exit', s.exited);
  t.equal(code, 0, 'exit 0 although a file was open');
  t.notOk(isMounted(s.mnt), 'the mount is gone');
});

t.test('a second SIGTERM with a file held open aborts at once, not after the grace period', async (t) => {
  const s = await startServer(t, [], populateSmall);
  await holdOpen(t, join(s.mnt, 'hello'));
  s.child.kill('SIGTERM');
  await new Promise((res) => setTimeout(res, 300));
  const t0 = Date.now();
  s.child.kill('SIGTERM');
  const { code } = await within(20_000, 'server exit', s.exited);
  const took = Date.now() - t0;
  t.equal(code, 0, 'exit 0');
  t.ok(took < 2_500, `gone ${took} ms after the second signal (the grace period is 5 s)`);
  t.notOk(isMounted(s.mnt), 'the mount is gone');
});

t.test('an external umount makes the server exit 0', async (t) => {
  const s = await startServer(t, [], populateSmall);
  await catHello(t, s);
  const u = await run('umount', [s.mnt]);
  t.equal(u.code, 0, 'umount exits 0', { stderr: u.stderr.toString() });
  await exitsCleanly(t, s);
});

t.test('fusermount -u makes the server exit 0', async (t) => {
  const which = await run('sh', ['-c', 'command -v fusermount3 || command -v fusermount']);
  t.equal(which.code, 0, 'fusermount(3) is installed');
  const s = await startServer(t, [], populateSmall);
  const u = await run(which.stdout.toString().trim(), ['-u', s.mnt]);
  t.equal(u.code, 0, 'fusermount -u exits 0', { stderr: u.stderr.toString() });
  await exitsCleanly(t, s);
});

t.test('`splicefs umount` of a live mount: the server exits 0', async (t) => {
  const s = await startServer(t, [], populateSmall);
  const r = await cli(['umount', s.mnt]);
  t.equal(r.code, 0, 'splicefs umount exits 0', { stderr: r.stderr.toString() });
  await exitsCleanly(t, s);
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
