// Read-write (issue 10): O_TMPFILE through the mount, compared with a plain reference directory:
// an unnamed file in a directory (link count 0, no entry), written and read through its fd,
// then given a name with linkat(/proc/self/fd/N, AT_SYMLINK_FOLLOW); an O_TMPFILE closed
// without a name leaves nothing; O_TMPFILE|O_EXCL cannot be linked (ENOENT); in a missing
// directory (ENOENT) or a file (ENOTDIR).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { withRw } from '../helpers/rw.js';

t.test('O_TMPFILE and linkat of it', async (t) => {
  const populate = (d: string) => {
    mkdirSync(join(d, 'd'));
    writeFileSync(join(d, 'file'), 'x');
  };
  await withRw(t, {}, { populate }, async (f) => {
    const p = f.pair;
    const h = await p.value<number>(t, 'O_TMPFILE|O_RDWR in d', 'open', 'd', 'tmpfile|rdwr', 0o640);
    await p.expect(t, 'd lists nothing', { ok: [] }, 'listdir', 'd');
    await p.expect(t, 'write 100 KiB', { ok: 100 * 1024 }, 'pwrite', h, 0, { seed: 4, len: 100 * 1024 });
    await p.expect(t, 'read it back', 'ok', 'pread', h, 0, 100 * 1024);
    await p.expect(t, 'fstat: link count 0, mode 640', { ok: { type: 'file', mode: '0o640', nlink: 0, uid: 0, gid: 0, size: 100 * 1024 } }, 'fstat', h);
    await p.expect(t, 'linkat it as d/named', 'ok', 'linktmp', h, 'd/named');
    await p.expect(t, 'fstat: link count 1', 'ok', 'fstat', h);
    await p.expect(t, 'd lists the name', { ok: ['named'] }, 'listdir', 'd');
    await p.expect(t, 'a write after the link', { ok: 5 }, 'pwrite', h, 0, 'after');
    await p.expect(t, 'close', 'ok', 'close', h);
    await p.expect(t, 'read by name', 'ok', 'readfile', 'd/named');
    await p.expect(t, 'stat by name', 'ok', 'stat', 'd/named');

    const g = await p.value<number>(t, 'another O_TMPFILE', 'open', 'd', 'tmpfile|wronly', 0o600);
    await p.expect(t, 'write to it', { ok: 3 }, 'write', g, 'tmp');
    await p.expect(t, 'linkat onto an existing name', 'EEXIST', 'linktmp', g, 'd/named');
    await p.expect(t, 'close without a name', 'ok', 'close', g);
    await p.expect(t, 'nothing was left', { ok: ['named'] }, 'listdir', 'd');

    const x = await p.value<number>(t, 'O_TMPFILE|O_EXCL', 'open', 'd', 'tmpfile|rdwr|excl', 0o600);
    await p.expect(t, 'linkat of an O_EXCL tmpfile', 'ENOENT', 'linktmp', x, 'd/never');
    await p.expect(t, 'close', 'ok', 'close', x);
    await p.expect(t, 'O_TMPFILE in a missing dir', 'ENOENT', 'open', 'missing', 'tmpfile|rdwr', 0o600);
    await p.expect(t, 'O_TMPFILE on a file', 'ENOTDIR', 'open', 'file', 'tmpfile|rdwr', 0o600);
    await p.expect(t, 'O_TMPFILE without write access mode', 'EINVAL', 'open', 'd', 'tmpfile|rdonly', 0o600);
    if (!f.plain) t.ok((f.stats()!.requests.TMPFILE ?? 0) > 0, `TMPFILE requests reached the server (${f.stats()!.requests.TMPFILE})`);
    await f.sameTrees(t, 'after O_TMPFILE');
  });
});

leftoverCheck(t);
