// A directory of 5,000 entries with awkward names (255 bytes, UTF-8, not UTF-8, spaces, dots)
// is listed exactly through the mount: readdir (raw bytes, several READDIR(PLUS) requests, no
// duplicates, nothing missing or extra), d_type, `ls -f`, and `find` whose inode and size of
// every entry agree with the source.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { lstatSync, readdirSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck, run, within } from '../helpers/mount.js';
import { BIG, bjoin, withTree } from '../helpers/tree.js';

const hexSet = (names: Iterable<Buffer>) => new Set([...names].map((b) => b.toString('hex')));
function setDiff(a: Set<string>, b: Set<string>): string[] {
  return [...a].filter((x) => !b.has(x)).slice(0, 10).map((h) => JSON.stringify(Buffer.from(h, 'hex').toString('latin1')));
}

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

leftoverCheck(t);
