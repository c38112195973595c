// --log-file in the foreground: the log goes to that file (appended), not to stderr. (A daemon's
// --log-file is tested in cli-daemon.test.ts.) Found by a newcomer: it used to be ignored
// without a word unless --daemon was given.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CLI_CMD } from '../helpers/cli-bytes.js';
import { forceUnmount, freshDir, isMounted, leftoverCheck, run, within } from '../helpers/mount.js';

t.test('foreground --log-file: the log goes to the file, stderr stays empty', async (t) => {
  const src = freshDir('lf-src');
  const mnt = freshDir('lf-mnt');
  const dir = freshDir('lf-log');
  const log = join(dir, 'server.log');
  writeFileSync(log, 'an earlier line\n');
  writeFileSync(join(src, 'hello'), 'hello\n');
  const [file, ...argv] = [...CLI_CMD, src, mnt, '--log-file', log, '--log-format', 'json'];
  const child = spawn(file!, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  const errChunks: Buffer[] = [];
  child.stderr!.on('data', (b: Buffer) => errChunks.push(b));
  const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    if (isMounted(mnt)) await forceUnmount(mnt);
    await run('rm', ['-rf', src, mnt, dir]);
  });
  const mountedLine = async (): Promise<void> => {
    for (;;) {
      if (existsSync(log) && /"msg":"mounted"/.test(readFileSync(log, 'utf8'))) return;
      if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}): ${Buffer.concat(errChunks).toString()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await within(20_000, 'the mounted line in the log file', mountedLine());
  t.ok(isMounted(mnt), 'mounted');
  t.equal((await run('cat', [join(mnt, 'hello')])).stdout.toString(), 'hello\n', 'a file reads');
  child.kill('SIGINT');
  t.equal(await within(15_000, 'exit', exited), 0, 'exit 0 on SIGINT');
  const text = readFileSync(log, 'utf8');
  t.ok(text.startsWith('an earlier line\n'), 'appended, not truncated');
  t.match(text, /"msg":"stopped"/, 'the stop is logged there too');
  t.equal(Buffer.concat(errChunks).toString(), '', 'nothing on stderr');
  t.notOk(isMounted(mnt), 'unmounted');
});

leftoverCheck(t);
