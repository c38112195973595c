// Issue 9, item 7: a file that grows from 0 after it was opened. Cached, the kernel would read
// nothing until its attributes expired (it believes st_size 0); with direct I/O (zeroSize) the
// same open file reads the new bytes at once. Once the kernel has the new size, a shared mmap
// of that same direct-I/O handle shows them (FUSE_DIRECT_IO_ALLOW_MMAP; ENODEV without it).
// The same script runs on the source and through the mount; the outputs must be the same.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { leftoverCheck, run, withMount } from '../helpers/mount.js';

const GROW = fileURLToPath(new URL('../scripts/grow_while_open.py', import.meta.url));

t.test('a file that grows from 0 while open reads (and maps) its new content', async (t) => {
  await withMount(t, { timeout: 1 }, { populate: (s) => writeFileSync(join(s, 'log'), '') }, async ({ src, mnt, stats }) => {
    const onSource = await run('python3', [GROW, join(src, 'log'), join(src, 'log'), '1.3']);
    t.equal(onSource.code, 0, 'the script runs on the source');
    t.match(onSource.stdout.toString(), /read again: b'grown after open\\n'/, 'the source shows the growth at once');
    writeFileSync(join(src, 'log'), '');
    const viaMount = await run('python3', [GROW, join(mnt, 'log'), join(src, 'log'), '1.3']);
    t.equal(viaMount.stdout.toString(), onSource.stdout.toString(), 'the mount shows the same, step by step');
    t.equal(viaMount.stderr.toString(), '', 'no error (a shared mmap of a direct-I/O file is allowed)');
    t.equal(stats().directIoOpens.zeroSize, 1, 'direct I/O because it was empty at open');
  });
});

leftoverCheck(t);
