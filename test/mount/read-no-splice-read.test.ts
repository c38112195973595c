// Files with no splice_read. Probed on this kernel (6.18): splice(2) from /proc/PID/{cmdline,
// environ,stat,status,maps}, /proc/kallsyms, /proc/bus/input/devices fails with EINVAL (their
// file_operations have no splice_read), while /proc/version, /proc/meminfo and sysfs attributes
// splice fine. Those /proc files report st_size 0, so only a direct-io mount sends READ for
// them. Through the mount they read back exact, by copy, each copy counted as a no-splice_read
// fallback, in auto and splice read modes, with and without a worker.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { leftoverCheck, readDelta, run, withAllSplice, within } from '../helpers/mount.js';
import { python } from '../helpers/python.js';

const PROBE_SPLICE = fileURLToPath(new URL('../scripts/probe_splice.py', import.meta.url));

for (const [readMode, threads] of [
  ['auto', 1],
  ['auto', 0],
  ['splice', 1],
  ['splice', 0],
] as const) {
  t.test(`a file with no splice_read (/proc/PID/cmdline, environ), read mode ${readMode}, threads ${threads}`, async (t) => {
    // A process of our own, with a known argv and an environment longer than a page.
    const child = spawn('sleep', ['600'], {
      env: { SPLICEFS_MARKER: 'x'.repeat(6000), PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: 'ignore',
    });
    t.teardown(() => {
      child.kill('SIGKILL');
    });
    const pid = child.pid!;
    const dir = `/proc/${pid}`;
    const probe = (await python(t, PROBE_SPLICE, [`${dir}/cmdline`])).trim();
    t.equal(probe, 'E22', 'splice(2) from /proc/PID/cmdline fails with EINVAL on this kernel');
    await withAllSplice(t, { directIo: true, readMode, threads }, { source: dir }, async ({ mnt, stats }) => {
      for (const [i, f] of ['cmdline', 'environ', 'cmdline', 'environ'].entries()) {
        const again = i >= 2 ? ' (again, a new open)' : '';
        const want = readFileSync(join(dir, f));
        const before = stats();
        const got = await within(10_000, `read ${f}`, readFile(join(mnt, f)));
        t.ok(got.equals(want), `${f}${again}: ${got.length} bytes, equal to the source's ${want.length}`);
        const d = readDelta(before, stats());
        t.equal(d.errorReplies, 0, `${f}${again}: no error replies`);
        t.ok(d.copyReplies > 0, `${f}${again}: served by copy`);
        t.equal(d.spliceReplies, 0, `${f}${again}: nothing spliced`);
        if (i < 2) t.ok(d.noSpliceRead > 0, `${f}: the no-splice_read fallback is counted (${d.noSpliceRead})`);
        // In a splicing mode every copy reply has a counted reason: here, no splice_read.
        t.equal(d.copyReplies, d.noSpliceRead, `${f}${again}: every copy reply counted as a no-splice_read fallback`);
      }
      // A child reads it too, in small pieces at offsets.
      const r = await run('dd', [`if=${join(mnt, 'environ')}`, 'bs=100', 'status=none']);
      t.ok(r.stdout.equals(readFileSync(join(dir, 'environ'))), 'dd bs=100 of environ: exact');
    });
  });
}

leftoverCheck(t);
