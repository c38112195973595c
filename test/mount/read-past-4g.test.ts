// 64-bit offsets through JS numbers and the addon: reads across and past 4 GiB in an 8 GiB
// sparse file are exact (zeros between the chunks), buffered and direct-io, splice and copy,
// with and without a worker; SEEK_DATA/SEEK_HOLE past 4 GiB agree with the source.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, statSync, writeSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { MountOptions } from '../../src/index.js';
import { leftoverCheck, withAllSplice, within } from '../helpers/mount.js';
import { python } from '../helpers/python.js';

const MiB = 1024 * 1024;
const SEEK_SCRIPT = fileURLToPath(new URL('../scripts/seek_data_hole.py', import.meta.url));

for (const [name, opts] of [
  ['buffered, header patch', { headerMode: 'patch' }],
  ['direct-io, header write', { directIo: true, headerMode: 'write' }],
  ['direct-io, header patch, threads 0', { directIo: true, headerMode: 'patch', threads: 0 }],
  ['direct-io, copy', { directIo: true, readMode: 'copy' }],
] as Array<[string, MountOptions]>) {
  t.test(`reads past 4 GiB in a sparse file (${name})`, async (t) => {
    const G4 = 2 ** 32;
    const chunks: Array<[number, Buffer]> = [
      [G4 - 3000, randomBytes(6000)], // across the 4 GiB boundary
      [G4 + 5 * MiB + 123, randomBytes(70_000)],
      [2 ** 33 + 1, randomBytes(100)], // 8 GiB + 1, the last bytes of the file
    ];
    const size = 2 ** 33 + 101;
    const populate = (src: string) => {
      const fd = openSync(join(src, 'big'), 'w');
      for (const [off, b] of chunks) writeSync(fd, b, 0, b.length, off);
      closeSync(fd);
    };
    await withAllSplice(t, opts, { populate }, async ({ src, mnt, stats }) => {
      t.equal(statSync(join(src, 'big')).size, size, 'an 8 GiB sparse file');
      t.equal((await stat(join(mnt, 'big'))).size, size, 'its size through the mount');
      const fh = await open(join(mnt, 'big'));
      try {
        for (const [off, b] of chunks) {
          for (const [pos, len] of [
            [off, b.length],
            [off - 10, b.length + 20],
            [off + 7, 4096],
          ]) {
            const buf = Buffer.alloc(len);
            const { bytesRead } = await within(10_000, `read at ${pos}`, fh.read(buf, 0, len, pos));
            const want = Buffer.alloc(Math.max(0, Math.min(len, size - pos)));
            // expected: zeros except where a chunk lies
            for (const [o, c] of chunks) {
              const from = Math.max(o, pos);
              const to = Math.min(o + c.length, pos + want.length);
              if (from < to) c.copy(want, from - pos, from - o, to - o);
            }
            t.ok(bytesRead === want.length && buf.subarray(0, bytesRead).equals(want), `read at ${pos} (4 GiB + ${pos - G4}) of ${len}: exact`);
          }
        }
      } finally {
        await fh.close();
      }
      // The script's usual offsets, and three past 4 GiB.
      const past4g = [G4 - 4096, G4 + MiB, 2 ** 33].map(String);
      const out = await python(t, SEEK_SCRIPT, [join(mnt, 'big'), ...past4g]);
      const ref = await python(t, SEEK_SCRIPT, [join(src, 'big'), ...past4g]);
      t.same(JSON.parse(out || '{}'), JSON.parse(ref || '{}'), 'SEEK_DATA/SEEK_HOLE past 4 GiB agree with the source');
      t.equal(stats().read.errorReplies, 0, 'no error replies');
    });
  });
}

leftoverCheck(t);
