// `splicefs stats MOUNTPOINT --json` prints the counters as one JSON object: the counters
// move with a read through the mount, and are the numbers handle.stats() gives where they are
// comparable (READ counters, handles, nodes, node fds); the read mode and process facts too.
import { join } from 'node:path';
import t from 'tap';
import { populateFile, readThrough, statsJson, FILE_BYTES } from '../helpers/control.js';
import { leftoverCheck, withMount } from '../helpers/mount.js';

t.test('--json: the counters move with a read and match handle.stats()', async (t) => {
  await withMount(t, { directIo: true }, { populate: (s) => populateFile(s) }, async ({ mnt, handle }) => {
    const before = await statsJson(t, mnt);
    await readThrough(t, join(mnt, 'f'));
    const after = await statsJson(t, mnt);
    const s = handle.stats();
    const moved = (k: 'spliceBytes' | 'copyBytes') => after.stats.read[k] - before.stats.read[k];
    // Direct I/O: every byte read is in one READ reply (dd's 1 MiB reads are cut at max_read,
    // and the one-page rests go by copy under --splice-min).
    t.equal(moved('spliceBytes') + moved('copyBytes'), FILE_BYTES, 'every byte of the file was counted');
    t.ok(moved('spliceBytes') > FILE_BYTES / 2, 'most of them spliced');
    t.ok(after.stats.read.spliceReplies > before.stats.read.spliceReplies, 'splice replies moved');
    t.same(after.stats.read, s.read, 'READ counters as handle.stats() gives them');
    t.same(
      [after.stats.openFiles, after.stats.openDirs, after.stats.nodes, after.stats.fds, after.stats.directIoOpens],
      [s.openFiles, s.openDirs, s.nodes, s.fds, s.directIoOpens],
      'handles, nodes, node fds, direct-I/O opens as handle.stats() gives them',
    );
    t.equal(after.stats.requests.READ, s.requests.READ, 'READ requests');
    t.match(after, { pid: process.pid, mountpoint: mnt, readMode: 'auto', startReadMode: 'auto', metrics: null }, 'who and what');
    t.ok(after.rss > 0 && after.uptimeMs >= before.uptimeMs, 'rss and uptime');
  });
});

leftoverCheck(t);
