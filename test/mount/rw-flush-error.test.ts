// An error the backing filesystem reports at close reaches the caller's close(2). A FLUSH (sent
// by each close through the mount) is a close(dup(fd)) of the backing file (addon/write.h
// FlushFd), so a filesystem that reports a failed write-back only there (NFS) is heard. The
// "flush" fault site stands in for such a filesystem: its next close(dup) fails with EIO. Checked
// where the FLUSH is served: a worker reading the device, a parked worker (the event loop passes
// it on as a job), and the event loop itself (--threads 0); each time the caller's close gets
// EIO, the fault was used, the data written before is in the source, and the next close is fine.
// Read mode splice (the default, auto, would hand the file to the kernel; FLUSH still comes to
// the server then, and a last case shows it in kernel passthrough too).
import { constants } from 'node:os';
import t from 'tap';
import { addon } from '../../src/addon.js';
import type { MountOptions } from '../../src/index.js';
import { leftoverCheck } from '../helpers/mount.js';
import { OpServer, withRw } from '../helpers/rw.js';

const E = constants.errno;

// [what, options, park the workers first]
const CASES: Array<[string, MountOptions, boolean]> = [
  ['workers reading (no parking)', { readMode: 'splice', parkWorkers: false }, false],
  ['workers parked', { readMode: 'splice' }, true],
  ['no worker threads: the event loop', { readMode: 'splice', threads: 0 }, false],
  ['kernel passthrough', { readMode: 'passthrough' }, false],
];

t.afterEach(() => void addon.injectFault('flush', 0, 0));

for (const [what, opts, park] of CASES) {
  t.test(`close gets the backing file's flush error: ${what}`, async (t) => {
    await withRw(t, opts, {}, async (f) => {
      if (f.plain) return void t.comment('plain mode: no server');
      const m = f.pair.m;
      if (park) {
        // Park the workers first: a burst of requests only the event loop answers.
        for (let i = 0; i < 40; i++) await m.call('stat', `nope-${i}`);
        for (let i = 0; i < 40; i++) await m.call('mkdir', `d${i}`, 0o755);
        t.ok((f.stats()?.loop.parks ?? 0) >= 1, `the workers parked (${f.stats()?.loop.parks})`);
      }
      const h = (await m.value('open', 'f', 'wronly|creat', 0o644)) as number;
      t.same(await m.call('write', h, { seed: 1, len: 10_000 }), { ok: 10_000 }, 'a write');
      const before = f.stats()?.requests.FLUSH ?? 0;
      addon.injectFault('flush', E.EIO, 1);
      t.same(await m.call('close', h), { err: 'EIO' }, "the caller's close gets EIO");
      t.equal(addon.injectFault('flush', 0, 0), 0, 'the fault was used: the FLUSH ran close(dup(fd))');
      t.ok((f.stats()?.requests.FLUSH ?? 0) > before, 'a FLUSH reached the server');
      const src = new OpServer(f.src);
      try {
        t.same(await src.value('stat', 'f').then((s) => (s as { size: number }).size), 10_000, 'the 10,000 bytes are in the source');
      } finally {
        await src.close();
      }
      const h2 = (await m.value('open', 'f', 'rdonly', 0)) as number;
      t.same(await m.call('close', h2), { ok: null }, 'the next close is fine');
    });
  });
}

leftoverCheck(t);
