// -d and -o debug: debug output (a line per request and reply, at level 20 in JSON when stderr
// is not a terminal), and the server stays in the foreground, even with --daemon, as libfuse's
// -d implies -f.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startCli } from '../helpers/cli-bytes.js';
import { logLines } from '../helpers/mount-ns.js';
import { forceUnmount, freshDir, isMounted, leftoverCheck, run, within } from '../helpers/mount.js';

for (const flag of [['-d'], ['-o', 'debug']]) {
  t.test(`${flag.join(' ')} --daemon: debug lines for requests, in the foreground`, async (t) => {
    const src = freshDir('debug-src');
    const mnt = freshDir('debug-mnt');
    writeFileSync(join(src, 'hello'), 'hello\n');
    const s = await startCli(t, [src, mnt, ...flag, '--daemon'], async () => {
      if (isMounted(mnt)) await forceUnmount(mnt);
      if (!isMounted(mnt)) await run('rm', ['-rf', src, mnt]);
    });
    t.equal(s.child.exitCode, null, 'the command still runs after mounting: no daemon');
    t.equal((await run('cat', [join(mnt, 'hello')])).stdout.toString(), 'hello\n', 'a file reads');
    s.child.kill('SIGTERM');
    t.equal((await within(15_000, 'exit', s.exited)).code, 0, 'exit 0 on SIGTERM');
    const debug = logLines(s.stderr().toString()).filter((l) => l.level === 20);
    t.ok(debug.length > 0, `${debug.length} debug lines`);
    const ops = new Set(debug.map((l) => String(l.op ?? '')));
    t.ok(ops.has('LOOKUP') && ops.has('INIT'), `requests named by opcode (${[...ops].filter(Boolean).join(' ')})`);
  });
}

leftoverCheck(t);
