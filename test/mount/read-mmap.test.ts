// mmap through a real mount: shared and private mappings, slices at unaligned offsets and a
// mapping at page offset 8192 read the exact bytes; the page faults reach the server (by splice
// unless the mount copies), buffered, direct-io and copy.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { MountOptions } from '../../src/index.js';
import { leftoverCheck, readDelta, withAllSplice } from '../helpers/mount.js';
import { python } from '../helpers/python.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MMAP_SCRIPT = fileURLToPath(new URL('../scripts/mmap_read.py', import.meta.url));

for (const [name, opts] of [
  ['buffered', {}],
  ['direct-io', { directIo: true }],
  ['copy', { readMode: 'copy' }],
] as Array<[string, MountOptions]>) {
  t.test(`mmap reads (${name})`, async (t) => {
    const data = randomBytes(5 * MiB + 123);
    await withAllSplice(t, opts, { populate: (s) => writeFileSync(join(s, 'f'), data) }, async ({ mnt, stats }) => {
      const before = stats();
      const out = await python(t, MMAP_SCRIPT, [join(mnt, 'f')]);
      const got = JSON.parse(out || '{}') as Record<string, string | string[]>;
      const slices = [
        [1, 4095],
        [4095, 8193],
        [data.length - 100, 200],
        [Math.floor(data.length / 2) + 7, 300000],
      ].map(([a, n]) => sha(data.subarray(a, a + n)));
      for (const kind of ['shared', 'private']) {
        t.equal(got[kind], sha(data), `${kind} mapping: whole file exact`);
        t.same(got[`${kind}_slices`], slices, `${kind} mapping: slices exact`);
      }
      t.equal(got.offset8192, sha(data.subarray(8192)), 'mapping at offset 8192 exact');
      const d = readDelta(before, stats());
      t.ok(d.spliceBytes + d.copyBytes >= data.length, `the server sent the pages (${d.spliceBytes + d.copyBytes} bytes)`);
      t.equal(d.errorReplies, 0, 'no error replies');
      if (opts.readMode === 'copy') t.equal(d.spliceReplies, 0, 'copy mode: no splice');
      else t.ok(d.spliceReplies > 0, `page faults served by splice (${d.spliceReplies})`);
    });
  });
}

leftoverCheck(t);
