// Read-write (issue 10): an open file survives the unlink of its name, through the mount as on a
// plain reference directory: after the unlink, the fd reads, writes, grows, truncates and fstats
// (link count 0); the name is gone and can be reused for a new file, which the old fd does not
// see; a file replaced by a rename over its name keeps its data for an fd open on it; the last
// close leaves nothing behind in the source (no hidden leftover such as .fuse_hidden*).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { withRw } from '../helpers/rw.js';

t.test('an open file survives the unlink of its name', async (t) => {
  const populate = (d: string) => {
    writeFileSync(join(d, 'victim'), Buffer.alloc(20_000, 0x76));
    writeFileSync(join(d, 'old'), 'old content\n');
    writeFileSync(join(d, 'replacement'), 'the replacement\n');
  };
  await withRw(t, {}, { populate }, async (f) => {
    const p = f.pair;
    const h = await p.value<number>(t, 'open victim rw', 'open', 'victim', 'rdwr', 0);
    const r = await p.value<number>(t, 'open victim read-only too', 'open', 'victim', 'rdonly', 0);
    await p.expect(t, 'unlink its name', 'ok', 'unlink', 'victim');
    await p.expect(t, 'the name is gone', 'ENOENT', 'stat', 'victim');
    await p.expect(t, 'listing without it', 'ok', 'listdir', '');
    await p.expect(t, 'fstat: link count 0', { ok: { type: 'file', mode: '0o644', nlink: 0, uid: 0, gid: 0, size: 20_000 } }, 'fstat', h);
    await p.expect(t, 'read through the fd', 'ok', 'pread', h, 0, 20_000);
    await p.expect(t, 'write through the fd', { ok: 50_000 }, 'pwrite', h, 10_000, { seed: 8, len: 50_000 });
    await p.expect(t, 'the other fd sees the write', 'ok', 'pread', r, 0, 60_000);
    await p.expect(t, 'ftruncate through the fd', 'ok', 'ftruncate', h, 30_000);
    await p.expect(t, 'fstat after ftruncate', 'ok', 'fstat', r);
    await p.expect(t, 'fsync', 'ok', 'fsync', h);
    await p.expect(t, 'a new file under the old name', 'ok', 'writefile', 'victim', 'new file\n', 0o600);
    await p.expect(t, 'the new name reads the new file', 'ok', 'readfile', 'victim');
    await p.expect(t, 'the old fd still reads the old data', 'ok', 'pread', r, 0, 30_000);
    await p.expect(t, 'the old fd still fstats link count 0', 'ok', 'fstat', r);
    await p.expect(t, 'close', 'ok', 'close', h);
    await p.expect(t, 'the old data, after the writer closed', 'ok', 'pread', r, 0, 30_000);
    await p.expect(t, 'close', 'ok', 'close', r);

    // Replaced by a rename over its name.
    const o = await p.value<number>(t, 'open old', 'open', 'old', 'rdonly', 0);
    await p.expect(t, 'rename replacement over old', 'ok', 'rename', 'replacement', 'old');
    await p.expect(t, 'old by name is the replacement', 'ok', 'readfile', 'old');
    await p.expect(t, 'the open fd reads the replaced file', 'ok', 'pread', o, 0, 100);
    await p.expect(t, 'fstat of the replaced file: link count 0', 'ok', 'fstat', o);
    await p.expect(t, 'close', 'ok', 'close', o);
    await p.expect(t, 'listing at the end: no hidden leftovers', { ok: ['old', 'victim'] }, 'listdir', '');
    await f.sameTrees(t, 'after the unlinks');
  });
});

leftoverCheck(t);
