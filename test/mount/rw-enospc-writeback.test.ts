// Read-write (issue 10) with the writeback cache (-o writeback_cache): the kernel accepts writes
// into its page cache beyond what the source can hold, and writes them back later, long after
// write(2) returned. A write-back the full source cuts short must not vanish: the kernel ignores
// a short count there, so the server answers it with ENOSPC, which the kernel keeps for the file
// and reports at fsync (found by a newcomer: dd + sync reported success and the source held
// holes). The source is filled but for 64 KiB first, so that one write-back of 128 KiB is cut
// short by the source: answered with the short count, the kernel would drop the rest and fsync
// would say nothing. Both write modes.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { mountFs, scratch } from '../helpers/mirror.js';
import { WRITE_MODES, withRw, type Result } from '../helpers/rw.js';

const FREE = 64 * 1024;
const WRITE = 128 * 1024;

for (const mode of WRITE_MODES) {
  t.test(`writeback cache, full 2 MiB source, write mode ${mode}: fsync reports ENOSPC`, async (t) => {
    const src = scratch(t, 'wbfull-src');
    const ref = scratch(t, 'wbfull-ref');
    for (const d of [src, ref]) {
      const r = await mountFs(t, ['-t', 'tmpfs', '-o', 'size=2m,mode=0755', 'rwtest'], d);
      t.equal(r.code, 0, `a 2 MiB tmpfs at ${d}`, { stderr: r.stderr.toString() });
    }
    writeFileSync(join(src, 'filler'), Buffer.alloc(2 * 1024 * 1024 - FREE, 1));
    await withRw(t, { writebackCache: true, writeMode: mode }, { source: src, reference: ref }, async (f) => {
      const m = f.pair.m;
      const opened = await m.call('open', 'big', 'wronly|creat', 0o644);
      t.ok('ok' in opened, 'create big through the mount');
      const h = (opened as { ok: number }).ok;
      // The write lands in the page cache and succeeds; the write-back at fsync is cut short.
      const errors: string[] = [];
      const wrote: Result = await m.call('write', h, { seed: 1, len: WRITE });
      if ('err' in wrote) errors.push(`write: ${wrote.err}`);
      const synced: Result = await m.call('fsync', h);
      if ('err' in synced) errors.push(`fsync: ${synced.err}`);
      const closed: Result = await m.call('close', h);
      if ('err' in closed) errors.push(`close: ${closed.err}`);
      t.ok(errors.some((e) => e.endsWith('ENOSPC')), `the writer learns of ENOSPC (${errors.join('; ') || 'no error at all'})`);
      const w = f.write();
      if (w) t.ok(w.errorReplies > 0, `a write-back was answered with an error (errorReplies ${w.errorReplies})`);
    });
  });
}

leftoverCheck(t);
