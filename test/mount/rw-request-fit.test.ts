// Every request must fit what reads it. With --write-mode splice the worker threads read each
// request by splice into their pipe, and the kernel refuses (EINVAL) a read shorter than the
// largest WRITE (fuse_in_header + fuse_write_in + max_write) while splice cuts the length to the
// pipe's room: a fixed --pipe-pages smaller than max_write once killed the mount on its first
// request, and the server then said "unmounted". So max_pages follows the pipe whenever requests
// are spliced (datapath/pipe-sizing.ts), and a worker that does leave on a device error ends the
// session with that error, not as an unmount.
//
// Each configuration: the negotiated max_pages, writes of sizes around the pipe and far past it
// read back byte for byte from the source, the mode's WRITE counter moved, and the mount alive.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { addon } from '../../src/addon.js';
import { isMounted, leftoverCheck, withMount } from '../helpers/mount.js';
import { writeDelta, writeStats } from '../helpers/rw.js';

const E = constants.errno;
const KiB = 1024;
const MiB = 1024 * KiB;

interface Config {
  name: string;
  writeMode: 'splice' | 'copy';
  pipePages?: number;
  threads?: number;
  maxPages: number;
  /** which stats().write counter must move */
  path: 'splice' | 'copy' | 'any';
}

const CONFIGS: Config[] = [
  // 16 slots: one for the headers, 15 pages of payload.
  { name: 'splice writes, --pipe-pages 16', writeMode: 'splice', pipePages: 16, maxPages: 15, path: 'splice' },
  // F_SETPIPE_SZ rounds 17 pages up to 32: max_pages follows the pipe granted.
  { name: 'splice writes, --pipe-pages 17', writeMode: 'splice', pipePages: 17, maxPages: 31, path: 'splice' },
  { name: 'splice writes, --pipe-pages 1', writeMode: 'splice', pipePages: 1, maxPages: 1, path: 'any' },
  // Replies only use the fixed pipe: a READ that does not fit goes by copy, so no limit.
  { name: 'copy writes, --pipe-pages 16', writeMode: 'copy', pipePages: 16, maxPages: 256, path: 'copy' },
  // No worker threads: requests are read by read(2) on the event loop, so no limit either.
  { name: 'splice writes, --pipe-pages 16, threads 0', writeMode: 'splice', pipePages: 16, threads: 0, maxPages: 256, path: 'any' },
  { name: 'splice writes, default pipe', writeMode: 'splice', maxPages: 255, path: 'splice' },
];

const SIZES = [1, 4097, 15 * 4096, 15 * 4096 + 1, 64 * KiB, MiB + 17, 8 * MiB];
const maxPagesLimit = Number(readFileSync('/proc/sys/fs/fuse/max_pages_limit', 'utf8'));

for (const c of CONFIGS) {
  t.test(c.name, async (t) => {
    const opts = { readOnly: false, readMode: 'splice' as const, writeMode: c.writeMode, pipePages: c.pipePages, threads: c.threads };
    await withMount(t, opts, {}, async (m) => {
      t.equal(m.handle.info.maxPages, Math.min(c.maxPages, maxPagesLimit), `max_pages ${m.handle.info.maxPages}`);
      const before = writeStats(m.stats());
      let closed = false;
      void m.handle.closed.then(() => (closed = true));
      for (const [i, size] of SIZES.entries()) {
        const data = randomBytes(size);
        await writeFile(join(m.mnt, `f${i}`), data);
        t.ok(readFileSync(join(m.src, `f${i}`)).equals(data), `${size} bytes: the source holds what was written`);
        t.ok((await readFile(join(m.mnt, `f${i}`))).equals(data), `${size} bytes: read back through the mount`);
      }
      const d = writeDelta(before, writeStats(m.stats()));
      if (c.path === 'splice') t.ok(d.spliceReplies > 0, `WRITEs went by splice (${d.spliceReplies})`);
      if (c.path === 'copy') t.ok(d.copyReplies > 0 && d.spliceReplies === 0, `WRITEs went by copy (${d.copyReplies})`);
      t.ok(d.spliceReplies + d.copyReplies > 0, 'WRITE counters moved');
      t.equal(d.errorReplies, 0, 'no WRITE failed');
      t.ok((await stat(m.mnt)).isDirectory(), 'the mount still answers');
      t.notOk(closed, 'the session did not end');
    });
  });
}

// A worker that leaves on a device read error (the "request" fault stands in for one): with one
// thread, the session ends with that error, the mount is detached, and it is not called an unmount.
t.test('a device read error ends the session as an error, not an unmount', async (t) => {
  await withMount(t, { readOnly: false, threads: 1, parkWorkers: false }, {}, async (m) => {
    await stat(m.mnt);
    addon.injectFault('request', E.EIO, 1);
    t.teardown(() => void addon.injectFault('request', 0, 0));
    // The worker is waiting in its read already; a request wakes it into the faulted next read.
    await stat(join(m.mnt, 'nothing')).catch(() => {});
    const { reason } = await Promise.race([
      m.handle.closed,
      new Promise<{ reason: string }>((resolve) => setTimeout(() => resolve({ reason: 'still running after 10 s' }), 10_000)),
    ]);
    t.equal(reason, 'device read error: EIO', 'the session names the error');
    t.equal(addon.injectFault('request', 0, 0), 0, 'the fault was used');
    for (let i = 0; i < 50 && isMounted(m.mnt); i++) await new Promise((r) => setTimeout(r, 100));
    t.notOk(isMounted(m.mnt), 'the dead connection was detached');
  });
});

leftoverCheck(t);
