// Every request must fit what reads it. With --write-mode splice the worker threads read each
// request by splice into their pipe, and the kernel refuses (EINVAL) a read shorter than the
// largest WRITE (fuse_in_header + fuse_write_in + max_write) while splice cuts the length to the
// pipe's room: a fixed --pipe-pages smaller than max_write once killed the mount on its first
// request, and the server then said "unmounted". So max_pages follows the pipe whenever requests
// are spliced (datapath/pipe-sizing.ts), and a worker that does leave on a device error ends the
// session with that error, not as an unmount.
//
// The largest request of all is a SETXATTR of 64 KiB (17 pages), so a pipe asked for by hand
// that cannot hold it is refused with spliced requests, and each configuration that mounts sets
// one. Each: the negotiated max_pages, writes of sizes around the pipe and far past it read back
// byte for byte from the source, the mode's WRITE counter moved, and the mount alive.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { addon } from '../../src/addon.js';
import { mount } from '../../src/index.js';
import { cli, oneLineError } from '../helpers/cli.js';
import { freshDir, isMounted, leftoverCheck, quietLogger, run, withMount } from '../helpers/mount.js';
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
  // F_SETPIPE_SZ rounds 17 pages up to 32: max_pages follows the pipe granted (31 + the headers).
  { name: 'splice writes, --pipe-pages 17', writeMode: 'splice', pipePages: 17, maxPages: 31, path: 'splice' },
  // Replies only use the fixed pipe: a READ that does not fit goes by copy, so no limit.
  { name: 'copy writes, --pipe-pages 16', writeMode: 'copy', pipePages: 16, maxPages: 256, path: 'copy' },
  // No worker threads: requests are read by read(2) on the event loop, so no limit either.
  { name: 'splice writes, --pipe-pages 16, threads 0', writeMode: 'splice', pipePages: 16, threads: 0, maxPages: 256, path: 'any' },
  { name: 'splice writes, default pipe', writeMode: 'splice', maxPages: 255, path: 'splice' },
];

const SIZES = [1, 4097, 15 * 4096, 15 * 4096 + 1, 64 * KiB, MiB + 17, 8 * MiB];
const maxPagesLimit = Number(readFileSync('/proc/sys/fs/fuse/max_pages_limit', 'utf8'));

/** The largest request there is: SETXATTR of a 255-byte name and a 64 KiB value (tmpfs takes it). */
async function largestXattr(file: string): Promise<string> {
  const py = `import os,sys\nn='user.'+'n'*250\nv=os.urandom(65536)\nos.setxattr(sys.argv[1],n,v)\nprint(os.getxattr(sys.argv[1],n)==v)`;
  // A child process: the mount is served by this process's event loop.
  const r = await run('python3', ['-c', py, file], { timeoutMs: 20_000 });
  return (r.stdout.toString().trim() || r.stderr.toString().trim().split('\n').pop()) ?? 'failed';
}

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
      t.equal(await largestXattr(join(m.mnt, 'f0')), 'True', 'a 64 KiB xattr with a 255-byte name is set and read back');
      t.ok((await stat(m.mnt)).isDirectory(), 'the mount still answers');
      t.notOk(closed, 'the session did not end');
    });
  });
}

// A pipe smaller than the largest request, asked for by hand with spliced requests: refused
// before anything is mounted, in one line naming the smallest size that works.
for (const pages of [1, 16]) {
  t.test(`splice writes, --pipe-pages ${pages}: refused`, async (t) => {
    const src = freshDir('src');
    const mnt = freshDir('mnt');
    t.teardown(() => {
      rmSync(src, { recursive: true, force: true });
      if (!isMounted(mnt)) rmSync(mnt, { recursive: true, force: true });
    });
    await t.rejects(
      mount(src, mnt, { logger: quietLogger(), readOnly: false, writeMode: 'splice', pipePages: pages }),
      { message: new RegExp(`^pipePages takes at least 17 with write mode splice, not ${pages}: `) },
      'mount() refuses it',
    );
    t.notOk(isMounted(mnt), 'nothing mounted');
    const r = await cli([src, mnt, '--write-mode', 'splice', '--pipe-pages', String(pages)]);
    oneLineError(t, 'the CLI', r, new RegExp(`--pipe-pages takes at least 17 with write mode splice, not '${pages}'`), 2);
    t.notOk(isMounted(mnt), 'nothing mounted by the CLI');
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
