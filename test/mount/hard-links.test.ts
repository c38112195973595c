// Hard links through the mount: three names of one source inode show the source's st_ino and
// nlink 3, read the same content, and `ls -i` prints one inode number for all three.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { lstatSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck, run } from '../helpers/mount.js';
import { withTree } from '../helpers/tree.js';

t.test('hard links share st_ino through the mount', async (t) => {
  await withTree(t, async ({ src, mnt }) => {
    const paths = [join('data', 'h1'), join('data', 'h2'), join('data', 'sub', 'h3')];
    const sts = [];
    for (const p of paths) sts.push(await fsp.stat(join(mnt, p)));
    const srcIno = lstatSync(join(src, 'data', 'h1')).ino;
    for (const [i, st] of sts.entries()) {
      t.equal(st.ino, srcIno, `${paths[i]}: st_ino is the source's`);
      t.equal(st.nlink, 3, `${paths[i]}: nlink 3`);
      t.equal(await fsp.readFile(join(mnt, paths[i]), 'utf8'), 'hard link content\n', `${paths[i]}: content`);
    }
    // ls -i prints the same number for all three.
    const ls = await run('ls', ['-i', ...paths.map((p) => join(mnt, p))]);
    const inos = new Set(ls.stdout.toString().trim().split('\n').map((l) => l.trim().split(/\s+/)[0]));
    t.same([...inos], [String(srcIno)], 'ls -i: one inode number');
  });
});

leftoverCheck(t);
