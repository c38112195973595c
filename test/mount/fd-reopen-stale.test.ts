// Issue 9, item 3: a node that gave its fd back must re-open as the same object or not at all.
// A shell keeps its working directory in M/d (the kernel remembers that node, nothing holds it
// open); other lookups push d's fd out of the budget; then the source's d is renamed away and a
// new d made in its place. What the shell sees in its directory afterwards:
//   - by file handle (tmpfs): the renamed directory, as on the source;
//   - by parent and name (overlayfs without nfs_export): the name now names another directory,
//     so ESTALE, never the new directory's entries.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { overlaySource, startWithStats, statsAtExit } from '../helpers/fds.js';
import { scratch, sh } from '../helpers/mirror.js';

const BUDGET = 64;

function fill(root: string): void {
  mkdirSync(join(root, 'd'));
  writeFileSync(join(root, 'd', 'mine'), 'old\n');
  mkdirSync(join(root, 'fill'));
  for (let i = 0; i < 200; i++) writeFileSync(join(root, 'fill', `f${i}`), '');
}

/** The scenario; returns what the shell in M/d printed (stdout + stderr) and the counters. */
async function scenario(t: Test, src: string) {
  const mnt = scratch(t, 'mnt');
  const flags = scratch(t, 'flags');
  const s = await startWithStats(t, src, mnt, { args: ['--node-fds', String(BUDGET)] });
  const holder = sh(
    `cd "$M/d" || exit 9
echo > "$F/ready"
while [ ! -e "$F/go" ]; do sleep 0.05; done
ls -a . 2>&1; echo "ls=$?"
cat mine 2>&1; echo "cat=$?"`,
    [],
    { timeoutMs: 60_000, env: { M: mnt, F: flags } },
  );
  for (let i = 0; i < 200 && !existsSync(join(flags, 'ready')); i++) await new Promise((r) => setTimeout(r, 50));
  t.ok(existsSync(join(flags, 'ready')), 'the shell is in M/d');
  const walk = await sh('ls -l "$1/fill" | wc -l', [mnt], { timeoutMs: 60_000 });
  t.equal(walk.stdout.toString().trim(), '201', 'looked up 200 other files (past the budget)');
  const mv = await sh('mv "$1/d" "$1/d-old" && mkdir "$1/d" && echo new > "$1/d/other"', [src]);
  t.equal(mv.code, 0, 'renamed d away in the source, made a new d', { stderr: mv.stderr.toString() });
  writeFileSync(join(flags, 'go'), '');
  const out = await holder;
  const seen = out.stdout.toString();
  const st = await statsAtExit(t, s);
  return { seen, fds: st?.fds };
}

t.test('by file handle: the working directory is still the renamed directory', async (t) => {
  const src = scratch(t, 'stale-handle');
  fill(src);
  const { seen, fds } = await scenario(t, src);
  t.match(seen, /^mine$/m, 'ls lists the old directory\'s file', { seen });
  t.notMatch(seen, /other/, 'never the new directory\'s entries');
  t.match(seen, /^old\ncat=0$/m, 'and reads it');
  t.ok((fds?.reopenedByHandle ?? 0) > 0, `re-opened by handle: ${fds?.reopenedByHandle}`);
});

t.test('by parent and name: ESTALE, not the directory that took the name', async (t) => {
  const src = await overlaySource(t, async (lower) => fill(lower));
  const { seen, fds } = await scenario(t, src);
  t.notMatch(seen, /other/, 'never the new directory\'s entries', { seen });
  t.match(seen, /Stale file handle/, 'the shell is told its directory is stale');
  t.notMatch(seen, /ls=0/, 'ls fails');
  t.ok((fds?.stale ?? 0) > 0, `stale re-opens counted: ${fds?.stale}`);
});

leftoverCheck(t);
