// Issue 9, fault 4 (inode numbers): 64-bit st_ino values must go through exactly. An overlayfs
// with xino=on over a tmpfs lower layer gives inode numbers near 2^63; through the mount each
// file must keep its own inode number, so each file keeps its own contents, hard links stay
// links of their own file only, and tools that identify files by inode (find, tar, du) see
// what they see on the source.
import { linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { mountFs, needTools, onBoth, PY, sameOnBoth, scratch, sh, startMounted } from '../helpers/mirror.js';

/** A tmpfs lower layer, an overlay with xino=on over it; returns the merged directory. */
async function xinoOverlay(t: Test): Promise<string | null> {
  const base = scratch(t, 'xino');
  const lower = join(base, 'lower');
  const upper = join(base, 'upper');
  const work = join(base, 'work');
  const merged = join(base, 'merged');
  for (const d of [upper, work, merged]) mkdirSync(d);
  const lm = await mountFs(t, ['-t', 'tmpfs', '-o', 'mode=755', 'lower'], lower);
  t.equal(lm.code, 0, 'a tmpfs for the lower layer', { stderr: lm.stderr.toString() });
  if (lm.code !== 0) return null;
  writeFileSync(join(lower, 'f1'), 'one\n');
  writeFileSync(join(lower, 'f2'), 'two\n');
  writeFileSync(join(lower, 'f3'), 'three\n');
  mkdirSync(join(lower, 'd1'));
  mkdirSync(join(lower, 'd2'));
  writeFileSync(join(lower, 'd1', 'a'), 'in d1\n');
  writeFileSync(join(lower, 'd2', 'b'), 'in d2\n');
  writeFileSync(join(lower, 'h1'), 'linked\n');
  linkSync(join(lower, 'h1'), join(lower, 'h2'));
  symlinkSync('f1', join(lower, 's'));
  mkdirSync(join(lower, 'many'));
  for (let i = 0; i < 100; i++) writeFileSync(join(lower, 'many', `g${String(i).padStart(3, '0')}`), `file number ${i}\n`);

  const fs = await sh('grep -qw overlay /proc/filesystems || modprobe overlay; grep -w overlay /proc/filesystems');
  t.equal(fs.code, 0, 'the kernel has overlayfs (needed: an overlay with xino=on makes the 64-bit inode numbers)');
  const om = await mountFs(t, ['-t', 'overlay', 'o', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work},xino=on`], merged);
  t.equal(om.code, 0, 'mount -t overlay ... xino=on', { stderr: om.stderr.toString() });
  if (om.code !== 0) return null;
  // A file made in the merged dir (it lives in the upper layer).
  writeFileSync(join(merged, 'u1'), 'upper\n');
  const ino = await sh('stat -c %i "$1/f1"', [merged]);
  const n = BigInt(ino.stdout.toString().trim() || '0');
  t.ok(n >= 2n ** 53n, `sanity: the overlay gives f1 a 64-bit inode number (${n} >= 2^53), else this test proves nothing`);
  return merged;
}

// readdir d_ino of every entry, by path.
const DINO = String.raw`import os, sys
root = sys.argv[1]
for r, ds, fs in sorted(os.walk(root)):
    for e in sorted(os.scandir(r), key=lambda e: e.name):
        print(os.path.relpath(e.path, root), e.inode())
`;

// Entries whose d_ino is not their st_ino (printed; nothing when all agree).
const CONSISTENT = String.raw`import os, sys
root = sys.argv[1]
for r, ds, fs in os.walk(root):
    for e in os.scandir(r):
        st = os.stat(e.path, follow_symlinks=False)
        if e.inode() != st.st_ino: print(os.path.relpath(e.path, root), 'd_ino', e.inode(), 'st_ino', st.st_ino)
`;

// The partition of all names by st_ino: one line per inode, its names sorted; lines sorted.
const GROUPS = String.raw`import os, sys
root = sys.argv[1]
by = {}
for r, ds, fs in os.walk(root):
    for n in ds + fs:
        p = os.path.join(r, n)
        by.setdefault(os.stat(p, follow_symlinks=False).st_ino, []).append(os.path.relpath(p, root))
by.setdefault(os.stat(root).st_ino, []).append('.')
for line in sorted(' '.join(sorted(v)) for v in by.values()): print(line)
`;

t.test('needs overlayfs, python3, tar, md5sum', async (t) => {
  await needTools(t, ['mount', PY, 'tar', 'md5sum', 'find', 'du']);
});

t.test('overlay xino=on (st_ino near 2^63): every file keeps its own inode and contents', async (t) => {
  const src = await xinoOverlay(t);
  if (!src) return;
  const mnt = scratch(t, 'mnt');
  await startMounted(t, src, mnt);

  await t.test('cat f1 f2 f3: each file its own contents', async (t) => {
    for (const f of ['f1', 'f2', 'f3', 'd1/a', 'd2/b', 'h2', 's', 'u1']) await sameOnBoth(t, `cat ${f}`, `cat "$P/${f}"`, src, mnt);
    await sameOnBoth(t, 'cat f1 f2 f3 in one process', 'cat "$P/f1" "$P/f2" "$P/f3"', src, mnt);
    await sameOnBoth(t, 'md5sum of 100 files', 'cd "$P/many" && md5sum *', src, mnt);
  });

  await t.test('stat -c %i and readdir d_ino equal the source\'s (the issue\'s demand)', async (t) => {
    await sameOnBoth(t, 'stat -c "%i %h %n" of every entry', 'cd "$P" && find . -mindepth 1 | sort | xargs -d "\\n" stat -c "%i %h %n"', src, mnt);
    await sameOnBoth(t, 'stat -c %i of the root', 'stat -c %i "$P"', src, mnt);
    await sameOnBoth(t, 'readdir d_ino of every entry', `${PY} -c "$PROG" "$P"`, src, mnt, { env: { PROG: DINO } });
  });

  await t.test('through the mount, each readdir d_ino is its entry\'s st_ino', async (t) => {
    const r = await sh(`${PY} -c "$1" "$2"`, [CONSISTENT, mnt], { timeoutMs: 30_000 });
    t.equal(r.code, 0, 'the walk ran', { stderr: r.stderr.toString() });
    t.equal(r.stdout.toString(), '', 'no entry whose d_ino differs from its st_ino');
  });

  await t.test('which names share an inode: exactly as on the source (only hard links)', async (t) => {
    // Value-free: the groups of names that share an st_ino, not the numbers themselves.
    const r = await sameOnBoth(t, 'groups of names sharing an inode', `${PY} -c "$PROG" "$P"`, src, mnt, { env: { PROG: GROUPS } });
    t.match(r.src.stdout, /^h1 h2$/m, 'sanity: on the source, h1 and h2 are one file');
  });

  await t.test('find, du, tar: the source\'s view of which files are the same', async (t) => {
    await sameOnBoth(t, 'find', 'find "$P" | sort', src, mnt);
    await sameOnBoth(t, 'du -a', 'du -a "$P" | sort -k2', src, mnt);
    const tarred = await onBoth(
      'set -o pipefail; T=$(mktemp -d) && tar cf - -C "$P" . | tar xf - -C "$T" && cd "$T" && find . -type f | sort | xargs -d "\\n" stat -c "%h %n" && find . -type f | sort | xargs -d "\\n" md5sum; rc=$?; rm -rf "$T"; exit $rc',
      src,
      mnt,
    );
    t.same(tarred.mnt, tarred.src, 'tar through the mount: the same files, contents and hard links as tar of the source');
  });
});

leftoverCheck(t);
