// Concurrent readers through one mount: four readers of one file (cat, dd with two block
// sizes, python) and four readers of four files at once all get the exact bytes, with no error
// replies, buffered and direct-io, splice and copy, with 0, 1 and 2 worker threads.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { MountOptions } from '../../src/index.js';
import { leftoverCheck, run, withAllSplice, within } from '../helpers/mount.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

for (const [name, opts] of [
  ['buffered', {}],
  ['direct-io', { directIo: true }],
  ['copy', { readMode: 'copy' }],
  ['direct-io, threads 0', { directIo: true, threads: 0 }],
  ['direct-io, threads 2', { directIo: true, threads: 2 }],
  ['buffered, threads 2, header write', { threads: 2, headerMode: 'write' }],
] as Array<[string, MountOptions]>) {
  t.test(`4 concurrent readers (${name})`, async (t) => {
    const files = [0, 1, 2, 3].map((i) => randomBytes(6 * MiB + i * 4099));
    const populate = (s: string) => files.forEach((b, i) => writeFileSync(join(s, `f${i}`), b));
    await withAllSplice(t, opts, { populate }, async ({ mnt, stats }) => {
      // Same file, four readers (cat, dd with two block sizes, python).
      const same = join(mnt, 'f0');
      const readers = [
        run('cat', [same]),
        run('dd', [`if=${same}`, 'bs=1M', 'status=none']),
        run('dd', [`if=${same}`, 'bs=4096', 'status=none']),
        run('python3', ['-c', 'import sys; sys.stdout.buffer.write(open(sys.argv[1], "rb").read())', same]),
      ];
      const res = await within(60_000, 'same-file readers', Promise.all(readers));
      res.forEach((r, i) => {
        t.equal(r.code, 0, `same file, reader ${i} exited 0`);
        t.equal(sha(r.stdout), sha(files[0]), `same file, reader ${i}: bytes exact`);
      });
      // Different files, four readers at once.
      const res2 = await within(
        60_000,
        'different-file readers',
        Promise.all(files.map((_b, i) => run('cat', [join(mnt, `f${i}`)]))),
      );
      res2.forEach((r, i) => {
        t.equal(r.code, 0, `file f${i}: exited 0`);
        t.equal(sha(r.stdout), sha(files[i]), `file f${i}: bytes exact`);
      });
      const s = stats().read;
      t.equal(s.errorReplies, 0, 'no error replies');
      if (opts.readMode === 'copy') t.equal(s.spliceReplies, 0, 'copy mode: no splice');
      else t.ok(s.spliceReplies > 0, `spliced (${s.spliceReplies})`);
    });
  });
}

leftoverCheck(t);
