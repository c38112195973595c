// stat fields through the mount agree with the source's lstat for every kind of entry (root,
// dirs, files, set-uid and mode 0, a file past 4 GiB, symlinks, a hard link, a FIFO, a char
// device): mode, size, uid, gid, nlink, ino, rdev, blocks, and mtime/ctime to the nanosecond,
// including a time before 1970 and one past 2^31; stat(1) as a child sees it.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { lstatSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck, run, within } from '../helpers/mount.js';
import { withTree } from '../helpers/tree.js';

t.test('stat fields agree with the source', async (t) => {
  await withTree(t, async ({ src, mnt }) => {
    // Times with nanoseconds, one before 1970, and special files (made with coreutils).
    const touch = async (d: string, p: string) => t.equal((await run('touch', ['-h', '-d', d, p])).code, 0, `touch -d ${d}`);
    await touch('2001-02-03 04:05:06.123456789', join(src, 'data', 'owned'));
    await touch('1960-06-07 08:09:10.5', join(src, 'data', 'empty'));
    await touch('2038-01-19 03:14:09.999999999', join(src, 'data', 'file.txt')); // past 2^31
    t.equal((await run('mkfifo', [join(src, 'data', 'fifo')])).code, 0, 'mkfifo');
    t.equal((await run('mknod', [join(src, 'data', 'chardev'), 'c', '1', '3'])).code, 0, 'mknod c 1 3');

    const entries = [
      '',
      'data',
      'data/sub',
      'data/file.txt',
      'data/owned',
      'data/empty',
      'data/huge-sparse',
      'data/slink',
      'data/h2',
      'data/fifo',
      'data/chardev',
      'links/longtarget',
      'big',
    ];
    for (const e of entries) {
      const want = lstatSync(join(src, e), { bigint: true });
      const got = await within(10_000, 'lstat', fsp.lstat(join(mnt, e), { bigint: true }));
      const pick = (s: typeof want) => ({
        mode: '0o' + s.mode.toString(8),
        size: s.size,
        uid: s.uid,
        gid: s.gid,
        nlink: s.nlink,
        ino: s.ino,
        rdev: s.rdev,
        blocks: s.blocks,
        mtimeNs: s.mtimeNs,
        ctimeNs: s.ctimeNs,
      });
      t.same(pick(got), pick(want), `${e || '(root)'}: mode, size, uid, gid, nlink, ino, rdev, blocks, mtime, ctime`);
    }
    // stat(1) through the mount, as a child sees it.
    const st = await run('stat', ['-c', '%a %s %u %g %h %i %Y', join(mnt, 'data', 'owned')]);
    const s = lstatSync(join(src, 'data', 'owned'));
    t.equal(st.stdout.toString().trim(), `4751 12345 1234 5678 1 ${s.ino} 981173106`, 'stat(1): mode 4751, size, owner, nlink, ino, mtime');
  });
});

leftoverCheck(t);
