// Read-write (issue 10): fallocate and lseek SEEK_DATA/SEEK_HOLE through the mount, compared with
// a plain reference directory on the same file system (ext4 under /tmp: tmpfs has no
// ZERO_RANGE): the default mode (allocates and grows), KEEP_SIZE (allocates past the end, the
// size stays), PUNCH_HOLE|KEEP_SIZE (zeros the range, frees it: SEEK_HOLE finds it), PUNCH_HOLE
// without KEEP_SIZE (refused: EOPNOTSUPP, which python names ENOTSUP), ZERO_RANGE (and with
// KEEP_SIZE), posix_fallocate, bad arguments (EINVAL), a read-only fd (EBADF).
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { withRw } from '../helpers/rw.js';

const KiB = 1024;
const MiB = 1024 * KiB;

t.test('fallocate modes and SEEK_DATA/SEEK_HOLE', async (t) => {
  await withRw(t, {}, { where: 'tmp' }, async (f) => {
    const p = f.pair;
    const h = await p.value<number>(t, 'create', 'open', 'f', 'rdwr|creat', 0o644);
    await p.expect(t, 'default mode: 1 MiB', 'ok', 'fallocate', h, '', 0, MiB);
    await p.expect(t, 'size 1 MiB', 'ok', 'fstat', h);
    await p.expect(t, 'reads zeros', 'ok', 'pread', h, 0, MiB);
    await p.expect(t, 'KEEP_SIZE past the end', 'ok', 'fallocate', h, 'keep_size', MiB, MiB);
    await p.expect(t, 'size still 1 MiB', 'ok', 'fstat', h);
    await p.expect(t, 'stat by name agrees', 'ok', 'stat', 'f');
    await p.expect(t, 'write 1 MiB of data', { ok: MiB }, 'pwrite', h, 0, { seed: 1, len: MiB });
    await p.expect(t, 'PUNCH_HOLE|KEEP_SIZE of 64 KiB at 128 KiB', 'ok', 'fallocate', h, 'punch_hole|keep_size', 128 * KiB, 64 * KiB);
    await p.expect(t, 'size unchanged by the punch', 'ok', 'fstat', h);
    await p.expect(t, 'the punched range reads zeros', 'ok', 'pread', h, 128 * KiB - 10, 64 * KiB + 20);
    await p.expect(t, 'SEEK_HOLE from 0 finds the punched range', { ok: 128 * KiB }, 'lseek', h, 0, 'hole');
    await p.expect(t, 'SEEK_DATA from inside the hole', { ok: 192 * KiB }, 'lseek', h, 130 * KiB, 'data');
    await p.expect(t, 'PUNCH_HOLE of an unaligned range zeros exactly it', 'ok', 'fallocate', h, 'punch_hole|keep_size', 300 * KiB + 5, 10_000);
    await p.expect(t, 'the unaligned punch', 'ok', 'pread', h, 300 * KiB, 12_000);
    await p.expect(t, 'PUNCH_HOLE without KEEP_SIZE', 'ENOTSUP', 'fallocate', h, 'punch_hole', 0, 4096);
    await p.expect(t, 'ZERO_RANGE of 10 KiB at 500 KiB + 1', 'ok', 'fallocate', h, 'zero_range', 500 * KiB + 1, 10 * KiB);
    await p.expect(t, 'the zeroed range', 'ok', 'pread', h, 500 * KiB, 12 * KiB);
    await p.expect(t, 'ZERO_RANGE past the end grows the file', 'ok', 'fallocate', h, 'zero_range', MiB - 100, 300);
    await p.expect(t, 'size after ZERO_RANGE past the end', 'ok', 'fstat', h);
    await p.expect(t, 'ZERO_RANGE|KEEP_SIZE past the end', 'ok', 'fallocate', h, 'zero_range|keep_size', 2 * MiB, 4096);
    await p.expect(t, 'size kept', 'ok', 'fstat', h);
    await p.expect(t, 'posix_fallocate to 3 MiB', 'ok', 'posix_fallocate', h, 0, 3 * MiB);
    await p.expect(t, 'size 3 MiB', 'ok', 'stat', 'f');
    await p.expect(t, 'length 0', 'EINVAL', 'fallocate', h, '', 0, 0);
    await p.expect(t, 'negative offset', 'EINVAL', 'fallocate', h, '', -1, 10);
    // SEEK_DATA / SEEK_HOLE after ZERO_RANGE and posix_fallocate (unwritten extents)
    await p.expect(t, 'SEEK_DATA from 0', { ok: 0 }, 'lseek', h, 0, 'data');
    await p.expect(t, 'SEEK_HOLE from 200 KiB', 'ok', 'lseek', h, 200 * KiB, 'hole');
    await p.expect(t, 'SEEK_DATA past the end', 'ENXIO', 'lseek', h, 4 * MiB, 'data');
    await p.expect(t, 'SEEK_HOLE past the end', 'ENXIO', 'lseek', h, 4 * MiB, 'hole');
    await p.expect(t, 'close', 'ok', 'close', h);
    // A sparse file made by truncate: a hole from 0.
    const s = await p.value<number>(t, 'create sparse', 'open', 'sparse', 'rdwr|creat', 0o644);
    await p.expect(t, 'ftruncate to 4 MiB', 'ok', 'ftruncate', s, 4 * MiB);
    await p.expect(t, 'write 4 KiB at 2 MiB', { ok: 4096 }, 'pwrite', s, 2 * MiB, { seed: 2, len: 4096 });
    await p.expect(t, 'SEEK_DATA from 0 finds the write', { ok: 2 * MiB }, 'lseek', s, 0, 'data');
    await p.expect(t, 'SEEK_HOLE after the data', { ok: 2 * MiB + 4096 }, 'lseek', s, 2 * MiB, 'hole');
    await p.expect(t, 'close', 'ok', 'close', s);
    const r = await p.value<number>(t, 'open read-only', 'open', 'f', 'rdonly', 0);
    await p.expect(t, 'fallocate on a read-only fd', 'EBADF', 'fallocate', r, '', 0, 4096);
    await p.expect(t, 'SEEK_HOLE on a read-only fd', 'ok', 'lseek', r, 0, 'hole');
    await p.expect(t, 'close', 'ok', 'close', r);
    if (!f.plain) t.ok((f.stats()!.requests.LSEEK ?? 0) > 0, `LSEEK requests reached the server (${f.stats()!.requests.LSEEK})`);
    if (!f.plain) t.ok((f.stats()!.requests.FALLOCATE ?? 0) > 0, `FALLOCATE requests reached the server (${f.stats()!.requests.FALLOCATE})`);
    await f.sameTrees(t, 'after fallocate');
  });
});

leftoverCheck(t);
