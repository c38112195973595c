// Read-write (issue 10): a full source. The source and the reference are each a 2 MiB tmpfs;
// writing 64 KiB pieces through the mount until an error gives the caller ENOSPC, after as many
// acknowledged bytes as on the reference, and those bytes are in the source (size and content);
// a short write, fsync and close after it behave as on the reference; after an unlink frees the
// space, writes work again. In each write mode, in read mode splice (the default, auto, hands the
// file to the kernel: FUSE passthrough, and its writes would never reach the server).
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { mountFs, scratch } from '../helpers/mirror.js';
import { OpServer, WRITE_MODES, withRw } from '../helpers/rw.js';

for (const mode of WRITE_MODES) {
  t.test(`ENOSPC from a full 2 MiB source, write mode ${mode}`, async (t) => {
    const src = scratch(t, 'enospc-src');
    const ref = scratch(t, 'enospc-ref');
    for (const d of [src, ref]) {
      const r = await mountFs(t, ['-t', 'tmpfs', '-o', 'size=2m,mode=0755', 'rwtest'], d);
      t.equal(r.code, 0, `a 2 MiB tmpfs at ${d}`, { stderr: r.stderr.toString() });
    }
    await withRw(t, { readMode: 'splice', writeMode: mode }, { source: src, reference: ref }, async (f) => {
      const p = f.pair;
      const h = await p.value<number>(t, 'create big', 'open', 'big', 'wronly|creat', 0o644);
      const full = await p.expect(t, 'write 64 KiB pieces until an error', 'ok', 'write_until_full', h, 65536);
      const got = 'ok' in full ? (full.ok as { written: number; err: string }) : undefined;
      t.equal(got?.err, 'ENOSPC', `the caller gets ENOSPC (after ${got?.written} bytes)`);
      t.ok((got?.written ?? 0) > 1024 * 1024, 'after more than 1 MiB was acknowledged');
      await p.expect(t, 'one more byte', 'ENOSPC', 'write', h, 'x');
      await p.expect(t, 'fstat: the size is what was acknowledged', 'ok', 'fstat', h);
      await p.expect(t, 'fsync', 'ok', 'fsync', h);
      await p.expect(t, 'close', 'ok', 'close', h);
      await p.expect(t, 'a new file cannot take data either', 'ENOSPC', 'writefile', 'more', { seed: 3, len: 8192 });
      // The acknowledged bytes are in the source.
      const s = new OpServer(f.src);
      try {
        const st = await s.value<{ size: number }>('stat', 'big');
        t.equal(st.size, got?.written, 'the source holds every acknowledged byte');
        t.same(await s.value('readfile', 'big'), await p.r.value('readfile', 'big'), "the source's content is the reference's");
      } finally {
        await s.close();
      }
      await f.sameTrees(t, 'when full');
      await p.expect(t, 'unlink big and more', 'ok', 'unlink', 'big');
      await p.expect(t, 'unlink more', 'ok', 'unlink', 'more');
      await p.expect(t, 'writes work again', { ok: 1024 * 1024 }, 'writefile', 'again', { seed: 4, len: 1024 * 1024 });
      await f.sameTrees(t, 'after freeing space');
    });
  });
}

leftoverCheck(t);
