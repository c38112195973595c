// Helpers for the node fd budget tests (issue 9, items 2 and 3): trees made fast, a CLI server
// whose counters are read at exit (--stats), and an overlayfs mount without nfs_export (a
// filesystem whose file handles do not open again, so nodes re-open by parent and name).
//
// When run as a test file itself (tap runs every .ts under test/), this file checks its own
// premises: the overlay it makes has no file handles, and the tree maker makes what it says.
import { mkdirSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { addon } from '../../src/addon.js';
import type { Stats } from '../../src/index.js';
import { leftoverCheck } from './mount.js';
import { fdCount, fdSampler, mountFs, onBoth, PY, sameBig, scratch, sh, startMounted, type CliServer, type CliOptions } from './mirror.js';

/** `dirs` directories of `per` files each under root (d0000/f00000 ...); file i%10==0 holds its name. */
export async function makeTree(t: Test, root: string, dirs: number, per: number): Promise<void> {
  const script = `import os,sys
r=sys.argv[1]
for d in range(${dirs}):
    p=os.path.join(r,'d%04d'%d); os.makedirs(p)
    for i in range(${per}):
        n='f%05d'%i
        with open(os.path.join(p,n),'w') as f: f.write(n if i % 10 == 0 else '')
print('made')`;
  const r = await sh(`exec ${PY} -c "$1" "$2"`, [script, root], { timeoutMs: 120_000 });
  t.equal(r.stdout.toString(), 'made\n', `made ${dirs} x ${per} files`, { stderr: r.stderr.toString() });
}

/** A server started by the CLI with --stats; stop() it and read its counters with statsAtExit. */
export async function startWithStats(t: Test, src: string, mnt: string, opts: CliOptions = {}): Promise<CliServer> {
  return startMounted(t, src, mnt, { ...opts, args: [...(opts.args ?? []), '--stats'] });
}

/** SIGTERM the server and parse the counters it prints at exit (fails the test if it cannot). */
export async function statsAtExit(t: Test, s: CliServer): Promise<Stats | null> {
  const stopped = await s.stop(15_000);
  t.ok(stopped, 'the server exited on SIGTERM');
  const line = s.stdout().trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Stats;
  } catch {
    t.fail('the server printed its counters at exit', { stdout: s.stdout().slice(-2000), stderr: s.stderr().slice(-2000) });
    return null;
  }
}

/** JSON log lines of a server's stderr with this msg. */
export function logLines(s: CliServer, msg: string): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of s.stderr().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const j = JSON.parse(line) as Record<string, unknown>;
      if (j.msg === msg) out.push(j);
    } catch {
      /* not JSON */
    }
  }
  return out;
}

/**
 * An overlayfs (lower on a fresh tmpfs, nfs_export off as by default) at <dir>/merged, filled by
 * `fill(lower)` before mounting. Unmounted in teardown. Returns the merged directory.
 */
export async function overlaySource(t: Test, fill: (lower: string) => Promise<void>): Promise<string> {
  const dir = scratch(t, 'overlay');
  const lower = join(dir, 'lower');
  for (const d of ['upper', 'work', 'merged']) mkdirSync(join(dir, d));
  const tm = await mountFs(t, ['-t', 'tmpfs', 'lower'], lower);
  t.equal(tm.code, 0, 'a tmpfs for the lower layer', { stderr: tm.stderr.toString() });
  await fill(lower);
  const merged = join(dir, 'merged');
  const opts = `lowerdir=${lower},upperdir=${join(dir, 'upper')},workdir=${join(dir, 'work')},nfs_export=off`;
  const ov = await mountFs(t, ['-t', 'overlay', 'ov', '-o', opts], merged);
  t.equal(ov.code, 0, 'an overlayfs without nfs_export', { stderr: ov.stderr.toString() });
  return merged;
}

/** Walks that look up, stat and read every file, compared with the source. */
const WALKS: Array<[string, string]> = [
  ['find -printf (stats every entry)', 'find "$P" -printf "%P %s %n %y %m\\n" | sort; exit ${PIPESTATUS[0]}'],
  ['ls -lR', 'cd "$P" && ls -lR .'],
  ['cat of every file', 'cd "$P" && find . -type f | sort | xargs -d "\\n" cat | md5sum; exit ${PIPESTATUS[0]}'],
];

/**
 * Each walk, twice, the second time after the entry and attribute timeout (1 s) ran out, so the
 * kernel looks names up again in directories whose fds were given back in between.
 */
export async function walkTwice(t: Test, src: string, mnt: string): Promise<void> {
  for (const round of [1, 2]) {
    if (round === 2) await new Promise((r) => setTimeout(r, 1_200));
    for (const [what, script] of WALKS) sameBig(t, `${what}, round ${round}`, await onBoth(script, src, mnt, { timeoutMs: 120_000 }));
  }
}

/**
 * Serve `src` on `mnt` with `--node-fds budget`, walk it twice (walkTwice), check the server's fds
 * stayed near the budget and that fds were given back; returns its fd counters at exit.
 */
export async function walkUnderBudget(t: Test, src: string, mnt: string, budget: number): Promise<Stats['fds'] | undefined> {
  const s = await startWithStats(t, src, mnt, { args: ['--node-fds', String(budget)] });
  const base = fdCount(s.pid);
  const sampler = fdSampler(s.pid);
  await walkTwice(t, src, mnt);
  const max = sampler.stop();
  t.ok(max <= base + budget + 16, `the server's fds stayed near the budget: at most ${max} (${base} after mount, budget ${budget})`);
  const f = (await statsAtExit(t, s))?.fds;
  t.ok((f?.shed ?? 0) > 0, `fds given back: ${f?.shed}`);
  return f;
}

// ---- self-test, when tap runs this file directly ---------------------------------------
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  t.test('the overlay source makes no file handles (so its nodes must re-open by name)', async (t) => {
    const merged = await overlaySource(t, async (lower) => mkdirSync(join(lower, 'd')));
    const fd = addon.openat(-100, join(merged, 'd'), 0o10000000 /* O_PATH */, 0);
    t.ok(fd >= 0, 'opened a directory of the overlay');
    t.equal(addon.nameToHandle(fd, Buffer.alloc(4 + addon.MAX_HANDLE_SZ)), -constants.errno.EOPNOTSUPP, 'name_to_handle_at: EOPNOTSUPP');
    addon.close(fd);
  });

  t.test('makeTree makes dirs x per files', async (t) => {
    const root = scratch(t, 'self-tree');
    await makeTree(t, root, 3, 7);
    t.equal(readdirSync(root).length, 3);
    t.equal(readdirSync(join(root, 'd0002')).length, 7);
  });

  leftoverCheck(t);
}
