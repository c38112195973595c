// A writer shrinks and regrows the source (same content) while reads run through a direct-io
// mount: every reply must be a correct prefix, whatever the header strategy (zeros from a
// truncate that hit a spliced page in flight are allowed, any other foreign byte is not), with
// no error replies and no pipe errors.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { MountOptions } from '../../src/index.js';
import { leftoverCheck, withAllSplice, within } from '../helpers/mount.js';
import { python } from '../helpers/python.js';

const MiB = 1024 * 1024;
const CHURN = fileURLToPath(new URL('../scripts/churn.py', import.meta.url));

for (const [name, opts] of [
  ['header patch', { directIo: true, headerMode: 'patch' }],
  ['header write', { directIo: true, headerMode: 'write' }],
] as Array<[string, MountOptions]>) {
  t.test(`reads while the source shrinks and regrows (direct-io, ${name})`, async (t) => {
    const data = randomBytes(2 * MiB);
    await withAllSplice(t, opts, { populate: (s) => writeFileSync(join(s, 'f'), data) }, async ({ src, mnt, stats }) => {
      const writer = python(t, CHURN, [join(src, 'f'), '2']);
      const fh = await open(join(mnt, 'f'));
      let reads = 0;
      let bad = 0;
      let short = 0;
      let zeroed = 0;
      const t0 = Date.now();
      try {
        const buf = Buffer.alloc(256 * 1024);
        while (Date.now() - t0 < 2000) {
          const pos = Math.floor(Math.random() * (data.length - 1000));
          const len = 1 + Math.floor(Math.random() * buf.length);
          const { bytesRead } = await within(10_000, 'read under churn', fh.read(buf, 0, len, pos));
          reads++;
          if (bytesRead < Math.min(len, data.length - pos)) short++;
          const got = buf.subarray(0, bytesRead);
          const want = data.subarray(pos, pos + bytesRead);
          if (!got.equals(want)) {
            // A spliced page is shared, not copied: if the writer's truncate zeroes the tail of
            // a page while it sits in the pipe, the reply carries those zeros. Any other byte
            // that differs from the source is a bug.
            let foreign = false;
            for (let i = 0; i < got.length; i++) if (got[i] !== want[i] && got[i] !== 0) foreign = true;
            if (foreign) bad++;
            else zeroed++;
          }
        }
      } finally {
        await fh.close();
      }
      const rounds = Number((await writer).trim());
      t.ok(rounds > 0, `the writer churned ${rounds} times`);
      t.ok(reads > 50, `${reads} reads ran (${short} short)`);
      t.equal(bad, 0, `every read returned a prefix of the source (${zeroed} with truncation zeros)`);
      const s = stats().read;
      t.equal(s.errorReplies, 0, 'no error replies');
      t.ok(s.spliceReplies > 0, `spliced (${s.spliceReplies}; shortData fallbacks ${s.fallbacks.shortData})`);
      t.equal(s.fallbacks.spliceError + s.fallbacks.pipeFull, 0, 'no pipe errors');
    });
  });
}

leftoverCheck(t);
