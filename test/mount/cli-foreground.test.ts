// -f keeps the server in the foreground even with --daemon (the rule mount(8) starts are under); -s
// serves on the event loop alone (threads 0, as the mounted line says).
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import t from 'tap';
import { startCli } from '../helpers/cli-bytes.js';
import { forceUnmount, freshDir, isMounted, leftoverCheck, run, within } from '../helpers/mount.js';

t.test('-f --daemon -s: foreground, single thread', async (t) => {
  const src = freshDir('fg-src');
  const mnt = freshDir('fg-mnt');
  writeFileSync(join(src, 'hello'), 'hello\n');
  const s = await startCli(t, ['-f', '--daemon', '-s', src, mnt], async () => {
    if (isMounted(mnt)) await forceUnmount(mnt);
    if (!isMounted(mnt)) await run('rm', ['-rf', src, mnt]);
  });
  t.equal(s.child.exitCode, null, 'the command still runs after mounting: no daemon');
  t.equal(s.mounted.threads, 0, '-s: threads 0');
  t.equal((await run('cat', [join(mnt, 'hello')])).stdout.toString(), 'hello\n', 'a file reads');
  s.child.kill('SIGINT');
  t.equal((await within(15_000, 'exit', s.exited)).code, 0, 'exit 0 on SIGINT');
  t.notOk(isMounted(mnt), 'unmounted');
});

leftoverCheck(t);
