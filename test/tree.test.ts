// The namespace through a real mount: a big directory with awkward names, symlinks, hard
// links, stat fields, xattrs, the errors a read-only mirror must give, statfs.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  statfsSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
  chmodSync,
  openSync,
  closeSync,
} from 'node:fs';
import * as fsSync from 'node:fs';
import * as fsp from 'node:fs/promises';
import { constants as osc } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { leftoverCheck, run, within, withMount } from './helpers/mount.js';

const MiB = 1024 * 1024;
const bjoin = (dir: string, name: Buffer) => Buffer.concat([Buffer.from(dir + '/'), name]);

// ---- the source tree ---------------------------------------------------------------------

const BIG = 5000;
/** The names of big/, as raw bytes. */
function bigNames(): Buffer[] {
  const names: Buffer[] = [];
  // 255-byte names: ASCII, and UTF-8 with 2-, 3- and 4-byte characters (255 bytes exactly).
  names.push(Buffer.from('a'.repeat(255)));
  names.push(Buffer.from('b'.repeat(254) + 'Z'));
  names.push(Buffer.from('é'.repeat(127) + 'x')); // 254 + 1
  names.push(Buffer.from('日'.repeat(85))); // 255
  names.push(Buffer.from('😀'.repeat(63) + 'abc')); // 252 + 3
  for (let i = 0; i < 40; i++) names.push(Buffer.from(`${i}-${'n'.repeat(250)}`.slice(0, 255)));
  // UTF-8 names
  for (let i = 0; i < 200; i++) names.push(Buffer.from(`héllo-wörld-ünïcødé-日本語-${i}-😀`));
  names.push(Buffer.from('space in name'), Buffer.from(' leading space'), Buffer.from('tab\there'));
  names.push(Buffer.from('-dash'), Buffer.from('.hidden'), Buffer.from('..dots'), Buffer.from('...'));
  names.push(Buffer.from('back\\slash'), Buffer.from('quote"\'s'), Buffer.from('\u00a0nbsp'));
  // non-UTF-8 names: invalid sequences, lone continuation bytes, latin-1, overlong forms
  for (let i = 0; i < 200; i++) names.push(Buffer.from([0x6e, 0x75, 0xff, 0xfe, 0x80 + (i % 64), 0x30 + (i % 10), 0x41 + Math.floor(i / 10)]));
  names.push(Buffer.from([0xc0, 0xaf]), Buffer.from([0xe9, 0x74, 0xe9]), Buffer.from([0xed, 0xa0, 0x80]));
  names.push(Buffer.concat([Buffer.from([0xff]), Buffer.from('x'.repeat(254))])); // 255 bytes, not UTF-8
  let i = 0;
  while (names.length < BIG) names.push(Buffer.from(`file-${String(i++).padStart(5, '0')}`));
  return names;
}

interface Tree {
  big: Buffer[];
  fileData: Buffer;
}

