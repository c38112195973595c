// Issue 9, item 7, the plain member of the kind: a regular file of st_size 0 on tmpfs gets
// direct I/O too (zeroSize: nothing to cache, and it may grow while open). It must still read
// empty, and mmap of it must behave as on the source: mapping a page succeeds (shared mappings
// of a direct-I/O file need FUSE_DIRECT_IO_ALLOW_MMAP, negotiated always) and touching it is
// SIGBUS, as past the end of any file. A file with content stays in the page cache.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { leftoverCheck, run, withMount } from '../helpers/mount.js';

const MMAP_PAGE = fileURLToPath(new URL('../scripts/mmap_page.py', import.meta.url));

function populate(src: string): void {
  writeFileSync(join(src, 'empty'), '');
  writeFileSync(join(src, 'data'), 'not empty\n');
}

t.test('an empty file: reads empty, mmap behaves as on the source', async (t) => {
  await withMount(t, {}, { populate }, async ({ src, mnt, stats, handle }) => {
    t.ok(handle.info.flags.includes('DIRECT_IO_ALLOW_MMAP'), 'DIRECT_IO_ALLOW_MMAP negotiated without --direct-io');
    const r = await run('cat', [join(mnt, 'empty')]);
    t.same([r.code, r.stdout.length], [0, 0], 'cat: nothing, exit 0');
    t.equal(stats().directIoOpens.zeroSize, 1, 'the open was direct I/O, counted as zeroSize');
    for (const how of ['shared', 'private']) {
      const want = await run('python3', [MMAP_PAGE, join(src, 'empty'), how]);
      const got = await run('python3', [MMAP_PAGE, join(mnt, 'empty'), how]);
      t.equal(want.stdout.toString(), 'mapped\n', `${how}: the source maps the page`);
      t.equal(want.signal, 'SIGBUS', `${how}: and touching it is SIGBUS on the source`);
      t.same([got.stdout.toString(), got.signal, got.code], [want.stdout.toString(), want.signal, want.code], `${how}: the same through the mount`);
    }
    const before = stats().directIoOpens;
    t.equal(await run('cat', [join(mnt, 'data')]).then((x) => x.stdout.toString()), 'not empty\n', 'a file with content reads as usual');
    t.same(stats().directIoOpens, before, 'and is not direct I/O (the page cache serves it)');
  });
});

leftoverCheck(t);
