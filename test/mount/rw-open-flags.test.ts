// Read-write (issue 10): open flags through the mount, compared with a plain reference
// directory: O_TRUNC (of a file with data; of a file open elsewhere), O_APPEND (writes land at
// the end, whatever the offset; pwrite on an O_APPEND fd appends too, as Linux does), O_EXCL
// (EEXIST, also for a dangling symlink), O_CREAT of an existing file keeps it, O_DIRECT (aligned
// writes and reads, and a read of what was written by a buffered fd), O_TRUNC as uid 65534
// without write permission (EACCES).
import { chmodSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { NOBODY } from '../helpers/mirror.js';
import { withRw } from '../helpers/rw.js';

const populate = (d: string) => {
  chmodSync(d, 0o755);
  writeFileSync(join(d, 'full'), Buffer.alloc(50_000, 0x62));
  writeFileSync(join(d, 'log'), 'first line\n');
  writeFileSync(join(d, 'keep'), 'keep me\n');
  writeFileSync(join(d, 'ro644'), 'root only\n');
  symlinkSync('nowhere', join(d, 'dangling'));
};

t.test('O_TRUNC, O_APPEND, O_EXCL, O_CREAT, O_DIRECT', async (t) => {
  await withRw(t, { allowOther: true }, { populate }, async (f) => {
    const p = f.pair;
    // O_TRUNC, with the file open elsewhere for reading (its cached pages must not survive).
    const r = await p.value<number>(t, 'open full for reading', 'open', 'full', 'rdonly', 0);
    await p.expect(t, 'read it (into the cache)', 'ok', 'pread', r, 0, 50_000);
    const w = await p.value<number>(t, 'open O_WRONLY|O_TRUNC', 'open', 'full', 'wronly|trunc', 0);
    await p.expect(t, 'size 0 after O_TRUNC', 'ok', 'fstat', r);
    await p.expect(t, 'the reader sees no data', { ok: { len: 0, sha: 'e3b0c44298fc1c149afbf4c8996fb924', hex: '' } }, 'pread', r, 0, 100);
    await p.expect(t, 'write after O_TRUNC', { ok: 4 }, 'write', w, 'new!');
    await p.expect(t, 'the reader sees the new data', 'ok', 'pread', r, 0, 100);
    await p.expect(t, 'close writer', 'ok', 'close', w);
    await p.expect(t, 'close reader', 'ok', 'close', r);
    await p.expect(t, 'O_RDONLY|O_TRUNC truncates too (Linux)', 'ok', 'open', 'keep', 'rdonly|trunc', 0);
    await p.expect(t, 'keep is empty', 'ok', 'stat', 'keep');

    // O_APPEND
    const a = await p.value<number>(t, 'open O_WRONLY|O_APPEND', 'open', 'log', 'wronly|append', 0);
    await p.expect(t, 'append a line', { ok: 12 }, 'write', a, 'second line\n');
    await p.expect(t, 'pwrite at 0 on an O_APPEND fd appends', { ok: 11 }, 'pwrite_once', a, 0, 'third line\n');
    // Another writer extends the file between two appends: the next append goes after it.
    const o = await p.value<number>(t, 'open a second, plain writer', 'open', 'log', 'wronly', 0);
    await p.expect(t, 'the plain writer writes past the end', { ok: 6 }, 'pwrite', o, 40, 'other\n');
    await p.expect(t, 'append after the other writer', { ok: 6 }, 'write', a, 'last!\n');
    await p.expect(t, 'close', 'ok', 'close', o);
    await p.expect(t, 'close', 'ok', 'close', a);
    await p.expect(t, 'the log', 'ok', 'readfile', 'log');
    await p.expect(t, 'size of the log', 'ok', 'stat', 'log');
    const ar = await p.value<number>(t, 'open O_RDWR|O_APPEND', 'open', 'log', 'rdwr|append', 0);
    await p.expect(t, 'read from the start of an O_APPEND fd', 'ok', 'read', ar, 5);
    await p.expect(t, 'write appends, not at the read position', { ok: 3 }, 'write', ar, 'eof');
    await p.expect(t, 'lseek cur after the append', 'ok', 'lseek', ar, 0, 'cur');
    await p.expect(t, 'close', 'ok', 'close', ar);
    await p.expect(t, 'the log at the end', 'ok', 'readfile', 'log');

    // O_EXCL, O_CREAT
    await p.expect(t, 'O_CREAT|O_EXCL of an existing file', 'EEXIST', 'open', 'log', 'wronly|creat|excl', 0o644);
    await p.expect(t, 'O_CREAT|O_EXCL of a dangling symlink', 'EEXIST', 'open', 'dangling', 'wronly|creat|excl', 0o644);
    await p.expect(t, 'the dangling symlink did not make its target', 'ENOENT', 'stat', 'nowhere');
    await p.expect(t, 'O_CREAT|O_EXCL of a new name', 'ok', 'open', 'excl-new', 'wronly|creat|excl', 0o600);
    await p.expect(t, 'O_CREAT of an existing file keeps its data and mode', 'ok', 'open', 'log', 'wronly|creat', 0o600);
    await p.expect(t, 'log is unchanged', 'ok', 'stat', 'log');
    await p.expect(t, 'O_CREAT through a dangling symlink creates its target', 'ok', 'open', 'dangling', 'wronly|creat', 0o640);
    await p.expect(t, 'the target now exists', 'ok', 'stat', 'nowhere');

    // O_NOFOLLOW (grep -r and find open every file with it): a regular file opens, a symlink
    // gives ELOOP; for reading and for writing.
    await p.expect(t, 'O_RDONLY|O_NOFOLLOW of a regular file', 'ok', 'open', 'log', 'rdonly|nofollow', 0);
    await p.expect(t, 'O_WRONLY|O_NOFOLLOW of a regular file', 'ok', 'open', 'log', 'wronly|nofollow', 0);
    await p.expect(t, 'O_CREAT|O_NOFOLLOW of a new file', 'ok', 'open', 'nofollow-new', 'wronly|creat|nofollow', 0o644);
    await p.expect(t, 'O_RDONLY|O_NOFOLLOW of a symlink', 'ELOOP', 'open', 'dangling', 'rdonly|nofollow', 0);
    await p.expect(t, 'O_RDONLY|O_NOFOLLOW|O_DIRECTORY of the root', 'ok', 'open', '', 'rdonly|nofollow|directory', 0);

    // O_DIRECT: aligned buffers, offsets and sizes.
    const d = await p.value<number>(t, 'open O_RDWR|O_CREAT|O_DIRECT', 'open', 'direct', 'rdwr|creat|direct', 0o644);
    await p.expect(t, 'O_DIRECT write of 1 MiB at 0', { ok: 1 << 20 }, 'write_direct', d, 0, { seed: 9, len: 1 << 20 });
    await p.expect(t, 'O_DIRECT write of 4 KiB at 8 KiB (over)', { ok: 4096 }, 'write_direct', d, 8192, { seed: 10, len: 4096 });
    await p.expect(t, 'O_DIRECT write past the end', { ok: 8192 }, 'write_direct', d, (1 << 20) + 4096, { seed: 11, len: 8192 });
    await p.expect(t, 'O_DIRECT read of 64 KiB at 4 KiB', 'ok', 'read_direct', d, 4096, 65536);
    await p.expect(t, 'O_DIRECT read across the end', 'ok', 'read_direct', d, 1 << 20, 65536);
    await p.expect(t, 'size after O_DIRECT writes', 'ok', 'fstat', d);
    const b = await p.value<number>(t, 'a buffered fd on the same file', 'open', 'direct', 'rdwr', 0);
    await p.expect(t, 'buffered write', { ok: 5 }, 'pwrite', b, 100, 'hello');
    await p.expect(t, 'O_DIRECT read sees the buffered write', 'ok', 'read_direct', d, 0, 4096);
    await p.expect(t, 'O_DIRECT write', { ok: 4096 }, 'write_direct', d, 0, { seed: 12, len: 4096 });
    await p.expect(t, 'buffered read sees the O_DIRECT write', 'ok', 'pread', b, 0, 4096);
    await p.expect(t, 'close', 'ok', 'close', b);
    await p.expect(t, 'close', 'ok', 'close', d);
    await p.expect(t, 'the O_DIRECT file', 'ok', 'readfile', 'direct');

    // As uid 65534 on root's 644 file.
    const n = f.newPair({ uid: NOBODY });
    await n.expect(t, 'nobody: O_WRONLY|O_TRUNC of a 644 root file', 'EACCES', 'open', 'ro644', 'wronly|trunc', 0);
    await n.expect(t, 'nobody: O_APPEND of a 644 root file', 'EACCES', 'open', 'ro644', 'wronly|append', 0);
    await n.expect(t, 'nobody: O_CREAT in a 755 root dir', 'EACCES', 'open', 'nobodys', 'wronly|creat', 0o644);
    await n.expect(t, 'nobody: O_CREAT|O_EXCL of an existing file in a 755 dir', 'EEXIST', 'open', 'ro644', 'wronly|creat|excl', 0o644);
    await n.expect(t, 'root file unchanged', 'ok', 'readfile', 'ro644');
    await f.sameTrees(t, 'after the opens');
  });
});

leftoverCheck(t);
