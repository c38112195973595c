// st_size 0, yet data: /proc/sys/kernel/{ostype,osrelease,hostname} report st_size 0 and
// splice fine. Only a direct-io mount sends READ for them (the kernel trusts i_size 0
// otherwise). Every header strategy, with and without a worker, must return their bytes: the
// size from fstat is not a promise about the data.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck, readDelta, withAllSplice, within } from '../helpers/mount.js';

const PROC_SYS = '/proc/sys/kernel';
for (const [headerMode, threads] of [
  ['write', 1],
  ['write', 0],
  ['patch', 1],
  ['patch', 0],
] as const) {
  t.test(`st_size 0 files with data (${PROC_SYS}), direct-io, header ${headerMode}, threads ${threads}`, async (t) => {
    await withAllSplice(t, { directIo: true, headerMode, threads }, { source: PROC_SYS }, async ({ mnt, stats }) => {
      for (const f of ['ostype', 'osrelease', 'hostname']) {
        t.equal(statSync(join(PROC_SYS, f)).size, 0, `${f}: st_size 0 in the source`);
        const want = readFileSync(join(PROC_SYS, f));
        t.ok(want.length > 0, `${f}: holds ${want.length} bytes`);
        const before = stats();
        const got = await within(10_000, `read ${f}`, readFile(join(mnt, f)));
        t.equal(got.toString(), want.toString(), `${f}: the bytes through the mount`);
        const d = readDelta(before, stats());
        t.equal(d.errorReplies, 0, `${f}: no error replies`);
      }
    });
  });
}

leftoverCheck(t);
