// Issue 9, item 3: past the node fd budget, nodes on a filesystem with file handles (tmpfs) give
// back their fds and re-open by handle; every walk still answers as the source does, and the
// server's fds stay near the budget. The counters show both happened.
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { makeTree, walkUnderBudget } from '../helpers/fds.js';
import { scratch } from '../helpers/mirror.js';

const BUDGET = 64;

t.test(`30 x 100 files on tmpfs, --node-fds ${BUDGET}: re-open by file handle`, async (t) => {
  const src = scratch(t, 'reopen-handle');
  await makeTree(t, src, 30, 100);
  const mnt = scratch(t, 'mnt');
  const f = await walkUnderBudget(t, src, mnt, BUDGET);
  t.ok((f?.reopenedByHandle ?? 0) > 0, `re-opened by file handle: ${f?.reopenedByHandle}`);
  t.equal(f?.reopenedByName, 0, 'none by name: tmpfs makes handles');
  t.equal(f?.handleFilesystems, 1, 'the source filesystem re-opens by handle');
  t.equal(f?.stale, 0, 'nothing stale');
  t.equal(f?.limitHits, 0, 'no fd limit hit');
});

leftoverCheck(t);
