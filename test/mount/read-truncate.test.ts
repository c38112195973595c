// A file truncated in the source while a reader has it open through the mount: direct-io reads
// get the short data (exact), nothing past the new EOF, no error, in every header strategy and
// by copy; a buffered mount with a long attribute cache (the kernel keeps the old size) neither
// hangs nor errors, and returns the source's bytes then zeros.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { randomBytes } from 'node:crypto';
import { truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import type { MountOptions } from '../../src/index.js';
import { leftoverCheck, readDelta, withAllSplice, within } from '../helpers/mount.js';

const MiB = 1024 * 1024;

for (const [name, opts] of [
  ['direct-io, header patch', { directIo: true, headerMode: 'patch' }],
  ['direct-io, header write', { directIo: true, headerMode: 'write' }],
  ['direct-io, copy', { directIo: true, readMode: 'copy' }],
] as Array<[string, MountOptions]>) {
  t.test(`file truncated in the source while open: ${name}`, async (t) => {
    const data = randomBytes(MiB);
    await withAllSplice(t, opts, { populate: (s) => writeFileSync(join(s, 'f'), data) }, async ({ src, mnt, stats }) => {
      const fh = await open(join(mnt, 'f'));
      try {
        const buf = Buffer.alloc(MiB);
        let r = await within(10_000, 'first read', fh.read(buf, 0, 65536, 0));
        t.equal(r.bytesRead, 65536);
        t.ok(buf.subarray(0, 65536).equals(data.subarray(0, 65536)), 'first read exact');

        truncateSync(join(src, 'f'), 100_000);
        const before = stats();
        r = await within(10_000, 'read after truncate', fh.read(buf, 0, MiB, 0));
        t.equal(r.bytesRead, 100_000, 'a whole-file read gets the short data');
        t.ok(buf.subarray(0, r.bytesRead).equals(data.subarray(0, 100_000)), 'and the bytes are the source bytes');
        r = await within(10_000, 'read across the new EOF', fh.read(buf, 0, 8192, 96_000));
        t.equal(r.bytesRead, 4000, 'read across the new EOF is short');
        t.ok(buf.subarray(0, 4000).equals(data.subarray(96_000, 100_000)), 'bytes exact');
        r = await within(10_000, 'read past the new EOF', fh.read(buf, 0, 4096, 200_000));
        t.equal(r.bytesRead, 0, 'read past the new EOF gets nothing');

        truncateSync(join(src, 'f'), 0);
        r = await within(10_000, 'read after truncate to 0', fh.read(buf, 0, 4096, 0));
        t.equal(r.bytesRead, 0, 'truncated to 0: nothing, no error');

        const d = readDelta(before, stats());
        t.equal(d.errorReplies, 0, 'no error replies');
        if (opts.readMode === 'copy') t.equal(d.spliceReplies, 0, 'copy mode did not splice');
        else t.ok(d.spliceReplies > 0, `spliced (${d.spliceReplies})`);
      } finally {
        await fh.close();
      }
    });
  });
}

t.test('file truncated in the source while open, buffered with a long attribute cache', async (t) => {
  const data = randomBytes(MiB);
  for (const headerMode of ['patch', 'write'] as const) {
    await withAllSplice(t, { timeout: 60, headerMode }, { populate: (s) => writeFileSync(join(s, 'f'), data) }, async ({ src, mnt }) => {
      const fh = await open(join(mnt, 'f'));
      try {
        t.equal((await fh.stat()).size, MiB, `${headerMode}: the kernel caches the old size`);
        truncateSync(join(src, 'f'), 100_000);
        const buf = Buffer.alloc(MiB);
        const r = await within(10_000, 'read after truncate', fh.read(buf, 0, MiB, 0));
        t.ok(r.bytesRead <= MiB, `${headerMode}: no hang, no error (${r.bytesRead} bytes)`);
        t.ok(buf.subarray(0, Math.min(r.bytesRead, 100_000)).equals(data.subarray(0, Math.min(r.bytesRead, 100_000))), `${headerMode}: the source's bytes`);
        t.ok(buf.subarray(100_000, r.bytesRead).every((x) => x === 0), `${headerMode}: nothing but zeros past the real EOF`);
      } finally {
        await fh.close();
      }
    });
  }
});

leftoverCheck(t);
