// Read-write (issue 10): hard links made through the mount share one inode: link counts through
// every name (stat, fstat of an open fd), the same inode number, a write through one name read
// through the other (no stale size or data from the attribute cache), chmod through one name
// seen through the other, unlink of one name leaves the other, links across directories, a
// rename onto another name of the same inode (a no-op); compared with a plain reference directory.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { withRw } from '../helpers/rw.js';

t.test('hard links share one inode', async (t) => {
  await withRw(t, {}, { populate: (d) => mkdirSync(join(d, 'other')) }, async (f) => {
    const p = f.pair;
    await p.expect(t, 'create f', 'ok', 'writefile', 'f', 'first\n');
    const h = await p.value<number>(t, 'hold f open', 'open', 'f', 'rdwr', 0);
    await p.expect(t, 'link f g', 'ok', 'link', 'f', 'g');
    await p.expect(t, 'link f other/h', 'ok', 'link', 'f', 'other/h');
    for (const n of ['f', 'g', 'other/h']) await p.expect(t, `${n}: link count 3`, { ok: { type: 'file', mode: '0o644', nlink: 3, uid: 0, gid: 0, size: 6 } }, 'stat', n);
    await p.expect(t, 'fstat of the open fd: link count 3', 'ok', 'fstat', h);
    await p.expect(t, 'f and g: one inode', { ok: true }, 'ino_same', 'f', 'g');
    await p.expect(t, 'f and other/h: one inode', { ok: true }, 'ino_same', 'f', 'other/h');
    await p.expect(t, 'write 10 KiB through g', { ok: 10_240 }, 'writefile', 'g', { seed: 5, len: 10_240 });
    await p.expect(t, 'f reads what g wrote', 'ok', 'readfile', 'f');
    await p.expect(t, 'other/h has the new size', 'ok', 'stat', 'other/h');
    await p.expect(t, 'the fd opened on f sees it', 'ok', 'pread', h, 0, 10_240);
    await p.expect(t, 'write through the fd', { ok: 3 }, 'pwrite', h, 10_240, 'END');
    await p.expect(t, 'g has the new size at once', 'ok', 'stat', 'g');
    await p.expect(t, 'g reads it', 'ok', 'readfile', 'g');
    await p.expect(t, 'chmod 600 through other/h', 'ok', 'chmod', 'other/h', 0o600);
    await p.expect(t, 'f has mode 600', 'ok', 'stat', 'f');
    await p.expect(t, 'truncate through f', 'ok', 'truncate', 'f', 2);
    await p.expect(t, 'g has size 2', 'ok', 'stat', 'g');
    await p.expect(t, 'rename g onto f (same inode: nothing happens)', 'ok', 'rename', 'g', 'f');
    await p.expect(t, 'both names remain', 'ok', 'listdir', '');
    await p.expect(t, 'unlink f', 'ok', 'unlink', 'f');
    await p.expect(t, 'g: link count 2', 'ok', 'stat', 'g');
    await p.expect(t, 'fstat: link count 2', 'ok', 'fstat', h);
    await p.expect(t, 'g still reads', 'ok', 'readfile', 'g');
    await p.expect(t, 'link g back to f', 'ok', 'link', 'g', 'f');
    await p.expect(t, 'rename other/h to other/h2', 'ok', 'rename', 'other/h', 'other/h2');
    await p.expect(t, 'other/h2 and f: one inode', { ok: true }, 'ino_same', 'other/h2', 'f');
    await p.expect(t, 'unlink g and other/h2', 'ok', 'unlink', 'g');
    await p.expect(t, 'unlink other/h2', 'ok', 'unlink', 'other/h2');
    await p.expect(t, 'f: link count 1', 'ok', 'stat', 'f');
    await p.expect(t, 'fstat: link count 1', 'ok', 'fstat', h);
    await p.expect(t, 'close', 'ok', 'close', h);
    // Many links of one file.
    for (let i = 0; i < 50; i++) {
      const r = await p.both('link', 'f', `many-${i}`);
      if (JSON.stringify(r.mnt) !== JSON.stringify(r.ref)) {
        t.same(r.mnt, r.ref, `link ${i}`);
        break;
      }
    }
    await p.expect(t, 'f: link count 51', 'ok', 'stat', 'f');
    await p.expect(t, 'many-49: link count 51', 'ok', 'stat', 'many-49');
    await f.sameTrees(t, 'after the hard links');
  });
});

leftoverCheck(t);
