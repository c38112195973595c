// Read-write (issue 10): with the writeback cache (-o writeback_cache / writebackCache: true) the
// kernel holds written pages and sends them later; every fd of the file must still read what
// any other fd wrote, as on a plain reference directory: an fd opened while the file was empty
// (FOPEN_DIRECT_IO for empty files does not apply with the writeback cache) and an fd opened once it had
// data (cached), writes through each read through the other, before and after fsync; sizes by
// fstat and stat; a truncate by name between them; a reader that opened the file while it was
// empty reads what a writer wrote (the bytes, and zeros in the holes).
// (Found by rw-random-ops with the writeback cache.)
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { withRw } from '../helpers/rw.js';

t.test('writeback cache: each fd reads what the others wrote', async (t) => {
  await withRw(t, { writebackCache: true }, {}, async (f) => {
    const p = f.pair;
    const a = await p.value<number>(t, 'A: create (empty at open)', 'open', 'f', 'rdwr|creat|excl', 0o644);
    await p.expect(t, 'A: write 10 KiB', { ok: 10_240 }, 'pwrite', a, 0, { seed: 1, len: 10_240 });
    const b = await p.value<number>(t, 'B: open (10 KiB at open)', 'open', 'f', 'rdwr', 0);
    await p.expect(t, 'B: write 100 bytes at 64 KiB', { ok: 100 }, 'pwrite', b, 65_536, { seed: 2, len: 100 });
    await p.expect(t, 'B: overwrite 10 bytes at 0', { ok: 10 }, 'pwrite', b, 0, 'BBBBBBBBBB');
    await p.expect(t, 'A: fstat (size 64 KiB + 100)', 'ok', 'fstat', a);
    await p.expect(t, "A: read 100 at 0 (B's overwrite)", 'ok', 'pread', a, 0, 100);
    await p.expect(t, 'A: read the hole at 32 KiB (zeros)', 'ok', 'pread', a, 32_768, 100);
    await p.expect(t, "A: read B's data at 64 KiB", 'ok', 'pread', a, 65_536, 100);
    await p.expect(t, 'A: write 5 bytes at 100', { ok: 5 }, 'pwrite', a, 100, 'AAAAA');
    await p.expect(t, "B: read A's write", 'ok', 'pread', b, 96, 16);
    await p.expect(t, 'B: O_TRUNC through a third fd', 'ok', 'open', 'f', 'wronly|trunc', 0);
    await p.expect(t, 'B: write 3 bytes at 128 KiB', { ok: 3 }, 'pwrite', b, 131_072, 'end');
    await p.expect(t, 'A: read at 0 after the truncate (zeros)', 'ok', 'pread', a, 0, 100);
    await p.expect(t, 'A: read the 3 bytes', 'ok', 'pread', a, 131_072, 10);
    await p.expect(t, 'B: fsync', 'ok', 'fsync', b);
    await p.expect(t, 'A: read at 0 after fsync', 'ok', 'pread', a, 0, 100);
    await p.expect(t, 'stat by name', 'ok', 'stat', 'f');
    await p.expect(t, 'truncate by name to 50', 'ok', 'truncate', 'f', 50);
    await p.expect(t, 'A: fstat after truncate by name', 'ok', 'fstat', a);
    await p.expect(t, 'B: read after truncate by name', 'ok', 'pread', b, 0, 200);
    await p.expect(t, 'close A', 'ok', 'close', a);
    await p.expect(t, 'close B', 'ok', 'close', b);
    await p.expect(t, 'read by name', 'ok', 'readfile', 'f');

    // A reader that opened the file while it was empty, a writer that writes past a hole.
    await p.expect(t, 'create g (empty)', { ok: 0 }, 'writefile', 'g', '');
    const r = await p.value<number>(t, 'R: open g read-only while empty', 'open', 'g', 'rdonly', 0);
    const w = await p.value<number>(t, 'W: open g for writing', 'open', 'g', 'wronly', 0);
    await p.expect(t, 'W: write 100 bytes at 64 KiB', { ok: 100 }, 'pwrite', w, 65_536, { seed: 3, len: 100 });
    await p.expect(t, 'W: write 10 bytes at 0', { ok: 10 }, 'pwrite', w, 0, 'WWWWWWWWWW');
    await p.expect(t, 'R: fstat', 'ok', 'fstat', r);
    await p.expect(t, "R: read 100 at 0 (W's bytes, then zeros)", 'ok', 'pread', r, 0, 100);
    await p.expect(t, 'R: read the hole at 32 KiB (zeros)', 'ok', 'pread', r, 32_768, 100);
    await p.expect(t, "R: read W's data at 64 KiB", 'ok', 'pread', r, 65_536, 100);
    await p.expect(t, 'R: read the whole file', 'ok', 'pread', r, 0, 70_000);
    await p.expect(t, 'close W', 'ok', 'close', w);
    await p.expect(t, 'R: read the whole file after W closed', 'ok', 'pread', r, 0, 70_000);
    await p.expect(t, 'close R', 'ok', 'close', r);
    await f.sameTrees(t, 'after the writeback-cached writes');
  });
});

leftoverCheck(t);
