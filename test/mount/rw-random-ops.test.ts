// Read-write (issue 10): a seeded run of random operations (helpers/random-ops.ts: create, write
// at random offsets and sizes, truncate, rename, renameat2, link, symlink, unlink, mkdir, rmdir,
// fallocate, copy_file_range, setxattr, removexattr, chmod, reads), applied to the mount and to
// a reference directory in lockstep (the same op, the same answer or errno), in splice and in
// copy write mode and with the writeback cache (read mode splice: the server's WRITE path), and
// in kernel passthrough (read mode passthrough: the kernel writes the source), ending with identical trees (names, sizes,
// contents, modes, link counts, xattrs), and the mount's tree is its source's.
//
// The seed is printed (and named in every failure). To replay a run:
//   SPLICEFS_SEED=<seed> npx tap test/mount/rw-random-ops.test.ts
// A longer run: SPLICEFS_RANDOM_OPS=50000 npx tap test/mount/rw-random-ops.test.ts
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { runRandomOps, seedFromEnv } from '../helpers/random-ops.js';
import { RUN_CONFIGS, ranPath, runOptions, withRw } from '../helpers/rw.js';

const OPS = Number(process.env.SPLICEFS_RANDOM_OPS ?? 4000);

for (const c of RUN_CONFIGS) {
  const seed = seedFromEnv();
  t.test(`${OPS} random ops in lockstep, ${c.name}, seed ${seed}`, async (t) => {
    t.comment(`seed ${seed} (replay: SPLICEFS_SEED=${seed} npx tap test/mount/rw-random-ops.test.ts)`);
    await withRw(t, runOptions(c), {}, async (f) => {
      const before = f.stats();
      const r = await runRandomOps(f.pair, { seed, ops: OPS });
      t.equal(r.difference, undefined, `seed ${seed}: every op answered as on the reference (${r.done} ops, ${r.succeeded} succeeded)`, {
        seed,
        difference: r.difference,
      });
      t.ok(r.succeeded > OPS / 3, `seed ${seed}: the ops mostly did something (${r.succeeded} of ${r.done})`, { counts: r.counts });
      if (r.difference === undefined) {
        const ok = await f.sameTrees(t, `seed ${seed}, ${c.name}: after ${r.done} ops`);
        if (!ok) t.comment(`seed ${seed}: the trees differ`);
      }
      await ranPath(t, f, c, before, `seed ${seed}, ${c.name}`);
    });
  });
}

leftoverCheck(t);
