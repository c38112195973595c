// Read-write (issue 10): copy_file_range through the mount, compared with a plain reference
// directory: between two files, within one file (no overlap), into a hole past the end, from
// past the source's end (0 bytes), an overlapping range in one file (EINVAL), a read-only
// destination (EBADF), a directory (EISDIR); the COPY_FILE_RANGE (or, on 6.18, COPY_FILE_RANGE_64)
// requests reach the server and are answered (no fallback from the 64-bit one).
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { withRw } from '../helpers/rw.js';

const KiB = 1024;
const MiB = 1024 * KiB;

t.test('copy_file_range', async (t) => {
  await withRw(t, {}, {}, async (f) => {
    const p = f.pair;
    await p.expect(t, 'a 3 MiB + 5 source', { ok: 3 * MiB + 5 }, 'writefile', 'src', { seed: 1, len: 3 * MiB + 5 });
    const a = await p.value<number>(t, 'open src', 'open', 'src', 'rdwr', 0);
    const b = await p.value<number>(t, 'create dst', 'open', 'dst', 'rdwr|creat', 0o644);
    await p.expect(t, 'copy all of it', { ok: 3 * MiB + 5 }, 'cfr', a, 0, b, 0, 3 * MiB + 5);
    await p.expect(t, 'dst reads as src', 'ok', 'readfile', 'dst');
    await p.expect(t, 'fstat dst (size)', 'ok', 'fstat', b);
    await p.expect(t, 'copy 10 KiB at odd offsets', { ok: 10 * KiB }, 'cfr', a, 12_345, b, 777, 10 * KiB);
    await p.expect(t, 'dst around the copy', 'ok', 'pread', b, 0, 20 * KiB);
    await p.expect(t, 'copy into a hole past the end', { ok: 4096 }, 'cfr', a, 0, b, 5 * MiB, 4096);
    await p.expect(t, 'size after copying past the end', 'ok', 'fstat', b);
    await p.expect(t, 'the hole reads zeros', 'ok', 'pread', b, 4 * MiB, 8192);
    await p.expect(t, 'copy from past the source end: 0 bytes', { ok: 0 }, 'cfr', a, 4 * MiB, b, 0, 100);
    await p.expect(t, 'copy that runs over the source end: short', { ok: 5 }, 'cfr', a, 3 * MiB, b, 0, 100);
    await p.expect(t, 'within one file, no overlap', { ok: 64 * KiB }, 'cfr', a, 0, a, 2 * MiB, 64 * KiB);
    await p.expect(t, 'src after the in-file copy', 'ok', 'pread', a, 2 * MiB - 10, 64 * KiB + 20);
    await p.expect(t, 'within one file, overlapping', 'EINVAL', 'cfr', a, 0, a, 100, 4096);
    const r = await p.value<number>(t, 'open dst read-only', 'open', 'dst', 'rdonly', 0);
    await p.expect(t, 'into a read-only fd', 'EBADF', 'cfr', a, 0, r, 0, 10);
    const d = await p.value<number>(t, 'open the root dir', 'open', '', 'rdonly|directory', 0);
    await p.expect(t, 'from a directory', 'EISDIR', 'cfr', d, 0, b, 0, 10);
    for (const h of [a, b, r, d]) await p.expect(t, 'close', 'ok', 'close', h);
    await p.expect(t, 'dst at the end', 'ok', 'readfile', 'dst');
    await p.expect(t, 'src at the end', 'ok', 'readfile', 'src');
    if (!f.plain) {
      // Kernels with protocol 7.45 (6.18 here) send COPY_FILE_RANGE_64 first and fall back to
      // COPY_FILE_RANGE for good after one ENOSYS: answered, the old opcode never comes.
      const rq = f.stats()!.requests;
      const [old, wide] = [rq.COPY_FILE_RANGE ?? 0, rq.COPY_FILE_RANGE_64 ?? 0];
      t.ok(old + wide > 0, `COPY_FILE_RANGE requests reached the server (${old} + ${wide} of the 64-bit kind)`);
      if (wide > 0) t.equal(old, 0, 'COPY_FILE_RANGE_64 answered: the kernel never fell back to COPY_FILE_RANGE');
      t.notOk(Object.keys(rq).some((k) => k.startsWith('OP_')), `every request has a name (${Object.keys(rq).join(' ')})`);
    }
    await f.sameTrees(t, 'after copy_file_range');
  });
});

leftoverCheck(t);
