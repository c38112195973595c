// Read-write (issue 10): a read-only mount still refuses every change. With readOnly: true (the
// API) and with `-o ro` (the command line), every modifying operation gives EROFS (create,
// mknod, mkdir, symlink, link, unlink, rmdir, rename, renameat2, open for writing or with
// O_TRUNC, O_TMPFILE, truncate, chmod, chown, utimensat, setxattr, removexattr) while reads
// work, mountinfo says ro, and the source is unchanged; without options the command line mounts
// read-write (mountinfo says rw, a mkdir reaches the source).
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { freshDir, leftoverCheck, mountsAt, run, withMount } from '../helpers/mount.js';
import { scratch, startMounted } from '../helpers/mirror.js';
import { OpServer, PLAIN, type TreeEntry } from '../helpers/rw.js';

const populate = (d: string) => {
  writeFileSync(join(d, 'f'), 'data\n');
  mkdirSync(join(d, 'empty'));
  symlinkSync('f', join(d, 'sl'));
  writeFileSync(join(d, 'x'), 'x');
};

const MODIFYING: Array<[string, string, ...unknown[]]> = [
  ['create', 'open', 'new', 'wronly|creat', 0o644],
  ['create O_EXCL', 'open', 'new', 'wronly|creat|excl', 0o644],
  ['mknod a fifo', 'mknod', 'fifo', 'fifo', 0o644],
  ['mkdir', 'mkdir', 'd', 0o755],
  ['symlink', 'symlink', 'f', 'sl2'],
  ['link', 'link', 'f', 'f2'],
  ['unlink', 'unlink', 'f'],
  ['rmdir', 'rmdir', 'empty'],
  ['rename', 'rename', 'f', 'g'],
  ['renameat2 NOREPLACE', 'rename2', 'f', 'g', 'noreplace'],
  ['renameat2 EXCHANGE', 'rename2', 'f', 'x', 'exchange'],
  ['open O_WRONLY', 'open', 'f', 'wronly', 0],
  ['open O_RDWR', 'open', 'f', 'rdwr', 0],
  ['open O_RDONLY|O_TRUNC', 'open', 'f', 'rdonly|trunc', 0],
  ['O_TMPFILE', 'open', '', 'tmpfile|rdwr', 0o600],
  ['truncate', 'truncate', 'f', 0],
  ['chmod', 'chmod', 'f', 0o600],
  ['chown', 'chown', 'f', 1, 1],
  ['utimensat', 'utimens', 'f', [1, 2], [3, 4]],
  ['utimensat UTIME_NOW', 'utimens', 'f', 'now', 'now'],
  ['setxattr', 'setxattr', 'f', 'user.a', 'v'],
  ['removexattr', 'removexattr', 'f', 'user.a'],
];

async function everyChangeRefused(t: Test, src: string, mnt: string) {
  const m = new OpServer(mnt);
  const s = new OpServer(src);
  try {
    const before = await s.value<TreeEntry[]>('tree');
    for (const [what, op, ...args] of MODIFYING) t.same(await m.call(op, ...args), { err: 'EROFS' }, `${what}: EROFS`);
    t.same(await m.call('readfile', 'f'), await s.call('readfile', 'f'), 'reads work');
    t.same(await m.call('listdir', ''), await s.call('listdir', ''), 'listings work');
    t.same(await s.value<TreeEntry[]>('tree'), before, 'the source is unchanged');
  } finally {
    await m.close();
    await s.close();
  }
}

/** The per-mount flags of mountinfo (field 6). */
async function flagsOf(mnt: string): Promise<string[]> {
  const r = await run('grep', [` ${mnt} `, '/proc/self/mountinfo']);
  return (r.stdout.toString().split(' ')[5] ?? '').split(',');
}

t.test('readOnly: true refuses every change with EROFS', { skip: PLAIN ? 'plain mode: no mount to make read-only' : false }, async (t) => {
  await withMount(t, { readOnly: true }, { populate }, async ({ src, mnt, stats }) => {
    t.equal(mountsAt(mnt)[0]?.fstype, 'fuse.splicefs', 'mounted');
    t.ok((await flagsOf(mnt)).includes('ro'), 'mountinfo: ro');
    await everyChangeRefused(t, src, mnt);
    t.equal(stats().write.spliceReplies + stats().write.copyReplies, 0, 'no WRITE reached the server');
  });
});

t.test('the default API mount is read-write', { skip: PLAIN ? 'plain mode: no mount' : false }, async (t) => {
  await withMount(t, {}, { populate }, async ({ src, mnt }) => {
    t.ok((await flagsOf(mnt)).includes('rw'), 'mountinfo: rw');
    const m = new OpServer(mnt);
    const s = new OpServer(src);
    try {
      t.same(await m.call('mkdir', 'made', 0o755), { ok: null }, 'mkdir through the mount');
      t.same(await s.call('stat', 'made'), { ok: { type: 'dir', mode: '0o755', nlink: 2, uid: 0, gid: 0 } }, 'the source has it');
    } finally {
      await m.close();
      await s.close();
    }
  });
});

t.test('-o ro on the command line refuses every change; the default is rw', { skip: PLAIN ? 'plain mode: no mount' : false }, async (t) => {
  const src = scratch(t, 'ro-cli-src');
  populate(src);
  const mnt = freshDir('ro-cli-mnt');
  t.teardown(() => run('rmdir', [mnt]).then(() => undefined));
  const ro = await startMounted(t, src, mnt, { args: ['-o', 'ro', '--log-format', 'json'] });
  t.ok((await flagsOf(mnt)).includes('ro'), '-o ro: mountinfo says ro');
  await everyChangeRefused(t, src, mnt);
  const r = await run('mkdir', [join(mnt, 'viacli')]);
  t.match(r.stderr.toString(), /Read-only file system/, 'mkdir(1): Read-only file system');
  t.ok(await ro.stop(), 'the -o ro server stops');

  const rw = await startMounted(t, src, mnt, { args: ['--log-format', 'json'] });
  t.ok((await flagsOf(mnt)).includes('rw'), 'no option: mountinfo says rw');
  const mk = await run('mkdir', [join(mnt, 'viacli')]);
  t.equal(mk.code, 0, 'mkdir(1) through the default mount', { stderr: mk.stderr.toString() });
  const s = new OpServer(src);
  t.same(await s.call('stat', 'viacli'), { ok: { type: 'dir', mode: '0o755', nlink: 2, uid: 0, gid: 0 } }, 'the source has it');
  await s.close();
  t.ok(await rw.stop(), 'the rw server stops');
});

leftoverCheck(t);
