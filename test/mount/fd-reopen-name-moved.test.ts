// Issue 9, item 3: a node that re-opens by parent and name follows the name it was last found
// by. On an overlayfs without nfs_export (no file handles), a directory a/D is moved to b/D in
// the source, and the kernel finds it as b/D. A shell whose working directory is D (the kernel
// remembers the node; nothing holds it open) lists "." after D's node gave its fd back: that
// re-open must go by b/D. (By a/D it would be ESTALE: the VFS re-walks a path on ESTALE, but
// not the working directory itself.) The parents are looked up first: a node only follows a
// name in a directory older than itself, so parent references can never form a cycle.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { overlaySource, startWithStats, statsAtExit } from '../helpers/fds.js';
import { scratch, sh } from '../helpers/mirror.js';

t.test('re-open by the last name found: a directory moved in the source', async (t) => {
  const src = await overlaySource(t, async (lower) => {
    mkdirSync(join(lower, 'a'));
    mkdirSync(join(lower, 'b'));
    mkdirSync(join(lower, 'fill'));
    for (let i = 0; i < 200; i++) writeFileSync(join(lower, 'fill', `f${i}`), '');
  });
  // Made through the overlay: a directory of the upper layer, which overlayfs can rename.
  mkdirSync(join(src, 'a', 'D'));
  writeFileSync(join(src, 'a', 'D', 'inside'), 'in D\n');
  const mnt = scratch(t, 'mnt');
  const flags = scratch(t, 'flags');
  const s = await startWithStats(t, src, mnt, { args: ['--node-fds', '64'] });
  const holder = sh(
    `ls "$M" >/dev/null && cd "$M/a/D" || exit 9
echo > "$F/ready"
while [ ! -e "$F/go" ]; do sleep 0.05; done
ls . 2>&1; echo "ls=$?"`,
    [],
    { timeoutMs: 60_000, env: { M: mnt, F: flags } },
  );
  for (let i = 0; i < 200 && !existsSync(join(flags, 'ready')); i++) await new Promise((r) => setTimeout(r, 50));
  t.ok(existsSync(join(flags, 'ready')), 'the shell is in M/a/D');
  const mv = await sh('mv "$1/a/D" "$1/b/D"', [src]);
  t.equal(mv.code, 0, 'moved a/D to b/D in the source', { stderr: mv.stderr.toString() });
  const found = await sh('ls "$1/b/D"', [mnt]);
  t.equal(found.stdout.toString(), 'inside\n', 'the kernel found it as b/D');
  const walk = await sh('ls -l "$1/fill" | wc -l', [mnt], { timeoutMs: 60_000 });
  t.equal(walk.stdout.toString().trim(), '201', '200 other files looked up: D gave its fd back');
  writeFileSync(join(flags, 'go'), '');
  const out = (await holder).stdout.toString();
  t.equal(out, 'inside\nls=0\n', 'the shell lists its directory');
  const st = await statsAtExit(t, s);
  t.ok((st?.fds.reopenedByName ?? 0) > 0, `re-opened by name: ${st?.fds.reopenedByName}`);
  t.equal(st?.fds.stale, 0, 'nothing stale');
});

leftoverCheck(t);
