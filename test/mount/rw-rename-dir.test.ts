// Read-write (issue 10): rename a directory with a tree below it (and a file of it held open),
// and every node below still works through the mount, as on a plain reference directory: stat,
// read, write, create, rename, unlink, rmdir and readdir at every depth under the new name; the
// old name gives ENOENT at every depth; the held fd keeps writing; then a rename back, and a
// rename of the directory into another directory.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { withRw } from '../helpers/rw.js';

const populate = (d: string) => {
  let dir = join(d, 'a');
  mkdirSync(dir);
  for (let depth = 0; depth < 5; depth++) {
    for (let i = 0; i < 4; i++) writeFileSync(join(dir, `f${i}`), `depth ${depth} file ${i}\n`);
    const next = join(dir, `sub${depth}`);
    mkdirSync(next);
    dir = next;
  }
  mkdirSync(join(d, 'elsewhere'));
};

const paths = (root: string) => {
  const out: string[] = [];
  let dir = root;
  for (let depth = 0; depth < 5; depth++) {
    out.push(dir);
    dir = `${dir}/sub${depth}`;
  }
  return out;
};

t.test('rename a directory: every node below it still works', async (t) => {
  await withRw(t, {}, { populate }, async (f) => {
    const p = f.pair;
    // Visit everything first, so the server knows every node by its old path.
    for (const d of paths('a')) {
      await p.expect(t, `listing ${d}`, 'ok', 'listdir', d);
      await p.expect(t, `read ${d}/f0`, 'ok', 'readfile', `${d}/f0`);
    }
    const held = await p.value<number>(t, 'hold a/sub0/sub1/f2 open', 'open', 'a/sub0/sub1/f2', 'rdwr', 0);
    await p.expect(t, 'rename a to z', 'ok', 'rename', 'a', 'z');
    for (const [i, d] of paths('z').entries()) {
      await p.expect(t, `old name ${paths('a')[i]}/f1 gone`, 'ENOENT', 'stat', `${paths('a')[i]}/f1`);
      await p.expect(t, `stat ${d}/f1`, 'ok', 'stat', `${d}/f1`);
      await p.expect(t, `read ${d}/f1`, 'ok', 'readfile', `${d}/f1`);
      await p.expect(t, `write ${d}/f1`, { ok: 7 }, 'writefile', `${d}/f1`, 'written');
      await p.expect(t, `create ${d}/new`, { ok: 3 }, 'writefile', `${d}/new`, 'new');
      await p.expect(t, `rename ${d}/f2 to ${d}/g2`, 'ok', 'rename', `${d}/f2`, `${d}/g2`);
      await p.expect(t, `unlink ${d}/f3`, 'ok', 'unlink', `${d}/f3`);
      await p.expect(t, `mkdir ${d}/dd`, 'ok', 'mkdir', `${d}/dd`, 0o755);
      await p.expect(t, `rmdir ${d}/dd`, 'ok', 'rmdir', `${d}/dd`);
      await p.expect(t, `listing ${d}`, 'ok', 'listdir', d);
    }
    await p.expect(t, 'the held fd writes', { ok: 4 }, 'pwrite', held, 0, 'HELD');
    await p.expect(t, 'its file under the new path (renamed to g2 meanwhile)', 'ok', 'readfile', 'z/sub0/sub1/g2');
    await p.expect(t, 'close', 'ok', 'close', held);
    await p.expect(t, 'rename z back to a', 'ok', 'rename', 'z', 'a');
    await p.expect(t, 'deepest file under the old name again', 'ok', 'readfile', 'a/sub0/sub1/sub2/sub3/new');
    await p.expect(t, 'rename a/sub0 into elsewhere/', 'ok', 'rename', 'a/sub0', 'elsewhere/moved');
    await p.expect(t, 'deep read after the move', 'ok', 'readfile', 'elsewhere/moved/sub1/sub2/sub3/f1');
    await p.expect(t, 'deep create after the move', 'ok', 'writefile', 'elsewhere/moved/sub1/sub2/sub3/later', 'later');
    await p.expect(t, 'link count of elsewhere', 'ok', 'stat', 'elsewhere');
    await p.expect(t, 'link count of a', 'ok', 'stat', 'a');
    await p.expect(t, 'a/sub0 is gone', 'ENOENT', 'stat', 'a/sub0/f1');
    await f.sameTrees(t, 'after renaming directories');
  });
});

leftoverCheck(t);
