// The source tree of the namespace tests (listing, symlinks, hard links, stat fields, xattrs,
// errors, statfs, FORGET): a directory of 5,000 awkward names, files with odd stat fields, hard
// links and every kind of symlink, and the small tools those tests share.
//
// When run as a test file itself (tap runs every .ts under test/), this file checks the tree
// it makes (no mount).
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  closeSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import type { MountOptions, Stats } from '../../src/index.js';
import { freshDir, within, withMount } from './mount.js';

const MiB = 1024 * 1024;

/** A path of raw bytes: `dir/name` (names that are not UTF-8 stay intact). */
export const bjoin = (dir: string, name: Buffer) => Buffer.concat([Buffer.from(dir + '/'), name]);

/** How many entries big/ holds. */
export const BIG = 5000;

/** The names of big/, as raw bytes. */
export function bigNames(): Buffer[] {
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

export interface Tree {
  big: Buffer[];
  fileData: Buffer;
}

/** Fill `src` with the tree: big/, data/ (files, hard links, odd stat fields), links/. */
export function populateTree(src: string): Tree {
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

/** Run `fn` with the tree mounted (default options, or `options`: readOnly for the EROFS tests). */
export async function withTree(
  t: Test,
  fn: (m: { src: string; mnt: string; tree: Tree; stats: () => Stats }) => Promise<void>,
  options: MountOptions = {},
) {
  let tree!: Tree;
  await withMount(t, options, { populate: (s) => (tree = populateTree(s)) }, async ({ src, mnt, stats }) => {
    await fn({ src, mnt, tree, stats });
  });
}

/** The error code an fs call fails with, or 'no error' (10 s at most). */
export async function errCode(p: Promise<unknown>): Promise<string> {
  try {
    await within(10_000, 'fs call', p);
    return 'no error';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}

// ---- self-test, when tap runs this file directly ---------------------------------------
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  t.test('the tree is what the namespace tests expect', async (t) => {
    const src = freshDir('tree-selftest');
    t.teardown(() => rmSync(src, { recursive: true, force: true }));
    const tree = populateTree(src);
    t.equal(tree.big.length, BIG, `${BIG} names`);
    t.equal(new Set(tree.big.map((b) => b.toString('hex'))).size, BIG, 'all different');
    t.equal(readdirSync(join(src, 'big')).length, BIG, `big/ holds ${BIG} entries`);
    t.ok(tree.big.every((n) => n.length <= 255), 'no name longer than 255 bytes');
    t.ok(lstatSync(bjoin(join(src, 'big'), tree.big[9]!) as unknown as string).isSymbolicLink(), 'entry 9 of big/ is a symlink');
    t.equal(lstatSync(join(src, 'data', 'h1')).nlink, 3, 'h1 has three names');
    t.equal(lstatSync(join(src, 'data', 'huge-sparse')).size, 5 * 1024 * MiB + 3, 'huge-sparse is past 4 GiB');
    t.same(readlinkSync(join(src, 'links', 'binarytarget'), { encoding: 'buffer' }), Buffer.from([0x66, 0xff, 0x2f, 0x67]), 'a symlink target that is not UTF-8');
    t.equal(await errCode(Promise.resolve()), 'no error', 'errCode of a call that succeeds');
    t.equal(await errCode(import('node:fs/promises').then((f) => f.stat(join(src, 'missing')))), 'ENOENT', 'errCode of a call that fails');
  });
}
