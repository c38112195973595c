// Read-write (issue 10): SETXATTR, REMOVEXATTR (and GETXATTR, LISTXATTR of what was set) through
// the mount, compared with a plain reference directory: user.* attributes set, replaced,
// removed; XATTR_CREATE on an existing name (EEXIST), XATTR_REPLACE on a missing one (ENODATA),
// removing a missing one (ENODATA), an empty value, a 4000-byte value, on a directory, through
// an open fd; user.* on a symlink (EPERM) and as uid 65534 on root's 644 file (EACCES).
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { NOBODY } from '../helpers/mirror.js';
import { withRw } from '../helpers/rw.js';

const populate = (d: string) => {
  chmodSync(d, 0o755);
  writeFileSync(join(d, 'f'), 'file\n');
  writeFileSync(join(d, 'shared'), 'everyone writes\n');
  chmodSync(join(d, 'shared'), 0o666);
  mkdirSync(join(d, 'dir'));
  symlinkSync('f', join(d, 'sl'));
};

t.test('user.* xattrs: set, create, replace, remove', async (t) => {
  await withRw(t, { allowOther: true }, { populate }, async (f) => {
    const p = f.pair;
    await p.expect(t, 'set user.a', 'ok', 'setxattr', 'f', 'user.a', 'one');
    await p.expect(t, 'get user.a', { ok: 'one' }, 'getxattr', 'f', 'user.a');
    await p.expect(t, 'set user.a again (replace, no flag)', 'ok', 'setxattr', 'f', 'user.a', 'two, longer');
    await p.expect(t, 'get the new value', { ok: 'two, longer' }, 'getxattr', 'f', 'user.a');
    await p.expect(t, 'XATTR_CREATE of an existing name', 'EEXIST', 'setxattr', 'f', 'user.a', 'x', 'create');
    await p.expect(t, 'XATTR_REPLACE of a missing name', 'ENODATA', 'setxattr', 'f', 'user.b', 'x', 'replace');
    await p.expect(t, 'XATTR_CREATE of a new name', 'ok', 'setxattr', 'f', 'user.b', 'bee', 'create');
    await p.expect(t, 'XATTR_REPLACE of an existing name', 'ok', 'setxattr', 'f', 'user.b', 'bee2', 'replace');
    await p.expect(t, 'an empty value', 'ok', 'setxattr', 'f', 'user.empty', '');
    await p.expect(t, 'get the empty value', { ok: '' }, 'getxattr', 'f', 'user.empty');
    await p.expect(t, 'a 4000-byte value', 'ok', 'setxattr', 'f', 'user.big', 'v'.repeat(4000));
    await p.expect(t, 'get it back', { ok: 'v'.repeat(4000) }, 'getxattr', 'f', 'user.big');
    await p.expect(t, 'list', { ok: ['user.a', 'user.b', 'user.big', 'user.empty'] }, 'listxattr', 'f');
    await p.expect(t, 'remove user.a', 'ok', 'removexattr', 'f', 'user.a');
    await p.expect(t, 'get the removed name', 'ENODATA', 'getxattr', 'f', 'user.a');
    await p.expect(t, 'remove it again', 'ENODATA', 'removexattr', 'f', 'user.a');
    await p.expect(t, 'list after removing', { ok: ['user.b', 'user.big', 'user.empty'] }, 'listxattr', 'f');
    await p.expect(t, 'on a directory', 'ok', 'setxattr', 'dir', 'user.d', 'dir value');
    await p.expect(t, 'get it from the directory', { ok: 'dir value' }, 'getxattr', 'dir', 'user.d');
    await p.expect(t, 'user.* on a symlink itself', 'EPERM', 'setxattr', 'sl', 'user.s', 'x');
    await p.expect(t, 'on a missing file', 'ENOENT', 'setxattr', 'missing', 'user.x', 'x');
    await p.expect(t, 'an unknown namespace', 'ENOTSUP', 'setxattr', 'f', 'bogus.x', 'x');
    const h = await p.value<number>(t, 'open f', 'open', 'f', 'rdonly', 0);
    await p.expect(t, 'fsetxattr through an open fd', 'ok', 'fsetxattr', h, 'user.fd', 'by fd');
    await p.expect(t, 'fsetxattr XATTR_CREATE of an existing name', 'EEXIST', 'fsetxattr', h, 'user.fd', 'again', 'create');
    await p.expect(t, 'close', 'ok', 'close', h);
    await p.expect(t, 'get what the fd set', { ok: 'by fd' }, 'getxattr', 'f', 'user.fd');
    // Hard link: one inode, one set of attributes.
    await p.expect(t, 'a hard link of f', 'ok', 'link', 'f', 'f2');
    await p.expect(t, 'set through the link', 'ok', 'setxattr', 'f2', 'user.via-link', 'L');
    await p.expect(t, 'seen through the first name', { ok: 'L' }, 'getxattr', 'f', 'user.via-link');
    // As uid 65534
    const n = f.newPair({ uid: NOBODY });
    await n.expect(t, "nobody: set user.* on root's 644 file", 'EACCES', 'setxattr', 'f', 'user.n', 'x');
    await n.expect(t, "nobody: remove user.* on root's 644 file", 'EACCES', 'removexattr', 'f', 'user.b');
    await n.expect(t, "nobody: read user.* of root's 644 file", { ok: 'bee2' }, 'getxattr', 'f', 'user.b');
    await n.expect(t, "nobody: set user.* on root's 666 file", 'ok', 'setxattr', 'shared', 'user.n', 'nobody was here');
    await n.expect(t, 'nobody: trusted.* (root only)', 'EPERM', 'setxattr', 'shared', 'trusted.n', 'x');
    await f.sameTrees(t, 'after the xattr changes');
  });
});

leftoverCheck(t);
