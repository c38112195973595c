// Extended attributes read back through the mount: every name and value (plain, binary,
// empty, larger than a first guess, on a directory, on a hard-linked inode) equals the
// source's via listxattr + getxattr and via getfattr; a symlink's own xattrs are asked, not its
// target's; a missing attribute gives ENODATA and setfattr through a read-only mount
// (readOnly: true) EROFS.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { leftoverCheck, run } from '../helpers/mount.js';
import { withTree } from '../helpers/tree.js';

const XATTR_DUMP = fileURLToPath(new URL('../scripts/xattr_dump.py', import.meta.url));

t.test('xattrs read back through the mount', async (t) => {
  const which = await run('sh', ['-c', 'command -v setfattr && command -v getfattr']);
  t.equal(which.code, 0, 'setfattr and getfattr are installed (apt package attr; .ci/run installs it)');
  await withTree(t, async ({ src, mnt, stats }) => {
    const set = async (p: string, n: string, v: string) => {
      const r = await run('setfattr', ['-n', n, '-v', v, p]);
      t.equal(r.code, 0, `setfattr ${n} on the source`, { stderr: r.stderr.toString() });
    };
    const f = join(src, 'data', 'file.txt');
    await set(f, 'user.plain', 'hello world');
    await set(f, 'user.binary', '0x00ff0001fe');
    await set(f, 'user.empty', '');
    await set(f, 'user.big', '0x' + 'ab'.repeat(3000)); // bigger than a first 128-byte guess: ERANGE path
    await set(join(src, 'data'), 'user.dir', 'on a directory');
    await set(join(src, 'data', 'h1'), 'user.hard', 'on a hard-linked inode');
    // An outside file with an xattr, behind a link: the link's own xattrs must be asked, not the target's.
    const outside = join(src, '..', `${src.split('/').pop()}-outside`);
    writeFileSync(outside, 'o');
    t.teardown(() => rmSync(outside, { force: true }));
    await set(outside, 'user.secret', 'not through the link');
    symlinkSync(outside, join(src, 'data', 'to-outside'));

    const names = ['file.txt', 'h2', 'empty', 'to-outside'];
    const args = (dir: string) => [...names.map((n) => join(dir, 'data', n)), join(dir, 'data')];
    const want = await run('python3', [XATTR_DUMP, ...args(src)]);
    const before = stats().requests;
    const got = await run('python3', [XATTR_DUMP, ...args(mnt)]);
    t.equal(got.code, 0, 'python xattr dump through the mount', { stderr: got.stderr.toString() });
    const w = JSON.parse(want.stdout.toString()) as Record<string, Record<string, string>>;
    const g = JSON.parse(got.stdout.toString() || '{}') as Record<string, Record<string, string>>;
    t.same(g, w, 'every name and value (listxattr + getxattr) equals the source');
    t.equal(w['file.txt']['user.plain'], Buffer.from('hello world').toString('hex'), 'sanity: the source dump holds the value');
    t.same(g['to-outside'], {}, 'a symlink to an outside file shows no xattr (the target was not followed)');
    const after = stats().requests;
    t.ok((after.GETXATTR ?? 0) > (before.GETXATTR ?? 0), 'GETXATTR reached the server');
    t.ok((after.LISTXATTR ?? 0) > (before.LISTXATTR ?? 0), 'LISTXATTR reached the server');

    // getfattr, as a user would run it.
    const gf = await run('getfattr', ['--absolute-names', '-d', '-m', '^user\\.', '-e', 'hex', join(mnt, 'data', 'file.txt')]);
    const gs = await run('getfattr', ['--absolute-names', '-d', '-m', '^user\\.', '-e', 'hex', join(src, 'data', 'file.txt')]);
    t.equal(gf.code, 0, 'getfattr -d exits 0');
    t.equal(
      gf.stdout.toString().replace(mnt, 'X'),
      gs.stdout.toString().replace(src, 'X'),
      'getfattr -d -e hex: same dump as the source',
    );
    t.match(gf.stdout.toString(), /user\.plain=0x68656c6c6f20776f726c64/, 'getfattr shows user.plain');
    const one = await run('getfattr', ['--only-values', '-n', 'user.plain', join(mnt, 'data', 'file.txt')]);
    t.equal(one.stdout.toString(), 'hello world', 'getfattr --only-values -n user.plain');
    const none = await run('getfattr', ['-n', 'user.missing', join(mnt, 'data', 'file.txt')]);
    t.not(none.code, 0, 'a missing attribute: getfattr fails');
    t.match(none.stderr.toString(), /No such attribute/, 'with ENODATA');
    const ro = await run('setfattr', ['-n', 'user.new', '-v', 'x', join(mnt, 'data', 'file.txt')]);
    t.not(ro.code, 0, 'setfattr through the mount fails');
    t.match(ro.stderr.toString(), /Read-only file system/, 'with EROFS');
  }, { readOnly: true });
});

leftoverCheck(t);
