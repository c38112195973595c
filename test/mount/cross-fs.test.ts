// Issue 9, fault 5: a source that spans filesystems. Other filesystems mounted inside the
// source reuse inode numbers (every tmpfs counts from 1), and the mount shows all of them on one
// st_dev: unless the mirror gives every distinct source (st_dev, st_ino) its own st_ino, find
// reports a "File system loop", tar and cp -a turn unrelated files into hard links of each
// other, and du skips files as already counted.
//
// The source: tmpfs at S/a and another at S/a/b (nested; the case), and tmpfs at S/p and
// S/q (siblings whose files have the same inode numbers), each with hard links.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { mountFs, needTools, onBoth, PY, sameOnBoth, scratch, sh, startMounted } from '../helpers/mirror.js';

async function makeSource(t: Test): Promise<string | null> {
  const src = scratch(t, 'xfs');
  writeFileSync(join(src, 'top'), 'top\n');
  for (const [dir, label] of [
    ['a', 'xfs-a'],
    ['a/b', 'xfs-b'],
    ['p', 'xfs-p'],
    ['q', 'xfs-q'],
  ]) {
    const m = await mountFs(t, ['-t', 'tmpfs', '-o', 'mode=755', label], join(src, dir));
    t.equal(m.code, 0, `a tmpfs at S/${dir}`, { stderr: m.stderr.toString() });
    if (m.code !== 0) return null;
    if (dir === 'a') mkdirSync(join(src, 'a', 'b')); // the next mount's point, on tmpfs a
  }
  // The commands.
  const r = await sh(
    [
      'set -e',
      'S=$1',
      'echo one >$S/a/x; ln $S/a/x $S/a/x2; : >$S/a/b/pad; echo two >$S/a/b/y; ln $S/a/b/y $S/a/b/y2',
      // siblings: the same inode numbers on p and q, different contents
      'echo P >$S/p/f; ln $S/p/f $S/p/f2; mkdir $S/p/d; echo Pd >$S/p/d/g',
      'echo Q >$S/q/f; ln $S/q/f $S/q/f2; mkdir $S/q/d; echo Qd >$S/q/d/g',
      'echo ok',
    ].join('\n'),
    [src],
  );
  t.equal(r.stdout.toString(), 'ok\n', 'the source tree made', { stderr: r.stderr.toString() });
  const dev = await sh('stat -c "%d %i" "$1/a/x" "$1/a/b/y" "$1/p/f" "$1/q/f"', [src]);
  const rows = dev.stdout.toString().trim().split('\n');
  t.equal(new Set(rows.map((l) => l.split(' ')[1])).size < rows.length, true, `sanity: inode numbers repeat across the filesystems (${rows.join(', ')})`);
  return src;
}

// (dev, ino, d_ino) of every path, as decimal strings (64-bit values: JSON numbers would round).
const IDS = String.raw`import os, sys, json
root = sys.argv[1]
out = {}
for r, ds, fs in os.walk(root):
    for e in os.scandir(r):
        st = os.stat(e.path, follow_symlinks=False)
        out[os.path.relpath(e.path, root)] = [str(st.st_dev), str(st.st_ino), str(e.inode())]
st = os.stat(root)
out['.'] = [str(st.st_dev), str(st.st_ino), str(st.st_ino)]
print(json.dumps(out))
`;

t.test('needs find, tar, cp, du, python3', async (t) => {
  await needTools(t, ['find', 'tar', 'cp', 'du', PY]);
});

