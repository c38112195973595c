// Read-write (issue 10): renameat2 through the mount, compared with the same calls on a plain
// reference directory: RENAME_NOREPLACE (EEXIST when the target exists), RENAME_EXCHANGE (two
// files, a file and a directory, ENOENT without a target), and RENAME_WHITEOUT, which the
// server refuses with EINVAL (the source's file system might make whiteouts; the mount does not).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { withRw } from '../helpers/rw.js';

const populate = (d: string) => {
  writeFileSync(join(d, 'a'), 'content of a\n');
  writeFileSync(join(d, 'b'), 'content of b, longer\n');
  mkdirSync(join(d, 'dir'));
  writeFileSync(join(d, 'dir', 'inner'), 'inside dir\n');
  mkdirSync(join(d, 'other'));
};

t.test('renameat2 flags, as on a plain directory', async (t) => {
  await withRw(t, {}, { populate }, async (f) => {
    const p = f.pair;
    await p.expect(t, 'NOREPLACE onto an existing name', 'EEXIST', 'rename2', 'a', 'b', 'noreplace');
    await p.expect(t, 'a still reads as before', 'ok', 'readfile', 'a');
    await p.expect(t, 'NOREPLACE onto a new name', 'ok', 'rename2', 'a', 'a2', 'noreplace');
    await p.expect(t, 'the old name is gone', 'ENOENT', 'stat', 'a');
    await p.expect(t, 'NOREPLACE of a missing name', 'ENOENT', 'rename2', 'a', 'x', 'noreplace');
    await p.expect(t, 'NOREPLACE of a dir onto an existing dir', 'EEXIST', 'rename2', 'dir', 'other', 'noreplace');

    await p.expect(t, 'EXCHANGE two files', 'ok', 'rename2', 'a2', 'b', 'exchange');
    await p.expect(t, 'b now holds what a held', 'ok', 'readfile', 'b');
    await p.expect(t, 'a2 now holds what b held', 'ok', 'readfile', 'a2');
    await p.expect(t, 'size of b after the exchange (no stale attributes)', 'ok', 'stat', 'b');
    await p.expect(t, 'size of a2 after the exchange', 'ok', 'stat', 'a2');
    await p.expect(t, 'EXCHANGE a file and a directory', 'ok', 'rename2', 'a2', 'dir', 'exchange');
    await p.expect(t, 'dir is the file now', 'ok', 'lstat', 'dir');
    await p.expect(t, 'a2 is the directory now, with its entry', 'ok', 'readfile', 'a2/inner');
    await p.expect(t, 'the entry is not under the old name', 'ENOTDIR', 'stat', 'dir/inner');
    await p.expect(t, 'EXCHANGE with a missing target', 'ENOENT', 'rename2', 'b', 'missing', 'exchange');
    await p.expect(t, 'EXCHANGE with a missing source', 'ENOENT', 'rename2', 'missing', 'b', 'exchange');
    await p.expect(t, 'EXCHANGE across directories', 'ok', 'rename2', 'b', 'a2/inner', 'exchange');
    await p.expect(t, 'EXCHANGE|NOREPLACE', 'EINVAL', 'rename2', 'b', 'dir', 'exchange|noreplace');
    await p.expect(t, 'listing of the root', 'ok', 'listdir', '');
    await p.expect(t, 'listing of a2', 'ok', 'listdir', 'a2');

    // WHITEOUT: refused by the server with EINVAL, the names untouched.
    if (f.plain) {
      t.comment('plain mode: RENAME_WHITEOUT is the kernel file system\'s to answer; the server\'s EINVAL is not checked');
    } else {
      t.same(await p.m.call('rename2', 'b', 'whiteout-target', 'whiteout'), { err: 'EINVAL' }, 'WHITEOUT through the mount: EINVAL');
      t.same(await p.m.call('stat', 'b'), await p.r.call('stat', 'b'), 'the source name is still there');
      t.same(await p.m.call('stat', 'whiteout-target'), { err: 'ENOENT' }, 'no target was made');
    }
    await f.sameTrees(t, 'after the renames');
  });
});

leftoverCheck(t);
