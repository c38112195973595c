// Read-write (issue 10): WRITE then read back, in each write mode (--write-mode splice, copy, auto),
// compared with the same writes on a plain reference directory: files of 0, 1, 4095, 4096, 4097
// bytes, 128 KiB + 3, 1 MiB + 17 and 8 MiB written in one call; pwrite into the middle and past
// the end (a hole); many small sequential writes; reads back by pread at odd offsets and whole.
// stats().write proves the mode's path ran: copyReplies moves in copy mode (and spliceReplies
// does not), spliceReplies in splice mode, either in auto (rw-write-streams says which); no WRITE fails. Those mounts read in mode splice (the
// default, auto, hands the files to the kernel: FUSE passthrough, and no WRITE would reach the
// server). The same writes in kernel passthrough (read mode passthrough) agree with the reference
// too, and there the opens passed through and no WRITE reached the server.
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { passedThrough, WRITE_MODES, withRw, wrotePath, writeDelta, type WriteMode } from '../helpers/rw.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SIZES = [0, 1, 4095, 4096, 4097, 128 * KiB + 3, MiB + 17, 8 * MiB];

for (const mode of [...WRITE_MODES, 'kernel'] as Array<WriteMode | 'kernel'>) {
  const kernel = mode === 'kernel';
  const name = kernel ? 'kernel passthrough' : `write mode ${mode}`;
  t.test(`write then read back, ${name}`, async (t) => {
    await withRw(t, kernel ? { readMode: 'passthrough' } : { readMode: 'splice', writeMode: mode }, {}, async (f) => {
      const p = f.pair;
      const before = f.write();
      const beforeAll = f.stats();
      for (const [i, size] of SIZES.entries()) {
        await p.expect(t, `${size} bytes in one write`, { ok: size }, 'writefile', `f${size}`, { seed: i + 1, len: size });
        await p.expect(t, `${size} bytes: stat`, 'ok', 'stat', `f${size}`);
        await p.expect(t, `${size} bytes: read back`, 'ok', 'readfile', `f${size}`);
      }
      const h = await p.value<number>(t, 'open f8 MiB rw', 'open', `f${8 * MiB}`, 'rdwr', 0);
      await p.expect(t, 'pwrite 100 KiB at 1 MiB - 7', { ok: 100 * KiB }, 'pwrite', h, MiB - 7, { seed: 50, len: 100 * KiB });
      await p.expect(t, 'pwrite 1 byte at 4095', { ok: 1 }, 'pwrite', h, 4095, 'Z');
      await p.expect(t, 'pwrite 3 bytes at 9 MiB (past the end: a hole)', { ok: 3 }, 'pwrite', h, 9 * MiB, 'end');
      await p.expect(t, 'fstat: the size grew', 'ok', 'fstat', h);
      for (const [off, len] of [
        [0, 4096],
        [4090, 10],
        [MiB - 10, 20],
        [MiB - 7, 100 * KiB],
        [8 * MiB - 5, 4096],
        [9 * MiB - 1, 10],
        [9 * MiB + 3, 10],
      ] as const) {
        await p.expect(t, `pread ${len} at ${off}`, 'ok', 'pread', h, off, len);
      }
      await p.expect(t, 'fsync', 'ok', 'fsync', h);
      await p.expect(t, 'fdatasync', 'ok', 'fdatasync', h);
      await p.expect(t, 'close', 'ok', 'close', h);
      await p.expect(t, 'the whole file', 'ok', 'readfile', `f${8 * MiB}`);

      // Many small writes (a log file's pattern).
      const s = await p.value<number>(t, 'open small', 'open', 'small', 'wronly|creat', 0o644);
      let allEqual = true;
      for (let i = 0; i < 500; i++) {
        const r = await p.both('write', s, { seed: 1000 + i, len: 1 + ((i * 37) % 300) });
        if (JSON.stringify(r.mnt) !== JSON.stringify(r.ref)) {
          allEqual = t.same(r.mnt, r.ref, `small write ${i}`) && allEqual;
          break;
        }
      }
      t.ok(allEqual, '500 small writes: each answered as on the reference');
      await p.expect(t, 'close', 'ok', 'close', s);
      await p.expect(t, 'the small-writes file', 'ok', 'readfile', 'small');

      // A rewrite of part of a file that is in the page cache (read first, then written).
      await p.expect(t, 'read f4097 (now cached)', 'ok', 'readfile', 'f4097');
      const c = await p.value<number>(t, 'open f4097 rw', 'open', 'f4097', 'rdwr', 0);
      await p.expect(t, 'overwrite 2 bytes at 4094', { ok: 2 }, 'pwrite', c, 4094, 'QQ');
      await p.expect(t, 'read through the same fd', 'ok', 'pread', c, 4090, 7);
      await p.expect(t, 'close', 'ok', 'close', c);
      await p.expect(t, 'read through a new open', 'ok', 'readfile', 'f4097');
      const d = writeDelta(before, f.write());
      if (mode === 'kernel') await passedThrough(t, f, beforeAll, name);
      else wrotePath(t, f, mode, d, name);
      if (!f.plain && !kernel) {
        // Without the writeback cache every byte written is one WRITE's payload, once.
        let small = 0;
        for (let i = 0; i < 500; i++) small += 1 + ((i * 37) % 300);
        const total = SIZES.reduce((a, b) => a + b, 0) + 100 * KiB + 1 + 3 + small + 2;
        t.equal(d.spliceBytes + d.copyBytes, total, `write mode ${mode}: WRITE payload bytes = bytes written (${total})`);
      }
      await f.sameTrees(t, name);
    });
  });
}

leftoverCheck(t);
