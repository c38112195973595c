// Read-write (issue 10): the namespace operations through the mount, each compared with the same
// operation on a plain reference directory: mkdir, rmdir, unlink, rename, link, symlink, mknod
// (a fifo, a device node, a socket), create and fsync of a directory (FSYNCDIR), their errno
// values (EEXIST, ENOENT, ENOTDIR, EISDIR, ENOTEMPTY, EINVAL, and EACCES/EPERM for uid 65534),
// and the resulting trees.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { NOBODY } from '../helpers/mirror.js';
import { mkdirMode, withRw } from '../helpers/rw.js';

const populate = (d: string) => {
  chmodSync(d, 0o755);
  mkdirSync(join(d, 'full'));
  writeFileSync(join(d, 'full', 'f'), 'in full\n');
  writeFileSync(join(d, 'file'), 'a file\n');
  mkdirSync(join(d, 'empty'));
  const sticky = mkdirMode(d, 'sticky', 0o1777);
  writeFileSync(join(sticky, 'roots'), 'root owns this\n');
  const open = mkdirMode(d, 'open', 0o777);
  writeFileSync(join(open, 'roots'), 'root owns this too\n');
  mkdirMode(d, 'closed', 0o755);
};

t.test('namespace operations and their errors, as on a plain directory', async (t) => {
  await withRw(t, { allowOther: true }, { populate }, async (f) => {
    const p = f.pair;
    // mkdir
    await p.expect(t, 'mkdir', 'ok', 'mkdir', 'new', 0o750);
    await p.expect(t, 'mkdir nested', 'ok', 'mkdir', 'new/sub', 0o700);
    await p.expect(t, 'mkdir of an existing dir', 'EEXIST', 'mkdir', 'new', 0o755);
    await p.expect(t, 'mkdir over a file', 'EEXIST', 'mkdir', 'file', 0o755);
    await p.expect(t, 'mkdir in a missing dir', 'ENOENT', 'mkdir', 'missing/x', 0o755);
    await p.expect(t, 'mkdir below a file', 'ENOTDIR', 'mkdir', 'file/x', 0o755);
    await p.expect(t, 'stat of the new dir', 'ok', 'stat', 'new');
    await p.expect(t, 'stat after mkdir: link count', 'ok', 'stat', 'new');
    // create (open O_CREAT)
    const h = await p.value<number>(t, 'create', 'open', 'new/created', 'wronly|creat|excl', 0o640);
    await p.expect(t, 'write to the created file', { ok: 5 }, 'write', h, 'hello');
    await p.expect(t, 'close', { ok: null }, 'close', h);
    await p.expect(t, 'create in a missing dir', 'ENOENT', 'open', 'missing/x', 'wronly|creat', 0o644);
    await p.expect(t, 'open a dir for writing', 'EISDIR', 'open', 'new', 'wronly', 0);
    await p.expect(t, 'O_DIRECTORY of a file', 'ENOTDIR', 'open', 'file', 'rdonly|directory', 0);
    // mknod, a fifo
    await p.expect(t, 'mknod a fifo', 'ok', 'mknod', 'new/fifo', 'fifo', 0o600);
    await p.expect(t, 'mknod a regular file', 'ok', 'mknod', 'new/regular', 'file', 0o600);
    await p.expect(t, 'mknod over a name', 'EEXIST', 'mknod', 'new/fifo', 'fifo', 0o600);
    await p.expect(t, 'mknod a character device (1,3) as root', 'ok', 'mknod', 'new/null', 'chr', 0o666, (1 << 8) | 3);
    await p.expect(t, 'mknod a socket', 'ok', 'mknod', 'new/sock', 'sock', 0o644);
    await p.expect(t, 'the device node', 'ok', 'lstat', 'new/null');
    await p.expect(t, 'the socket node', 'ok', 'lstat', 'new/sock');
    // symlink
    await p.expect(t, 'symlink', 'ok', 'symlink', '../file', 'new/link');
    await p.expect(t, 'readlink', { ok: '../file' }, 'readlink', 'new/link');
    await p.expect(t, 'stat through the new symlink', 'ok', 'stat', 'new/link');
    await p.expect(t, 'a dangling symlink', 'ok', 'symlink', 'nowhere', 'dangling');
    await p.expect(t, 'symlink over a name', 'EEXIST', 'symlink', 'x', 'file');
    await p.expect(t, 'readlink of a file', 'EINVAL', 'readlink', 'file');
    // link
    await p.expect(t, 'link', 'ok', 'link', 'file', 'new/hard');
    await p.expect(t, 'link count after link', 'ok', 'stat', 'file');
    await p.expect(t, 'link over a name', 'EEXIST', 'link', 'file', 'new/hard');
    await p.expect(t, 'link of a missing file', 'ENOENT', 'link', 'missing', 'new/x');
    await p.expect(t, 'link of a directory', 'EPERM', 'link', 'new', 'dirlink');
    await p.expect(t, 'link of a symlink (the link itself)', 'ok', 'link', 'new/link', 'new/link2');
    // rename
    await p.expect(t, 'rename a file', 'ok', 'rename', 'new/created', 'renamed');
    await p.expect(t, 'the old name is gone', 'ENOENT', 'stat', 'new/created');
    await p.expect(t, 'the new name reads', 'ok', 'readfile', 'renamed');
    await p.expect(t, 'rename over a file', 'ok', 'rename', 'renamed', 'new/regular');
    await p.expect(t, 'rename of a missing name', 'ENOENT', 'rename', 'missing', 'x');
    await p.expect(t, 'rename a file over a dir', 'EISDIR', 'rename', 'file', 'empty');
    await p.expect(t, 'rename a dir over a file', 'ENOTDIR', 'rename', 'empty', 'file');
    await p.expect(t, 'rename a dir over a non-empty dir', 'ENOTEMPTY', 'rename', 'empty', 'full');
    await p.expect(t, 'rename a dir into itself', 'EINVAL', 'rename', 'new', 'new/sub/new');
    await p.expect(t, 'rename a dir over an empty dir', 'ok', 'rename', 'new/sub', 'empty');
    await p.expect(t, 'rename to the same name', 'ok', 'rename', 'file', 'file');
    await p.expect(t, 'rename between hard links of one inode (nothing happens)', 'ok', 'rename', 'file', 'new/hard');
    await p.expect(t, 'both hard links still there', 'ok', 'listdir', 'new');
    // unlink
    await p.expect(t, 'unlink', 'ok', 'unlink', 'new/hard');
    await p.expect(t, 'unlink again', 'ENOENT', 'unlink', 'new/hard');
    await p.expect(t, 'unlink a dir', 'EISDIR', 'unlink', 'new');
    await p.expect(t, 'unlink below a file', 'ENOTDIR', 'unlink', 'file/x');
    await p.expect(t, 'unlink a symlink (not its target)', 'ok', 'unlink', 'new/link');
    await p.expect(t, 'the target is still there', 'ok', 'stat', 'file');
    // rmdir
    await p.expect(t, 'rmdir of a non-empty dir', 'ENOTEMPTY', 'rmdir', 'full');
    await p.expect(t, 'rmdir of a file', 'ENOTDIR', 'rmdir', 'file');
    await p.expect(t, 'rmdir of a missing dir', 'ENOENT', 'rmdir', 'missing');
    await p.expect(t, 'rmdir of .', 'EINVAL', 'rmdir', 'empty/.');
    await p.expect(t, 'rmdir', 'ok', 'rmdir', 'empty');
    await p.expect(t, 'stat after rmdir', 'ENOENT', 'stat', 'empty');
    await p.expect(t, 'listing of the root', 'ok', 'listdir', '');
    await p.expect(t, 'link count of the root', 'ok', 'stat', '');
    const d = await p.value<number>(t, 'open a directory', 'open', 'new', 'rdonly|directory', 0);
    await p.expect(t, 'fsync of a directory (FSYNCDIR)', 'ok', 'fsync', d);
    await p.expect(t, 'close it', 'ok', 'close', d);
    if (!f.plain) {
      const r = f.stats()!.requests;
      for (const op of ['MKDIR', 'RMDIR', 'UNLINK', 'RENAME', 'LINK', 'SYMLINK', 'MKNOD', 'CREATE', 'FSYNCDIR', 'FLUSH']) {
        t.ok((r[op] ?? 0) > 0, `${op} requests reached the server (${r[op]})`);
      }
    }

    // As uid 65534: the permission errors of the source.
    const n = f.newPair({ uid: NOBODY });
    await n.expect(t, 'nobody: mkdir in a 755 root dir', 'EACCES', 'mkdir', 'closed/x', 0o755);
    await n.expect(t, 'nobody: create in a 755 root dir', 'EACCES', 'open', 'closed/x', 'wronly|creat', 0o644);
    await n.expect(t, 'nobody: unlink in a 755 root dir', 'EACCES', 'unlink', 'file');
    await n.expect(t, 'nobody: rename out of a 755 dir', 'EACCES', 'rename', 'file', 'open/x');
    await n.expect(t, 'nobody: symlink in a 755 dir', 'EACCES', 'symlink', 'x', 'closed/s');
    await n.expect(t, 'nobody: rmdir in a 755 dir', 'EACCES', 'rmdir', 'closed');
    await n.expect(t, "nobody: unlink of root's file in a sticky dir", 'EPERM', 'unlink', 'sticky/roots');
    await n.expect(t, "nobody: rename of root's file in a sticky dir", 'EPERM', 'rename', 'sticky/roots', 'sticky/mine');
    await n.expect(t, "nobody: unlink of root's file in a 777 dir", 'ok', 'unlink', 'open/roots');
    await n.expect(t, 'nobody: mkdir in a sticky dir', 'ok', 'mkdir', 'sticky/nobodys', 0o755);
    await n.expect(t, 'nobody: create in a sticky dir', 'ok', 'writefile', 'sticky/nobodys/f', 'data', 0o644);
    await n.expect(t, 'nobody: its own file in a sticky dir', 'ok', 'rename', 'sticky/nobodys/f', 'sticky/nobodys/g');
    await n.expect(t, 'nobody: link to a file it does not own (protected_hardlinks)', 'EPERM', 'link', 'sticky/roots', 'sticky/hl');
    await f.sameTrees(t, 'after the namespace operations');
  });
});

leftoverCheck(t);
