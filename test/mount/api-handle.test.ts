// The programmatic API, mount() and its handle: bad options reject with a usage error and
// mount nothing; a handle reports what was negotiated (info, fsname as the mount source,
// stats), unmount() is idempotent and resolves `closed`; an external umount or a connection
// aborted through fusectl ends the server with no stale mount; two mounts of one source serve
// at once.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { mount, SplicefsError, type MountOptions } from '../../src/index.js';
import { freshDir, isMounted, leftoverCheck, mountsAt, quietLogger, run, testRoot, within, withMount } from '../helpers/mount.js';

const MiB = 1024 * 1024;

t.test('bad options reject with a SplicefsError (exit code 2) and mount nothing', async (t) => {
  const src = freshDir('api-src');
  const mnt = freshDir('api-mnt');
  t.teardown(() => run('rmdir', [src, mnt]));
  const bad: Array<[string, MountOptions]> = [
    ['readMode', { readMode: 'fast' as never }],
    ['headerMode', { headerMode: 'glue' as never }],
    ['pipePages 0', { pipePages: 0 }],
    ['pipePages 1.5', { pipePages: 1.5 }],
    ['maxRead -1', { maxRead: -1 }],
    ['threads 65', { threads: 65 }],
    ['maxBackground 0', { maxBackground: 0 }],
    ['maxBackground 65536', { maxBackground: 65536 }],
    ['spliceMin -1', { spliceMin: -1 }],
    ['timeout -1', { timeout: -1 }],
  ];
  for (const [what, opts] of bad) {
    const err = await mount(src, mnt, { ...opts, logger: quietLogger() }).then(
      (h) => h.unmount().then(() => null),
      (e: unknown) => e,
    );
    t.ok(err instanceof SplicefsError, `${what}: SplicefsError (${(err as Error | null)?.message})`);
    t.equal((err as SplicefsError | null)?.exitCode, 2, `${what}: a usage error`);
  }
  for (const [what, s, m] of [
    ['missing source', join(src, 'nope'), mnt],
    ['missing mountpoint', src, join(mnt, 'nope')],
  ]) {
    const err = await mount(s, m, { logger: quietLogger() }).then(
      (h) => h.unmount().then(() => null),
      (e: unknown) => e,
    );
    t.ok(err instanceof SplicefsError, `${what}: SplicefsError`);
    t.match((err as Error | null)?.message ?? '', /does not exist/, `${what}: says so`);
  }
  t.notOk(isMounted(mnt), 'nothing mounted');
});

t.test('a handle: info, unmount twice, closed', async (t) => {
  const src = freshDir('api-src');
  const mnt = freshDir('api-mnt');
  writeFileSync(join(src, 'f'), 'data');
  const h = await mount(src, mnt, { logger: quietLogger(), fsname: 'splicefs-api-test' });
  t.teardown(async () => {
    await h.unmount({ graceMs: 0 });
    await run('rm', ['-rf', src]);
    if (!isMounted(mnt)) await run('rmdir', [mnt]);
  });
  const i = h.info;
  const limit = Number(readFileSync('/proc/sys/fs/fuse/max_pages_limit', 'utf8'));
  t.match(i.protocol, /^7\.\d+$/, `protocol ${i.protocol}`);
  t.equal(i.source, src, 'source');
  t.equal(i.mountpoint, mnt, 'mountpoint');
  t.ok(i.maxPages >= 1 && i.maxPages <= limit, `maxPages ${i.maxPages} within max_pages_limit ${limit}`);
  t.equal(i.maxRead, i.maxPages * 4096, 'maxRead = maxPages pages');
  t.ok(i.pipeSlots - 1 >= i.maxPages, `an aligned max-size reply fits the pipe (${i.pipeSlots} slots)`);
  t.equal(i.pipeBytes, Number(readFileSync('/proc/sys/fs/pipe-max-size', 'utf8')), 'the pipe is as large as pipe-max-size allows');
  t.equal(i.readMode, 'auto', 'default read mode auto');
  t.equal(i.vmspliceAliases, true, 'vmsplice references memory on this kernel (6.18)');
  t.equal(i.headerMode, 'patch', 'so auto header mode is patch');
  t.ok(i.flags.includes('MAX_PAGES'), 'MAX_PAGES negotiated');
  const m = mountsAt(mnt);
  t.equal(m.length, 1, 'one mount');
  t.equal(m[0]?.fstype, 'fuse.splicefs', 'fstype fuse.splicefs');
  t.equal(m[0]?.source, 'splicefs-api-test', 'fsname shows as the mount source');
  t.equal(await readFile(join(mnt, 'f'), 'utf8'), 'data', 'reads');

  const s = h.stats();
  t.type(s.requests.LOOKUP, 'number', 'request counts by opcode name');
  t.ok(s.nodes >= 2, 'nodes counted');
  // RELEASE reaches the server after close() returns (the kernel sends it asynchronously).
  let open = s.openFiles;
  for (let k = 0; k < 40 && open !== 0; k++) {
    await new Promise((res) => setTimeout(res, 50));
    open = h.stats().openFiles;
  }
  t.equal(open, 0, 'no file open once the RELEASE arrived');

  await h.unmount();
  await h.unmount(); // idempotent
  t.same(await within(5000, 'closed', h.closed), { reason: 'unmounted' }, 'closed: unmounted');
  t.notOk(isMounted(mnt), 'unmounted');
});

t.test('an external umount resolves closed', async (t) => {
  await withMount(t, {}, {}, async ({ mnt, handle }) => {
    const r = await run('umount', [mnt]);
    t.equal(r.code, 0, 'umount');
    t.same(await within(5000, 'closed', handle.closed), { reason: 'unmounted' }, 'closed: unmounted');
    await within(5000, 'unmount after the fact', handle.unmount());
    t.pass('unmount() after an external umount resolves');
  });
});

t.test('a connection aborted from outside (fusectl) leaves no stale mount', async (t) => {
  await withMount(t, {}, {}, async ({ mnt, handle }) => {
    const { dev } = await stat(mnt);
    const dir = mkdtempSync(join(testRoot('tmp'), 'fusectl-'));
    t.teardown(async () => {
      await run('umount', [dir]);
      await run('rmdir', [dir]);
    });
    t.equal((await run('mount', ['-t', 'fusectl', 'none', dir])).code, 0, 'a private fusectl mount');
    writeFileSync(join(dir, String(dev), 'abort'), '1');
    t.same(await within(5000, 'closed', handle.closed), { reason: 'unmounted' }, 'the server ends');
    t.notOk(isMounted(mnt), 'nothing left mounted at the mountpoint');
  });
});

t.test('two mounts of one source at once', async (t) => {
  const src = freshDir('api-shared');
  const data = randomBytes(3 * MiB);
  writeFileSync(join(src, 'f'), data);
  t.teardown(() => run('rm', ['-rf', src]));
  await withMount(t, { readMode: 'copy' }, { source: src }, async (a) => {
    await withMount(t, { readMode: 'splice' }, { source: src }, async (b) => {
      const [x, y] = await Promise.all([readFile(join(a.mnt, 'f')), readFile(join(b.mnt, 'f'))]);
      t.ok(x.equals(data) && y.equals(data), 'both read the same bytes');
      t.equal(a.stats().read.spliceReplies, 0, 'the copy mount copied');
      t.ok(b.stats().read.spliceReplies > 0, 'the splice mount spliced');
    });
  });
});

leftoverCheck(t);
