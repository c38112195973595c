// statfs through the mount: f_type is FUSE_SUPER_MAGIC; bsize, blocks, files, (about) bfree,
// and statvfs's namemax, frsize, blocks agree with the source; df shows the mountpoint.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { statfsSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import t from 'tap';
import { leftoverCheck, run } from '../helpers/mount.js';
import { withTree } from '../helpers/tree.js';

t.test('statfs', async (t) => {
  await withTree(t, async ({ src, mnt }) => {
    const got = await fsp.statfs(mnt);
    const want = statfsSync(src);
    t.equal(got.type, 0x65735546, 'f_type is FUSE_SUPER_MAGIC');
    t.equal(got.bsize, want.bsize, 'bsize agrees with the source');
    t.equal(got.blocks, want.blocks, 'blocks agree');
    t.equal(got.files, want.files, 'files agree');
    t.ok(Math.abs(got.bfree - want.bfree) <= Math.max(16, want.blocks / 100), 'bfree about the same');
    const py = await run('python3', ['-c', 'import os,sys; s=os.statvfs(sys.argv[1]); print(s.f_namemax, s.f_frsize, s.f_blocks)', mnt]);
    const ps = await run('python3', ['-c', 'import os,sys; s=os.statvfs(sys.argv[1]); print(s.f_namemax, s.f_frsize, s.f_blocks)', src]);
    t.equal(py.stdout.toString(), ps.stdout.toString(), 'os.statvfs: namemax, frsize, blocks agree');
    const df = await run('df', ['-P', mnt]);
    t.equal(df.code, 0, 'df exits 0');
    t.match(df.stdout.toString(), new RegExp(mnt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '\\s*$', 'm'), 'df shows the mountpoint');
  });
});

leftoverCheck(t);
