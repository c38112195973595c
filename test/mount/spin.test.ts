// The workers' spin before sleeping adapts: it stops when requests come far apart (each spin
// would run out and burn its budget for nothing), and keeps probing so that it comes back when
// they come close together. The spin counters prove it. The bounds are loose on purpose: 5 ms
// gaps against a 50 µs spin. Whether close requests bring it back depends on how fast the
// reader turns around on this machine, so that half is measured by the benchmark, not here.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { leftoverCheck, run, withMount } from '../helpers/mount.js';

const P = 4096;
const data = randomBytes(4 * 1024 * 1024);

t.test('spin: stops for sparse requests, keeps probing', async (t) => {
  await withMount(
    t,
    { threads: 1, spinUs: 50, directIo: true },
    { populate: (s) => writeFileSync(join(s, 'f'), data) },
    async ({ mnt, stats }) => {
      // One 4 KiB read every 5 ms.
      const before = stats();
      const fh = await open(join(mnt, 'f'));
      const reads = 40;
      try {
        for (let i = 0; i < reads; i++) {
          const buf = Buffer.alloc(P);
          const { bytesRead } = await fh.read(buf, 0, P, i * P);
          if (bytesRead !== P || !buf.equals(data.subarray(i * P, (i + 1) * P))) t.fail(`sparse read ${i} exact`);
          await sleep(5);
        }
      } finally {
        await fh.close();
      }
      const after = stats();
      const misses = after.spin.misses - before.spin.misses;
      // Without adapting, nearly every read would cost a spin that runs out. Adapting: a few
      // before the credit is gone, then one probe in eight waits.
      t.ok(misses < reads / 2, `sparse: ${misses} spins ran out for ${reads} reads (fewer than ${reads / 2})`);
      // It keeps probing (one wait in eight spins), so close requests can turn it back on.
      t.ok(misses >= 5, `sparse: spins that ran out at first, then probes (${misses})`);

    },
  );
});

t.test('spin 0: never spins', async (t) => {
  await withMount(t, { threads: 1, spinUs: 0, directIo: true }, { populate: (s) => writeFileSync(join(s, 'f'), data) }, async ({ mnt, stats }) => {
    const r = await run('dd', [`if=${join(mnt, 'f')}`, 'of=/dev/null', 'bs=4k', 'count=500', 'iflag=direct'], { timeoutMs: 60_000 });
    t.equal(r.code, 0, 'dd read the file');
    const s = stats();
    t.same([s.spin.hits, s.spin.misses], [0, 0], 'no spin counted');
  });
});

leftoverCheck(t);