function populate(src: string): Tree {
  mkdirSync(join(src, 'big'));
  const big = bigNames();
  big.forEach((name, i) => {
    const p = bjoin(join(src, 'big'), name);
    if (i % 500 === 7) mkdirSync(p);
    else if (i % 500 === 9) symlinkSync('file-00001', p);
    else writeFileSync(p, name.length > 100 ? '' : name);
  });

  mkdirSync(join(src, 'data'));
  mkdirSync(join(src, 'data', 'sub'));
  const fileData = randomBytes(100_000);
  writeFileSync(join(src, 'data', 'file.txt'), fileData);
  // hard links: three names, one inode
  writeFileSync(join(src, 'data', 'h1'), 'hard link content\n');
  linkSync(join(src, 'data', 'h1'), join(src, 'data', 'h2'));
  linkSync(join(src, 'data', 'h1'), join(src, 'data', 'sub', 'h3'));
  // stat fields
  writeFileSync(join(src, 'data', 'owned'), 'x'.repeat(12345));
  chownSync(join(src, 'data', 'owned'), 1234, 5678);
  chmodSync(join(src, 'data', 'owned'), 0o4751); // after chown, which clears set-uid
  writeFileSync(join(src, 'data', 'empty'), '');
  chmodSync(join(src, 'data', 'empty'), 0);
  const fd = openSync(join(src, 'data', 'huge-sparse'), 'w');
  closeSync(fd);
  truncateSync(join(src, 'data', 'huge-sparse'), 5 * 1024 * MiB + 3); // > 4 GiB: 64-bit size
  symlinkSync('file.txt', join(src, 'data', 'slink'));

  // symlinks
  mkdirSync(join(src, 'links'));
  symlinkSync('../data/file.txt', join(src, 'links', 'rel'));
  symlinkSync(join(src, 'data', 'file.txt'), join(src, 'links', 'abs_in'));
  symlinkSync('/etc/hostname', join(src, 'links', 'abs_out'));
  symlinkSync('../../../../../../../../etc/passwd', join(src, 'links', 'rel_out'));
  symlinkSync('/usr', join(src, 'links', 'dir_out'));
  symlinkSync('../data', join(src, 'links', 'dir_in'));
  symlinkSync('does-not-exist', join(src, 'links', 'dangling'));
  symlinkSync('loopB', join(src, 'links', 'loopA'));
  symlinkSync('loopA', join(src, 'links', 'loopB'));
  symlinkSync('self', join(src, 'links', 'self'));
  symlinkSync('t'.repeat(4000), join(src, 'links', 'longtarget'));
  symlinkSync(Buffer.from([0x66, 0xff, 0x2f, 0x67]) as unknown as string, join(src, 'links', 'binarytarget'));
  return { big, fileData };
}

/** Run `fn` with the tree mounted (default options unless given). */
async function withTree(t: Test, fn: (m: { src: string; mnt: string; tree: Tree; stats: () => import('../src/index.js').Stats }) => Promise<void>) {
  let tree!: Tree;
  await withMount(t, {}, { populate: (s) => (tree = populate(s)) }, async ({ src, mnt, stats }) => {
    await fn({ src, mnt, tree, stats });
  });
}

const hexSet = (names: Iterable<Buffer>) => new Set([...names].map((b) => b.toString('hex')));
function setDiff(a: Set<string>, b: Set<string>): string[] {
  return [...a].filter((x) => !b.has(x)).slice(0, 10).map((h) => JSON.stringify(Buffer.from(h, 'hex').toString('latin1')));
}

