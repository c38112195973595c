// Sparse files through a real mount: data, holes and trailing holes read back with zeros in
// the holes (whole-file and unaligned reads straddling the boundaries), in every READ path,
// on a tmpfs and on a disk source; SEEK_DATA/SEEK_HOLE through the mount agree with the source.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, statSync, truncateSync, writeSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { MountOptions } from '../../src/index.js';
import { leftoverCheck, readDelta, withAllSplice, within } from '../helpers/mount.js';
import { python } from '../helpers/python.js';

const MiB = 1024 * 1024;
const SEEK_SCRIPT = fileURLToPath(new URL('../scripts/seek_data_hole.py', import.meta.url));

function makeSparse(src: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  // data, hole, data, trailing hole
  const size1 = 3 * MiB + 123;
  const a = randomBytes(100);
  const b = randomBytes(10_000);
  let fd = openSync(join(src, 'sparse'), 'w');
  writeSync(fd, a, 0, a.length, 0);
  writeSync(fd, b, 0, b.length, MiB + 5000);
  closeSync(fd);
  truncateSync(join(src, 'sparse'), size1);
  const full = Buffer.alloc(size1);
  a.copy(full, 0);
  b.copy(full, MiB + 5000);
  files.sparse = full;
  // all hole
  fd = openSync(join(src, 'allhole'), 'w');
  closeSync(fd);
  truncateSync(join(src, 'allhole'), 5 * MiB + 7);
  files.allhole = Buffer.alloc(5 * MiB + 7);
  // hole first, data at the end
  const c = randomBytes(3000);
  fd = openSync(join(src, 'holefirst'), 'w');
  writeSync(fd, c, 0, c.length, 2 * MiB);
  closeSync(fd);
  const hf = Buffer.alloc(2 * MiB + 3000);
  c.copy(hf, 2 * MiB);
  files.holefirst = hf;
  return files;
}

const SPARSE_MODES: Array<[string, MountOptions]> = [
  ['splice, header patch', { readMode: 'splice', headerMode: 'patch' }],
  ['splice, header write', { readMode: 'splice', headerMode: 'write' }],
  ['copy', { readMode: 'copy' }],
  ['direct-io, header patch', { directIo: true, headerMode: 'patch' }],
  ['direct-io, header write', { directIo: true, headerMode: 'write' }],
];

for (const where of ['shm', 'tmp'] as const) {
  for (const [name, opts] of SPARSE_MODES) {
    t.test(`sparse files (${where === 'shm' ? 'tmpfs' : 'disk'} source), ${name}`, async (t) => {
      let files: Record<string, Buffer> = {};
      await withAllSplice(t, opts, { where, populate: (s) => (files = makeSparse(s)) }, async ({ src, mnt, stats }) => {
        t.ok(statSync(join(src, 'sparse')).blocks * 512 < 1 * MiB, 'the source file really is sparse');
        for (const [f, want] of Object.entries(files)) {
          const before = stats();
          const got = await within(30_000, `read ${f}`, readFile(join(mnt, f)));
          t.equal(got.length, want.length, `${f}: length`);
          t.ok(got.equals(want), `${f}: bytes equal (zeros in the holes)`);
          const d = readDelta(before, stats());
          t.equal(d.errorReplies, 0, `${f}: no error replies`);
          if (opts.readMode === 'copy') t.equal(d.spliceReplies, 0, `${f}: copy mode did not splice`);
          else t.ok(d.spliceReplies > 0, `${f}: holes spliced (${d.spliceReplies} replies)`);
          // Unaligned reads straddling the data/hole boundaries.
          const fh = await open(join(mnt, f));
          try {
            for (const [pos, len] of [
              [50, 100],
              [MiB + 4999, 3],
              [MiB + 5000 + 9999, 4097],
              [2 * MiB - 1, 3001],
              [want.length - 10, 100],
            ] as const) {
              const buf = Buffer.alloc(len);
              const { bytesRead } = await within(10_000, `pread ${f}`, fh.read(buf, 0, len, pos));
              const exp = want.subarray(Math.min(pos, want.length), Math.min(pos + len, want.length));
              t.ok(bytesRead === exp.length && buf.subarray(0, bytesRead).equals(exp), `${f}: read at ${pos} of ${len} exact`);
            }
          } finally {
            await fh.close();
          }
        }
        // SEEK_DATA / SEEK_HOLE through the mount agree with the source.
        const before = stats().requests.LSEEK ?? 0;
        for (const f of Object.keys(files)) {
          const viaMount = await python(t, SEEK_SCRIPT, [join(mnt, f)]);
          const viaSource = await python(t, SEEK_SCRIPT, [join(src, f)]);
          t.not(viaMount, '', `${f}: lseek results through the mount`);
          t.same(JSON.parse(viaMount || '{}'), JSON.parse(viaSource || '{}'), `${f}: SEEK_DATA/SEEK_HOLE agree with the source`);
        }
        t.ok((stats().requests.LSEEK ?? 0) > before, 'LSEEK requests reached the server');
      });
    });
  }
}

leftoverCheck(t);