t.test('a source spanning tmpfs mounts: one st_ino per source file, links kept, no loops', async (t) => {
  const src = await makeSource(t);
  if (!src) return;
  const mnt = scratch(t, 'mnt');
  await startMounted(t, src, mnt);

  await t.test('find M succeeds, with no "File system loop detected"', async (t) => {
    const r = await sameOnBoth(t, 'find', 'find "$P" | sort; exit ${PIPESTATUS[0]}', src, mnt);
    t.notMatch(r.mnt.stderr, /loop/i, 'no loop reported');
    await sameOnBoth(t, 'find -type f -links +1', 'find "$P" -type f -links +1 | sort', src, mnt);
    await sameOnBoth(t, 'ls -R', 'ls -R "$P"', src, mnt);
  });

  await t.test('tar cf - -C M a | tar xf - -C T: y says two, y2 is its hard link', async (t) => {
    const T = scratch(t, 'tar-out');
    const r = await sh('set -o pipefail; tar cf - -C "$1" a p q | tar xf - -C "$2"', [mnt, T], { timeoutMs: 30_000 });
    t.equal(r.code, 0, 'tar through the mount', { stderr: r.stderr.toString() });
    const cat = await sh('cat "$1/a/b/y"', [T]);
    t.equal(cat.stdout.toString(), 'two\n', 'cat T/a/b/y says two');
    const ino = await sh('stat -c %i "$1/a/b/y" "$1/a/b/y2" "$1/a/x" "$1/a/x2"', [T]);
    const [y, y2, x, x2] = ino.stdout.toString().trim().split('\n');
    t.equal(y2, y, 'T/a/b/y2 is a hard link of T/a/b/y');
    t.equal(x2, x, 'T/a/x2 is a hard link of T/a/x');
    t.not(y, x, 'T/a/b/y is not a link of T/a/x');
    const q = await sh('cat "$1/q/f" "$1/q/f2" "$1/q/d/g"', [T]);
    t.equal(q.stdout.toString(), 'Q\nQ\nQd\n', 'siblings: q keeps its own contents');
    // The whole extracted tree, against the same tar of the source.
    const both = await onBoth(
      'set -o pipefail; T=$(mktemp -d) && tar cf - -C "$P" a p q | tar xf - -C "$T" && cd "$T" && find . -type f | sort | xargs -d "\\n" stat -c "%h %n" && find . -type f | sort | xargs -d "\\n" md5sum; rc=$?; rm -rf "$T"; exit $rc',
      src,
      mnt,
    );
    t.same(both.mnt, both.src, 'tar of the mount extracts as tar of the source (contents and link counts)');
  });

  await t.test('cp -a keeps the source\'s hard links and contents', async (t) => {
    const both = await onBoth(
      'T=$(mktemp -d) && cp -a "$P/a" "$P/p" "$P/q" "$T"/ && cd "$T" && find . -type f | sort | xargs -d "\\n" stat -c "%h %n" && find . -type f | sort | xargs -d "\\n" md5sum; rc=$?; rm -rf "$T"; exit $rc',
      src,
      mnt,
    );
    t.same(both.mnt, both.src, 'cp -a of the mount copies as cp -a of the source');
  });

  await t.test('du counts every file once, as on the source', async (t) => {
    await sameOnBoth(t, 'du -s', 'du -s "$P"', src, mnt);
    await sameOnBoth(t, 'du -a', 'du -a "$P" | sort -k2', src, mnt);
  });

  await t.test('distinct source (st_dev, st_ino) <=> distinct st_ino on the mount; d_ino = st_ino', async (t) => {
    const a = await sh(`exec ${PY} -c "$1" "$2"`, [IDS, src]);
    const b = await sh(`exec ${PY} -c "$1" "$2"`, [IDS, mnt], { timeoutMs: 30_000 });
    t.equal(b.code, 0, 'the walk through the mount ran', { stderr: b.stderr.toString() });
    if (a.code !== 0 || b.code !== 0) return;
    const s = JSON.parse(a.stdout.toString()) as Record<string, [string, string, string]>;
    const m = JSON.parse(b.stdout.toString()) as Record<string, [string, string, string]>;
    t.same(Object.keys(m).sort(), Object.keys(s).sort(), 'the same paths');
    const paths = Object.keys(s).filter((p) => p in m);
    const clashes: string[] = [];
    const splits: string[] = [];
    for (const p of paths)
      for (const q of paths) {
        if (p >= q) continue;
        const sameSrc = s[p][0] === s[q][0] && s[p][1] === s[q][1];
        const sameMnt = m[p][1] === m[q][1];
        if (!sameSrc && sameMnt) clashes.push(`${p} and ${q} (source ${s[p][0]}:${s[p][1]} vs ${s[q][0]}:${s[q][1]}, mount ino ${m[p][1]})`);
        if (sameSrc && !sameMnt) splits.push(`${p} and ${q}`);
      }
    t.same(clashes, [], 'different source files never share an st_ino on the mount');
    t.same(splits, [], 'hard links (one source file) share one st_ino on the mount');
    const dino = paths.filter((p) => m[p][2] !== m[p][1]).map((p) => `${p}: d_ino ${m[p][2]}, st_ino ${m[p][1]}`);
    t.same(dino, [], 'through the mount, every readdir d_ino is its entry\'s st_ino');
  });
});

leftoverCheck(t);
