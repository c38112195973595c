// A server in the foreground goes, with its mount, when whoever started it goes: SIGTERM to the
// npm process of `npx splicefs` (npm does not pass it on, so the server used to be orphaned
// with its mount left), and a parent shell that exits normally. The server gets SIGTERM from
// the kernel (PR_SET_PDEATHSIG) and unmounts as on any SIGTERM.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { ROOT } from '../helpers/cli.js';
import { alive, gone, logLines, userEnv } from '../helpers/mount-ns.js';
import { forceUnmount, freshDir, isMounted, leftoverCheck, run, within } from '../helpers/mount.js';

/** A fresh source with a file, a mountpoint, and their removal once nothing is mounted. */
function dirs() {
  const src = freshDir('orphan-src');
  const mnt = freshDir('orphan-mnt');
  writeFileSync(join(src, 'hello'), 'hello\n');
  return { src, mnt };
}

/** Teardown: kill what may be left, unmount, remove. */
function cleanup(t: Test, d: { src: string; mnt: string }, pids: () => number[]): void {
  t.teardown(async () => {
    for (const p of pids()) if (p > 0 && alive(p)) process.kill(p, 'SIGKILL');
    if (isMounted(d.mnt)) await forceUnmount(d.mnt);
    if (!isMounted(d.mnt)) await run('rm', ['-rf', d.src, d.mnt]);
  });
}

/**
 * A project that depends on splicefs (node_modules/splicefs -> this checkout), as `npm install
 * splicefs` leaves it, so that `npx --no-install splicefs` runs dist/cli.js without installing.
 */
function npmProject(): string {
  const proj = freshDir('npx-proj');
  writeFileSync(join(proj, 'package.json'), JSON.stringify({ name: 'npx-proj', version: '1.0.0', dependencies: { splicefs: `file:${ROOT}` } }));
  mkdirSync(join(proj, 'node_modules', '.bin'), { recursive: true });
  symlinkSync(ROOT, join(proj, 'node_modules', 'splicefs'));
  symlinkSync('../splicefs/dist/cli.js', join(proj, 'node_modules', '.bin', 'splicefs'));
  return proj;
}

t.test('npx splicefs: SIGTERM to npm takes the server and its mount along', async (t) => {
  const d = dirs();
  const proj = npmProject();
  t.teardown(() => run('rm', ['-rf', proj]));
  const npm = spawn('npx', ['--no-install', 'splicefs', d.src, d.mnt], { cwd: proj, env: userEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  let pid = 0;
  cleanup(t, d, () => [npm.pid ?? 0, pid]);
  const mounted = await within(
    30_000,
    'the mounted line through npx',
    new Promise<Record<string, unknown>>((res, rej) => {
      npm.stderr!.on('data', (b: Buffer) => {
        err += b.toString();
        const m = logLines(err).find((l) => l.msg === 'mounted');
        if (m) res(m);
      });
      npm.on('exit', (code) => rej(new Error(`npx exited (${code}) before mounting: ${err}`)));
    }),
  );
  pid = Number(mounted.pid);
  t.not(pid, npm.pid, `the server (pid ${pid}) is npm's child, not npm (${npm.pid})`);
  t.ok(isMounted(d.mnt), 'mounted');

  npm.kill('SIGTERM');
  t.ok(await gone(() => alive(pid)), 'the server exits when npm goes');
  t.notOk(isMounted(d.mnt), 'and its mount is gone');
  const lines = logLines(err);
  t.ok(lines.some((l) => l.msg === 'unmounting' && l.signal === 'SIGTERM'), 'it unmounted on SIGTERM');
  t.ok(lines.some((l) => l.msg === 'stopped' && l.reason === 'unmounted'), 'and stopped cleanly');
});

t.test('a parent shell that exits normally takes the server and its mount along', async (t) => {
  const d = dirs();
  const log = join(freshDir('orphan-log'), 'log');
  t.teardown(() => run('rm', ['-rf', join(log, '..')]));
  let pid = 0;
  cleanup(t, d, () => [pid]);
  // The shell starts the server in the background, waits for its mounted line and exits 0.
  const script = `"$1" "$2" "$3" "$4" 2>"$5" &
    i=0; until grep -q '"msg":"mounted"' "$5" || [ $i -ge 300 ]; do sleep 0.1; i=$((i+1)); done; exit 0`;
  const sh = await run('sh', ['-c', script, 'sh', process.execPath, join(ROOT, 'dist', 'cli.js'), d.src, d.mnt, log], { env: userEnv() });
  t.equal(sh.code, 0, 'the shell exited 0');
  const mounted = logLines(readFileSync(log, 'utf8')).find((l) => l.msg === 'mounted');
  t.ok(mounted, 'the server had mounted');
  pid = Number(mounted?.pid);
  t.ok(await gone(() => alive(pid)), 'the server exits when its parent shell has gone');
  t.notOk(isMounted(d.mnt), 'and its mount is gone');
  t.match(readFileSync(log, 'utf8'), /"signal":"SIGTERM","msg":"unmounting"/, 'it unmounted on SIGTERM');
});

leftoverCheck(t);
