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

  await t.test('stat -c %i equals the source\'s', async (t) => {
    await sameOnBoth(t, 'stat -c "%i %h %n" of every entry', 'cd "$P" && find . -mindepth 1 | sort | xargs -d "\\n" stat -c "%i %h %n"', src, mnt);
    await sameOnBoth(t, 'stat -c %i of the root', 'stat -c %i "$P"', src, mnt);
    await sameOnBoth(t, 'ls -li', 'ls -li "$P" "$P/many"', src, mnt);
  });

  await t.test('readdir d_ino equals the source\'s and the mount\'s own st_ino', async (t) => {
    const script = `${PY} -c "import os,sys
for r, ds, fs in sorted(os.walk(sys.argv[1])):
    for e in sorted(os.scandir(r), key=lambda e: e.name):
        st = os.stat(e.path, follow_symlinks=False)
        print(os.path.relpath(e.path, sys.argv[1]), e.inode(), st.st_ino, 'same' if e.inode() == st.st_ino else 'DIFFERENT')" "$P"`;
    const r = await sameOnBoth(t, 'scandir inode() and stat st_ino', script, src, mnt);
    t.notMatch(r.mnt.stdout, /DIFFERENT/, 'through the mount, every d_ino is the st_ino of its entry');
  });

  await t.test('hard links: only h1 and h2 share an inode', async (t) => {
    const r = await onBoth('stat -c %i "$P/h1" "$P/h2" "$P/f1" "$P/f2" "$P/f3" "$P/d1" "$P/d2" | sort | uniq -c | sort -k2', src, mnt);
    t.same(r.mnt, r.src, 'the same inode sharing as on the source');
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