async function errCode(p: Promise<unknown>): Promise<string> {
  try {
    await within(10_000, 'fs call', p);
    return 'no error';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

// ---- a directory of 5,000 entries ---------------------------------------------------------

t.test('a directory of 5,000 entries is listed exactly', async (t) => {
  await withTree(t, async ({ src, mnt, tree, stats }) => {
    const want = hexSet(readdirSync(join(src, 'big'), { encoding: 'buffer' }));
    t.equal(want.size, BIG, 'the source has 5,000 entries');
    t.same(want, hexSet(tree.big), 'the source holds exactly the names made');
    t.ok(tree.big.some((n) => n.length === 255), 'some names are 255 bytes');
    t.ok(tree.big.some((n) => !isUtf8(n)), 'some names are not UTF-8');

    const before = stats().requests;
    const viaMount = await within(60_000, 'readdir', fsp.readdir(join(mnt, 'big'), { encoding: 'buffer' }));
    t.equal(viaMount.length, BIG, 'readdir through the mount: 5,000 entries');
    const got = hexSet(viaMount);
    t.equal(got.size, BIG, 'no duplicates');
    t.same(setDiff(want, got), [], 'nothing missing');
    t.same(setDiff(got, want), [], 'nothing extra');
    const after = stats().requests;
    const listed = (after.READDIRPLUS ?? 0) - (before.READDIRPLUS ?? 0) + (after.READDIR ?? 0) - (before.READDIR ?? 0);
    t.ok(listed > 1, `listed in several READDIR(PLUS) requests (${listed})`);

    // With file types (readdir withFileTypes gives d_type from the dirents).
    const typed = await fsp.readdir(join(mnt, 'big'), { encoding: 'buffer', withFileTypes: true });
    const dirs = typed.filter((d) => d.isDirectory()).length;
    const syms = typed.filter((d) => d.isSymbolicLink()).length;
    const wantDirs = readdirSync(join(src, 'big'), { withFileTypes: true }).filter((d) => d.isDirectory()).length;
    const wantSyms = readdirSync(join(src, 'big'), { withFileTypes: true }).filter((d) => d.isSymbolicLink()).length;
    t.equal(dirs, wantDirs, `d_type: ${dirs} directories`);
    t.equal(syms, wantSyms, `d_type: ${syms} symlinks`);

    // ls -f: raw bytes, unsorted, . and .. included.
    const ls = await run('ls', ['-f', join(mnt, 'big')], { env: { ...process.env, LC_ALL: 'C' } });
    t.equal(ls.code, 0, 'ls -f exits 0', { stderr: ls.stderr.toString() });
    const lines = splitBuf(ls.stdout, 0x0a);
    const lsSet = hexSet(lines.filter((l) => !(l.equals(Buffer.from('.')) || l.equals(Buffer.from('..')))));
    t.ok(lines.some((l) => l.equals(Buffer.from('.'))) && lines.some((l) => l.equals(Buffer.from('..'))), 'ls -f shows . and ..');
    t.equal(lines.length, BIG + 2, 'ls -f: 5,002 lines');
    t.same(setDiff(want, lsSet), [], 'ls -f: nothing missing');
    t.same(setDiff(lsSet, want), [], 'ls -f: nothing extra');

    // Every entry can be looked up: find prints inode, size and type from lstat of each.
    const find = await run('find', [join(mnt, 'big'), '-mindepth', '1', '-maxdepth', '1', '-printf', '%i %s %y %P\\0'], { timeoutMs: 120_000 });
    t.equal(find.code, 0, 'find exits 0', { stderr: find.stderr.toString() });
    let mismatches = 0;
    const recs = splitBuf(find.stdout, 0);
    for (const rec of recs) {
      const sp1 = rec.indexOf(0x20);
      const sp2 = rec.indexOf(0x20, sp1 + 1);
      const sp3 = rec.indexOf(0x20, sp2 + 1);
      const ino = Number(rec.subarray(0, sp1).toString());
      const size = Number(rec.subarray(sp1 + 1, sp2).toString());
      const name = rec.subarray(sp3 + 1);
      const st = lstatSync(bjoin(join(src, 'big'), name) as unknown as string);
      if (st.ino !== ino || st.size !== size) mismatches++;
    }
    t.equal(recs.length, BIG, 'find saw 5,000 entries');
    t.equal(mismatches, 0, 'every entry: inode and size agree with the source');
  });
});

function isUtf8(b: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

function splitBuf(b: Buffer, sep: number): Buffer[] {
  const out: Buffer[] = [];
  let start = 0;
  for (;;) {
    const i = b.indexOf(sep, start);
    if (i < 0) break;
    out.push(b.subarray(start, i));
    start = i + 1;
  }
  if (start < b.length) out.push(b.subarray(start));
  return out;
}

// ---- symlinks and hard links ------------------------------------------------------------

t.test('symlinks', async (t) => {
  await withTree(t, async ({ src, mnt, tree }) => {
    const L = (n: string) => join(mnt, 'links', n);
    for (const name of ['rel', 'abs_in', 'abs_out', 'rel_out', 'dir_out', 'dir_in', 'dangling', 'loopA', 'loopB', 'self', 'longtarget', 'binarytarget']) {
      const srcPath = join(src, 'links', name);
      const want = readlinkBuf(srcPath);
      const got = await within(10_000, 'readlink', fsp.readlink(L(name), { encoding: 'buffer' }));
      t.ok(got.equals(want), `${name}: readlink returns the target as-is (${JSON.stringify(want.toString('latin1').slice(0, 40))})`);
      const st = await fsp.lstat(L(name));
      const sst = lstatSync(srcPath);
      t.ok(st.isSymbolicLink(), `${name}: lstat shows a symlink`);
      t.equal(st.ino, sst.ino, `${name}: lstat gives the link's own inode, not its target's`);
      t.equal(st.size, want.length, `${name}: size is the target's length`);
    }
    // readlink(1) of a child agrees.
    const rl = await run('readlink', [L('abs_out')]);
    t.equal(rl.stdout.toString(), '/etc/hostname\n', 'readlink(1) of the outside target');

    // Inside-source links resolve (the kernel follows them, through the mount).
    t.ok((await fsp.readFile(L('rel'))).equals(tree.fileData), 'relative link to a file: content');
    t.ok((await fsp.readFile(L('abs_in'))).equals(tree.fileData), 'absolute link into the source: content');
    const viaRel = await fsp.stat(L('rel'));
    const target = await fsp.stat(join(mnt, 'data', 'file.txt'));
    t.equal(viaRel.ino, target.ino, 'stat through a relative link lands on the target');
    t.same((await fsp.readdir(join(L('dir_in'), 'sub'))).sort(), ['h3'], 'link to a directory in the source');

    // Loops and dangling links.
    t.equal(await errCode(fsp.stat(L('loopA'))), 'ELOOP', 'a->b->a: stat gives ELOOP');
    t.equal(await errCode(fsp.open(L('self'))), 'ELOOP', 'self-link: open gives ELOOP');
    t.equal(await errCode(fsp.stat(L('dangling'))), 'ENOENT', 'dangling link: ENOENT');

    // readlink on something that is not a link.
    t.equal(await errCode(fsp.readlink(join(mnt, 'data', 'file.txt'))), 'EINVAL', 'readlink of a file: EINVAL');
  });
});

function readlinkBuf(p: string): Buffer {
  // a buffer encoding keeps non-UTF-8 targets intact
  return fsSync.readlinkSync(p, { encoding: 'buffer' });
}

t.test('hard links share st_ino through the mount', async (t) => {
  await withTree(t, async ({ src, mnt }) => {
    const paths = [join('data', 'h1'), join('data', 'h2'), join('data', 'sub', 'h3')];
    const sts = [];
    for (const p of paths) sts.push(await fsp.stat(join(mnt, p)));
    const srcIno = lstatSync(join(src, 'data', 'h1')).ino;
    for (const [i, st] of sts.entries()) {
      t.equal(st.ino, srcIno, `${paths[i]}: st_ino is the source's`);
      t.equal(st.nlink, 3, `${paths[i]}: nlink 3`);
      t.equal(await fsp.readFile(join(mnt, paths[i]), 'utf8'), 'hard link content\n', `${paths[i]}: content`);
    }
    // ls -i prints the same number for all three.
    const ls = await run('ls', ['-i', ...paths.map((p) => join(mnt, p))]);
    const inos = new Set(ls.stdout.toString().trim().split('\n').map((l) => l.trim().split(/\s+/)[0]));
    t.same([...inos], [String(srcIno)], 'ls -i: one inode number');
  });
});

// ---- stat fields --------------------------------------------------------------------------

t.test('stat fields agree with the source', async (t) => {
  let src = '';
  await withMount(
    t,
    {},
    {
      populate: (s) => {
        src = s;
        populate(s);
      },
    },
    async ({ mnt }) => {
      // Times with nanoseconds, one before 1970, and special files (made with coreutils).
      const touch = async (d: string, p: string) => t.equal((await run('touch', ['-h', '-d', d, p])).code, 0, `touch -d ${d}`);
      await touch('2001-02-03 04:05:06.123456789', join(src, 'data', 'owned'));
      await touch('1960-06-07 08:09:10.5', join(src, 'data', 'empty'));
      await touch('2038-01-19 03:14:09.999999999', join(src, 'data', 'file.txt')); // past 2^31
      t.equal((await run('mkfifo', [join(src, 'data', 'fifo')])).code, 0, 'mkfifo');
      t.equal((await run('mknod', [join(src, 'data', 'chardev'), 'c', '1', '3'])).code, 0, 'mknod c 1 3');

      const entries = [
        '',
        'data',
        'data/sub',
        'data/file.txt',
        'data/owned',
        'data/empty',
        'data/huge-sparse',
        'data/slink',
        'data/h2',
        'data/fifo',
        'data/chardev',
        'links/longtarget',
        'big',
      ];
      for (const e of entries) {
        const want = lstatSync(join(src, e), { bigint: true });
        const got = await within(10_000, 'lstat', fsp.lstat(join(mnt, e), { bigint: true }));
        const pick = (s: typeof want) => ({
          mode: '0o' + s.mode.toString(8),
          size: s.size,
          uid: s.uid,
          gid: s.gid,
          nlink: s.nlink,
          ino: s.ino,
          rdev: s.rdev,
          blocks: s.blocks,
          mtimeNs: s.mtimeNs,
          ctimeNs: s.ctimeNs,
        });
        t.same(pick(got), pick(want), `${e || '(root)'}: mode, size, uid, gid, nlink, ino, rdev, blocks, mtime, ctime`);
      }
      // stat(1) through the mount, as a child sees it.
      const st = await run('stat', ['-c', '%a %s %u %g %h %i %Y', join(mnt, 'data', 'owned')]);
      const s = lstatSync(join(src, 'data', 'owned'));
      t.equal(st.stdout.toString().trim(), `4751 12345 1234 5678 1 ${s.ino} 981173106`, 'stat(1): mode 4751, size, owner, nlink, ino, mtime');
    },
  );
});

// ---- xattrs -------------------------------------------------------------------------------

const XATTR_DUMP = `
import os, sys, json
out = {}
for p in sys.argv[1:]:
    row = {}
    try:
        names = os.listxattr(p, follow_symlinks=False)
    except OSError as e:
        out[os.path.basename(p)] = "E%d" % e.errno
        continue
    for n in sorted(names):
        try:
            row[n] = os.getxattr(p, n, follow_symlinks=False).hex()
        except OSError as e:
            row[n] = "E%d" % e.errno
    out[os.path.basename(p)] = row
print(json.dumps(out, sort_keys=True))
`;

t.test('xattrs read back through the mount', async (t) => {
  const which = await run('sh', ['-c', 'command -v setfattr && command -v getfattr']);
  t.equal(which.code, 0, 'setfattr and getfattr are installed (apt package attr; .ci/run installs it)');
  let src = '';
  await withMount(t, {}, { populate: (s) => { src = s; populate(s); } }, async ({ mnt, stats }) => {
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
    t.teardown(() => fsSync.rmSync(outside, { force: true }));
    await set(outside, 'user.secret', 'not through the link');
    symlinkSync(outside, join(src, 'data', 'to-outside'));

    const names = ['file.txt', 'h2', 'empty', 'to-outside'];
    const args = (dir: string) => [...names.map((n) => join(dir, 'data', n)), join(dir, 'data')];
    const want = await run('python3', ['-c', XATTR_DUMP, ...args(src)]);
    const before = stats().requests;
    const got = await run('python3', ['-c', XATTR_DUMP, ...args(mnt)]);
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
  });
});

// ---- errors -------------------------------------------------------------------------------

t.test('errors through the mount: EROFS, ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG', async (t) => {
  await withTree(t, async ({ mnt }) => {
    const F = join(mnt, 'data', 'file.txt');
    const D = join(mnt, 'data');
    const erofs: Array<[string, () => Promise<unknown>]> = [
      ['create a file', () => fsp.writeFile(join(D, 'new'), 'x')],
      ['open for writing', () => fsp.open(F, 'r+')],
      ['open O_WRONLY|O_TRUNC', () => fsp.open(F, 'w')],
      ['append', () => fsp.appendFile(F, 'x')],
      ['truncate', () => fsp.truncate(F, 1)],
      ['mkdir', () => fsp.mkdir(join(D, 'newdir'))],
      ['rmdir', () => fsp.rmdir(join(D, 'sub'))],
      ['unlink', () => fsp.unlink(F)],
      ['rename', () => fsp.rename(F, join(D, 'renamed'))],
      ['chmod', () => fsp.chmod(F, 0o600)],
      ['chown', () => fsp.chown(F, 1, 1)],
      ['utimes (touch)', () => fsp.utimes(F, 1, 1)],
      ['symlink', () => fsp.symlink('x', join(D, 'newlink'))],
      ['link', () => fsp.link(F, join(D, 'newhard'))],
    ];
    for (const [what, call] of erofs) t.equal(await errCode(call()), 'EROFS', `${what}: EROFS`);
    for (const [cmd, args] of [
      ['touch', [F]],
      ['touch', [join(D, 'brand-new')]],
      ['mkdir', [join(D, 'd2')]],
      ['rm', ['-f', F]],
      ['mv', [F, join(D, 'moved')]],
      ['chmod', ['600', F]],
    ] as Array<[string, string[]]>) {
      const r = await run(cmd, args);
      t.not(r.code, 0, `${cmd} ${args.join(' ')}: fails`);
      t.match(r.stderr.toString(), /Read-only file system/, `${cmd}: Read-only file system`);
    }
    // The mount is read-only even for access(W_OK).
    t.equal(await errCode(fsp.access(F, fsSync.constants.W_OK)), 'EROFS', 'access(W_OK): EROFS');
    t.equal(await errCode(fsp.access(F, fsSync.constants.R_OK)), 'no error', 'access(R_OK): fine');

    t.equal(await errCode(fsp.stat(join(D, 'missing'))), 'ENOENT', 'stat of a missing file: ENOENT');
    t.equal(await errCode(fsp.open(join(D, 'missing'))), 'ENOENT', 'open of a missing file: ENOENT');
    t.equal(await errCode(fsp.readdir(join(mnt, 'nodir'))), 'ENOENT', 'readdir of a missing dir: ENOENT');
    const cat = await run('cat', [join(D, 'missing')]);
    t.match(cat.stderr.toString(), /No such file or directory/, 'cat of a missing file: ENOENT');

    t.equal(await errCode(fsp.stat(join(F, 'x'))), 'ENOTDIR', 'a file used as a directory: ENOTDIR');
    t.equal(await errCode(fsp.readdir(F)), 'ENOTDIR', 'readdir of a file: ENOTDIR');
    t.equal(await errCode(fsp.open(F, fsSync.constants.O_RDONLY | fsSync.constants.O_DIRECTORY)), 'ENOTDIR', 'O_DIRECTORY on a file: ENOTDIR');

    t.equal(await errCode(fsp.open(join(mnt, 'links', 'loopA'))), 'ELOOP', 'open of a link loop: ELOOP');
    t.equal(
      await errCode(fsp.open(join(mnt, 'links', 'rel'), fsSync.constants.O_RDONLY | fsSync.constants.O_NOFOLLOW)),
      'ELOOP',
      'open O_NOFOLLOW of a symlink: ELOOP',
    );
    const py = await run('python3', [
      '-c',
      'import os,sys\ntry:\n  os.open(sys.argv[1], os.O_RDONLY | os.O_NOFOLLOW)\n  print("opened")\nexcept OSError as e:\n  print(e.errno)',
      join(mnt, 'links', 'abs_out'),
    ]);
    t.equal(py.stdout.toString().trim(), String(osc.errno.ELOOP), 'python os.open O_NOFOLLOW of a symlink: ELOOP');

    // access(2) answers agree with the source's for R_OK and X_OK (W_OK: EROFS, above).
    const ACCESS = 'import os,sys,json\nprint(json.dumps([[os.access(p, m) for m in (os.F_OK, os.R_OK, os.X_OK, os.R_OK | os.X_OK)] for p in sys.argv[1:]]))';
    const names = ['data/file.txt', 'data/owned', 'data/empty', 'data', 'links/rel', 'links/dangling'];
    const srcRoot = (await fsp.readlink(join(mnt, 'links', 'abs_in'))).replace(/\/data\/file\.txt$/, '');
    const am = await run('python3', ['-c', ACCESS, ...names.map((n) => join(mnt, n))]);
    const as = await run('python3', ['-c', ACCESS, ...names.map((n) => join(srcRoot, n))]);
    t.equal(am.stdout.toString(), as.stdout.toString(), 'access(F_OK, R_OK, X_OK) agree with the source', { names });
    t.match(as.stdout.toString(), /false/, 'sanity: some access check is refused (X_OK on a plain file)');

    t.equal(await errCode(fsp.stat(join(D, 'n'.repeat(256)))), 'ENAMETOOLONG', 'a 256-byte name: ENAMETOOLONG');
    t.equal(await errCode(fsp.stat(join(D, 'n'.repeat(255)))), 'ENOENT', 'a 255-byte name that does not exist: ENOENT');
  });
});

// ---- statfs -------------------------------------------------------------------------------

t.test('statfs', async (t) => {
  await withTree(t, async ({ src, mnt }) => {
    const got = await fsp.statfs(mnt);
    const want = statfsSync(src);
    t.equal(got.type, 0x65735546, 'f_type is FUSE_SUPER_MAGIC');
    t.equal(got.bsize, want.bsize, 'bsize agrees with the source');
    t.equal(got.blocks, want.blocks, 'blocks agree');
    t.equal(got.files, want.files, 'files agree');
    t.ok(Math.abs(got.bfree - want.bfree) <= Math.max(16, want.blocks / 100), 'bfree about the same');
    const py = await run('python3', ['-c', 'import os,sys; s=os.statvfs(sys.argv[1]); print(s.f_namemax, s.f_frsize, s.f_blocks)', mnt]);
    const ps = await run('python3', ['-c', 'import os,sys; s=os.statvfs(sys.argv[1]); print(s.f_namemax, s.f_frsize, s.f_blocks)', src]);
    t.equal(py.stdout.toString(), ps.stdout.toString(), 'os.statvfs: namemax, frsize, blocks agree');
    const df = await run('df', ['-P', mnt]);
    t.equal(df.code, 0, 'df exits 0');
    t.match(df.stdout.toString(), new RegExp(mnt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '\\s*$', 'm'), 'df shows the mountpoint');
  });
});

// ---- inode lifetime ---------------------------------------------------------------------------

t.test('FORGET: nodes the kernel drops are dropped, and looked up again when needed', async (t) => {
  await withTree(t, async ({ src, mnt, stats }) => {
    // Look up every entry of big/ (5,000 nodes in the server's table).
    // (%s needs an lstat of each entry: a LOOKUP, unless READDIRPLUS already made the node)
    const find = await run('find', [join(mnt, 'big'), '-mindepth', '1', '-printf', '%s\\n'], { timeoutMs: 120_000 });
    t.equal(find.stdout.toString().trim().split('\n').length, BIG, 'find stat-ed 5,000 entries');
    const held = stats().nodes;
    t.ok(held >= BIG, `the server holds ${held} nodes`);
    // Make the kernel evict dentries and inodes (reclaimable slab only: page cache stays).
    // A child does it: the eviction sends FORGETs to this process's loop.
    const drop = await run('sh', ['-c', 'sync; echo 2 > /proc/sys/vm/drop_caches']);
    t.equal(drop.code, 0, 'drop_caches');
    let nodes = held;
    for (let i = 0; i < 50 && nodes > held / 2; i++) {
      await new Promise((res) => setTimeout(res, 100));
      nodes = stats().nodes;
    }
    const req = stats().requests;
    t.ok((req.FORGET ?? 0) + (req.BATCH_FORGET ?? 0) > 0, `FORGET/BATCH_FORGET arrived (${req.FORGET ?? 0}/${req.BATCH_FORGET ?? 0})`);
    t.ok(nodes < held / 2, `the server dropped the forgotten nodes (${held} -> ${nodes})`);
    // Everything is still reachable, with the same inode numbers.
    const again = await run('find', [join(mnt, 'big'), '-mindepth', '1', '-printf', '%i\\n'], { timeoutMs: 120_000 });
    t.equal(again.code, 0, 'find again exits 0 (no ESTALE)', { stderr: again.stderr.toString().slice(0, 500) });
    const inos = new Set(again.stdout.toString().trim().split('\n'));
    const want = new Set(
      readdirSync(join(src, 'big'), { encoding: 'buffer' }).map((n) => String(lstatSync(bjoin(join(src, 'big'), n) as unknown as string).ino)),
    );
    t.equal(inos.size, want.size, 'as many inode numbers as before');
    t.same([...inos].filter((i) => !want.has(i)), [], 'the same inode numbers as the source');
    t.equal((await fsp.readFile(join(mnt, 'data', 'h1'), 'utf8')), 'hard link content\n', 'files read after re-lookup');
  });
});

leftoverCheck(t);
