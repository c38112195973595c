// Faults under buffered readahead (asynchronous READs), served by the event loop (threads 0)
// and by a worker: a full pipe and a header that does not go into the pipe during a whole-file
// read go by copy (exactly those two, each counted), the rest splices, the bytes are exact, and
// the server is healthy afterwards.
// Through the mount only fs.promises (the server shares this event loop) or child processes.
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { arm, data, delta, disarmAll, E, healthy, populate, settled, THREADS, usedUp, type Fault } from '../helpers/faults.js';
import { leftoverCheck, withAllSplice, within } from '../helpers/mount.js';

t.afterEach(disarmAll);

for (const [tname, topts] of THREADS) {
  t.test(`faults under buffered readahead (async READs), ${tname}`, async (t) => {
    await withAllSplice(t, { ...topts, readMode: 'splice' }, { populate }, async (m) => {
      const faults: Fault[] = [
        ['data', E.EAGAIN],
        ['header', E.ENOMEM],
      ];
      const before = m.stats();
      arm(faults);
      const got = await within(30_000, 'whole-file read', readFile(join(m.mnt, 'f')));
      const d = delta(before, await settled(m));
      usedUp(t, faults);
      t.ok(got.equals(data), 'the whole file read back exact');
      t.equal(d.pipeFull, 1, 'one pipe-full fallback');
      t.equal(d.spliceError, 1, 'one splice-error fallback');
      t.equal(d.copyReplies, 2, 'exactly those two went by copy');
      t.ok(d.spliceReplies > 0, `the rest spliced (${d.spliceReplies})`);
      t.equal(d.errorReplies, 0, 'no error replies');
      const fh = await open(join(m.mnt, 'f'));
      try {
        await healthy(t, m, fh, true, 'buffered');
      } finally {
        await fh.close();
      }
    });
  });
}

leftoverCheck(t);
