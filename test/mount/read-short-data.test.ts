// Short data: sysfs files claim st_size 4096 and hold fewer bytes. Through the mount they read
// back exactly the source's bytes with no error: header write detects the short data and sends
// it by copy; header patch splices it with the header patched, no fallback.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck, readDelta, withAllSplice, within } from '../helpers/mount.js';

const SYSFS_DIR = '/sys/kernel/mm/transparent_hugepage';
const SYSFS_FILES = ['enabled', 'defrag', 'hpage_pmd_size', 'shmem_enabled', 'use_zero_page'];

t.test('sysfs: st_size 4096, fewer bytes (short data)', async (t) => {
  const present = SYSFS_FILES.filter((f) => {
    try {
      return statSync(join(SYSFS_DIR, f)).size === 4096;
    } catch {
      return false;
    }
  });
  t.ok(present.length >= 2, `sysfs files with st_size 4096 exist in ${SYSFS_DIR}: ${present.join(' ')}`);
  for (const headerMode of ['write', 'patch'] as const) {
    await withAllSplice(t, { headerMode }, { source: SYSFS_DIR }, async ({ mnt, stats }) => {
      for (const f of present) {
        const want = readFileSync(join(SYSFS_DIR, f));
        t.ok(want.length > 0 && want.length < 4096, `${f}: the source holds ${want.length} bytes, not 4096`);
        const before = stats();
        const got = await within(10_000, `read ${f}`, readFile(join(mnt, f)));
        t.ok(got.equals(want), `${headerMode}: ${f}: bytes equal the source's`);
        const d = readDelta(before, stats());
        t.equal(d.errorReplies, 0, `${headerMode}: ${f}: no error replies`);
        if (headerMode === 'write') {
          t.ok(d.shortData > 0, `write: ${f}: short data detected (${d.shortData}) and...`);
          t.ok(d.copyReplies > 0, `write: ${f}: ...sent by copy`);
        } else {
          t.ok(d.spliceReplies > 0, `patch: ${f}: spliced with the header patched`);
          t.equal(d.shortData + d.copyReplies, 0, `patch: ${f}: no short-data fallback, no copy`);
        }
      }
    });
  }
});

leftoverCheck(t);
