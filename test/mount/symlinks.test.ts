// Symlinks through the mount: readlink returns every kind of target as-is (relative, absolute,
// outside the source, dangling, loops, 4,000 bytes, not UTF-8), lstat gives the link's own
// inode and size; links inside the source resolve; loops give ELOOP, dangling links ENOENT,
// readlink of a file EINVAL.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { lstatSync, readlinkSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck, run, within } from '../helpers/mount.js';
import { errCode, withTree } from '../helpers/tree.js';

function readlinkBuf(p: string): Buffer {
  // a buffer encoding keeps non-UTF-8 targets intact
  return readlinkSync(p, { encoding: 'buffer' });
}

t.test('symlinks', async (t) => {
  await withTree(t, async ({ src, mnt, tree }) => {
    const L = (n: string) => join(mnt, 'links', n);
    for (const name of ['rel', 'abs_in', 'abs_out', 'rel_out', 'dir_out', 'dir_in', 'dangling', 'loopA', 'loopB', 'self', 'longtarget', 'binarytarget']) {
      const srcPath = join(src, 'links', name);
      const want = readlinkBuf(srcPath);
      const got = await within(10_000, 'readlink', fsp.readlink(L(name), { encoding: 'buffer' }));
      t.ok(got.equals(want), `${name}: readlink returns the target as-is (${JSON.stringify(want.toString('latin1').slice(0, 40))})`);
      const st = await fsp.lstat(L(name));
      const sst = lstatSync(srcPath);
      t.ok(st.isSymbolicLink(), `${name}: lstat shows a symlink`);
      t.equal(st.ino, sst.ino, `${name}: lstat gives the link's own inode, not its target's`);
      t.equal(st.size, want.length, `${name}: size is the target's length`);
    }
    // readlink(1) of a child agrees.
    const rl = await run('readlink', [L('abs_out')]);
    t.equal(rl.stdout.toString(), '/etc/hostname\n', 'readlink(1) of the outside target');

    // Inside-source links resolve (the kernel follows them, through the mount).
    t.ok((await fsp.readFile(L('rel'))).equals(tree.fileData), 'relative link to a file: content');
    t.ok((await fsp.readFile(L('abs_in'))).equals(tree.fileData), 'absolute link into the source: content');
    const viaRel = await fsp.stat(L('rel'));
    const target = await fsp.stat(join(mnt, 'data', 'file.txt'));
    t.equal(viaRel.ino, target.ino, 'stat through a relative link lands on the target');
    t.same((await fsp.readdir(join(L('dir_in'), 'sub'))).sort(), ['h3'], 'link to a directory in the source');

    // Loops and dangling links.
    t.equal(await errCode(fsp.stat(L('loopA'))), 'ELOOP', 'a->b->a: stat gives ELOOP');
    t.equal(await errCode(fsp.open(L('self'))), 'ELOOP', 'self-link: open gives ELOOP');
    t.equal(await errCode(fsp.stat(L('dangling'))), 'ENOENT', 'dangling link: ENOENT');

    // readlink on something that is not a link.
    t.equal(await errCode(fsp.readlink(join(mnt, 'data', 'file.txt'))), 'EINVAL', 'readlink of a file: EINVAL');
  });
});

leftoverCheck(t);
