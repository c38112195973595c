// Issue 9, item 3: on a filesystem whose file handles do not open again (overlayfs without
// nfs_export answers name_to_handle_at with EOPNOTSUPP; procfs and sysfs do the same), nodes past
// the budget re-open by parent node and name. Every walk still answers as the source does.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { overlaySource, walkUnderBudget } from '../helpers/fds.js';
import { scratch } from '../helpers/mirror.js';

const BUDGET = 64;

t.test(`30 x 100 files on overlayfs without nfs_export, --node-fds ${BUDGET}: re-open by name`, async (t) => {
  const src = await overlaySource(t, async (lower) => {
    for (let d = 0; d < 30; d++) {
      mkdirSync(join(lower, `d${d}`, 'deeper'), { recursive: true });
      writeFileSync(join(lower, `d${d}`, 'deeper', 'leaf'), `leaf ${d}\n`);
      for (let i = 0; i < 100; i++) writeFileSync(join(lower, `d${d}`, `f${i}`), i % 10 === 0 ? `file ${d}/${i}\n` : '');
    }
  });
  const mnt = scratch(t, 'mnt');
  const f = await walkUnderBudget(t, src, mnt, BUDGET);
  t.ok((f?.reopenedByName ?? 0) > 0, `re-opened by parent and name: ${f?.reopenedByName}`);
  t.equal(f?.reopenedByHandle, 0, 'none by handle');
  t.equal(f?.handleFilesystems, 0, 'no filesystem re-opens by handle');
  t.ok((f?.filesystems ?? 0) >= 1, 'the overlay was judged');
  t.equal(f?.stale, 0, 'nothing stale');
});

leftoverCheck(t);
