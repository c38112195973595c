// Read-write (issue 10): an fsx-style run through the mount (test/scripts/fsx.py: random reads,
// writes, truncates, hole punches, mmap reads and writes on one file, every read and the size
// after every op checked against an in-memory model), in each write mode and with the writeback
// cache (-o writeback_cache), all in read mode splice (the server's path), and in kernel
// passthrough (read mode passthrough: the kernel writes the source); then the file in the
// source is the model's content, and the same seed on the plain reference directory ends with
// the same content.
//
// 20,000 ops per write mode here. The long run (100,000 ops, minutes):
//   SPLICEFS_FSX_OPS=100000 npx tap -t 1800 test/mount/rw-fsx.test.ts
// Replay a seed: SPLICEFS_SEED=<seed> npx tap test/mount/rw-fsx.test.ts
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { python } from '../helpers/python.js';
import { seedFromEnv } from '../helpers/random-ops.js';
import { RUN_CONFIGS, ranPath, runOptions, withRw } from '../helpers/rw.js';

const FSX = fileURLToPath(new URL('../scripts/fsx.py', import.meta.url));
const OPS = Number(process.env.SPLICEFS_FSX_OPS ?? 20_000);

for (const c of RUN_CONFIGS) {
  const seed = seedFromEnv();
  t.test(`fsx: ${OPS} ops, ${c.name}, seed ${seed}`, async (t) => {
    t.comment(`seed ${seed} (replay: SPLICEFS_SEED=${seed} npx tap test/mount/rw-fsx.test.ts)`);
    await withRw(t, runOptions(c), {}, async (f) => {
      const before = f.stats();
      const timeout = Math.max(120_000, OPS * 10);
      const out = await python(t, FSX, [join(f.mnt, 'fsx-file'), String(OPS), String(seed)], timeout);
      const summary = out ? (JSON.parse(out) as { ops: number; sha: string; size: number; counts: Record<string, number> }) : undefined;
      t.equal(summary?.ops, OPS, `seed ${seed}: every op checked out through the mount`, { out: out.slice(0, 4000) });
      const inSource = createHash('sha256').update(readFileSync(join(f.src, 'fsx-file'))).digest('hex');
      t.equal(inSource, summary?.sha, `seed ${seed}: the source holds the model's content (${summary?.size} bytes)`);
      const refOut = await python(t, FSX, [join(f.ref, 'fsx-file'), String(OPS), String(seed)], timeout);
      t.equal(refOut, out, `seed ${seed}: the same run on the reference ends the same`);
      await ranPath(t, f, c, before, `fsx, ${c.name}`);
    });
  });
}

leftoverCheck(t);
