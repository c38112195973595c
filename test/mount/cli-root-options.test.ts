// suid and dev need root: an unprivileged user (uid 65534, by setpriv) asking for them gets one
// line saying which option needs root and why, before anything is tried; as root they are
// honoured (cli-mount-flags.test.ts).
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { cli, oneLineError } from '../helpers/cli.js';
import { freshDir, isMounted, leftoverCheck, run } from '../helpers/mount.js';

t.test('-o suid and -o dev as uid 65534: refused with the reason', async (t) => {
  const dir = freshDir('cli-rootopt', 'tmp');
  chmodSync(dir, 0o755);
  t.teardown(() => run('rm', ['-rf', dir]));
  const src = join(dir, 'src');
  const mnt = join(dir, 'mnt');
  mkdirSync(src, { mode: 0o755 });
  mkdirSync(mnt, { mode: 0o777 });
  const cases: Array<[string, RegExp]> = [
    ['suid', /^splicefs: suid needs root: set-user-ID files would run as their owner \(running as uid 65534\)$/],
    ['dev', /^splicefs: dev needs root: device files would open their devices \(running as uid 65534\)$/],
    ['nodev,suid', /suid needs root/],
  ];
  for (const [opt, pattern] of cases) {
    const r = await cli([src, mnt, '-o', opt], { asNobody: true });
    oneLineError(t, `-o ${opt}`, r, pattern, 1);
  }
  t.notOk(isMounted(mnt), 'nothing mounted');
});

leftoverCheck(t);
