// The programmatic API: option validation, what a handle reports, unmount and closed, and the
// options that shape the READ path (max-read, readahead, fsname).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { mount, SplicefsError, type MountOptions } from '../src/index.js';
import { freshDir, isMounted, leftoverCheck, mountsAt, quietLogger, readDelta, run, within, withMount } from './helpers/mount.js';

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
    const dir = mkdtempSync(join(tmpdir(), 'fusectl-'));
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

t.test('maxRead caps READ requests', async (t) => {
  const data = randomBytes(2 * MiB);
  await withMount(t, { maxRead: 128 * 1024, directIo: true }, { populate: (s) => writeFileSync(join(s, 'f'), data) }, async ({ mnt, handle, stats }) => {
    t.equal(handle.info.maxRead, 128 * 1024, 'maxRead 128 KiB granted');
    t.equal(handle.info.maxPages, 32, 'maxPages 32');
    const before = stats();
    const fh = await open(join(mnt, 'f'));
    try {
      const buf = Buffer.alloc(MiB);
      const { bytesRead } = await fh.read(buf, 0, MiB, 0);
      t.equal(bytesRead, MiB, 'a 1 MiB read');
      t.ok(buf.equals(data.subarray(0, MiB)), 'exact');
    } finally {
      await fh.close();
    }
    const d = readDelta(before, stats());
    // 8 READs of 128 KiB, or 9 when the user buffer is not page-aligned (the kernel pins at
    // most max_pages pages of user memory per request).
    const n = d.spliceReplies + d.copyReplies;
    t.ok(n >= 8 && n <= 9, `went as READs of at most 128 KiB (${n})`, { d });
    t.equal(d.spliceBytes + d.copyBytes, MiB, 'exactly 1 MiB sent');
  });
});

t.test('readaheadKb 1024: 1 MiB buffered READs still fit the pipe', async (t) => {
  const data = randomBytes(16 * MiB);
  await withMount(
    t,
    { readaheadKb: 1024, readMode: 'splice', spliceMin: 0 },
    { populate: (s) => writeFileSync(join(s, 'f'), data) },
    async ({ mnt, handle, stats }) => {
      t.equal(handle.info.readaheadKb, 1024, 'the bdi readahead is 1024 KiB');
      const before = stats();
      const got = await readFile(join(mnt, 'f'));
      t.ok(got.equals(data), 'exact');
      const d = readDelta(before, stats());
      t.ok(d.spliceReplies > 0 && d.spliceReplies < 64, `large READs (${d.spliceReplies} replies for 16 MiB)`);
      t.equal(d.copyReplies, 0, 'none too big for the pipe: no copy');
      t.equal(d.pipeTooSmall, 0, 'no pipe-too-small fallback');
    },
  );
});

// What the kernel really holds for the connection, from the fuse control filesystem: the one at
// /sys/fs/fuse/connections if it is mounted, else a private mount of it made for this read.
async function readConnection(dev: number, file: string): Promise<number> {
  const sys = `/sys/fs/fuse/connections/${dev}/${file}`;
  if (existsSync(sys)) return Number(readFileSync(sys, 'utf8'));
  const dir = mkdtempSync(join(tmpdir(), 'fusectl-'));
  const m = await run('mount', ['-t', 'fusectl', 'none', dir]);
  if (m.code !== 0) throw new Error(`cannot mount fusectl: ${m.stderr}`);
  try {
    return Number(readFileSync(join(dir, String(dev), file), 'utf8'));
  } finally {
    await run('umount', [dir]);
    await run('rmdir', [dir]);
  }
}

t.test('maxBackground reaches the kernel (default 64, congestion threshold 3/4)', async (t) => {
  for (const [opts, bg, cong] of [
    [{}, 64, 48],
    [{ maxBackground: 20 }, 20, 15],
    [{ maxBackground: 1 }, 1, 1],
  ] as Array<[MountOptions, number, number]>) {
    await withMount(t, opts, {}, async ({ mnt, handle }) => {
      t.equal(handle.info.maxBackground, bg, `info.maxBackground ${bg}`);
      t.equal(handle.info.congestionThreshold, cong, `info.congestionThreshold ${cong}`);
      const { dev } = await stat(mnt);
      t.equal(await readConnection(dev, 'max_background'), bg, `the connection's max_background is ${bg}`);
      t.equal(await readConnection(dev, 'congestion_threshold'), cong, `the connection's congestion_threshold is ${cong}`);
    });
  }
});

t.test('spliceMin: READs under it go by copy, counted as smallCopies; larger ones splice', async (t) => {
  const data = randomBytes(1 * MiB + 123);
  for (const threads of [0, 1]) {
    await withMount(
      t,
      { spliceMin: 8192, directIo: true, readMode: 'splice', threads },
      { populate: (s) => writeFileSync(join(s, 'f'), data) },
      async ({ mnt, handle, stats }) => {
        t.equal(handle.info.spliceMin, 8192, 'info.spliceMin');
        const fh = await open(join(mnt, 'f'));
        try {
          for (const [pos, len, small] of [
            [0, 4096, true],
            [12345, 8191, true],
            [4096, 8192, false],
            [1 * MiB, 4096, true], // 123 bytes left: the READ asks for 4096
            [100_000, 200_000, false],
          ] as Array<[number, number, boolean]>) {
            const before = stats();
            const buf = Buffer.alloc(len);
            const { bytesRead } = await fh.read(buf, 0, len, pos);
            t.ok(buf.subarray(0, bytesRead).equals(data.subarray(pos, pos + len)), `threads ${threads}: ${len} at ${pos} exact`);
            const d = readDelta(before, stats());
            if (small) {
              t.same([d.smallCopies, d.copyReplies, d.spliceReplies], [1, 1, 0], `threads ${threads}: ${len} at ${pos} went by copy as small`);
            } else {
              t.equal(d.smallCopies, 0, `threads ${threads}: ${len} at ${pos} not small`);
              t.ok(d.spliceReplies >= 1 && d.copyReplies === 0, `threads ${threads}: ${len} at ${pos} spliced`);
            }
          }
        } finally {
          await fh.close();
        }
      },
    );
  }
});

t.test('tiny pipes: every reply that does not fit goes by copy, exact', async (t) => {
  const data = randomBytes(300_000);
  for (const [pages, bytes] of [
    [1, 4096],
    [3, 16384], // F_SETPIPE_SZ rounds up to a power of two pages
  ]) {
    await withMount(t, { pipePages: pages, directIo: true, spliceMin: 0 }, { populate: (s) => writeFileSync(join(s, 'f'), data) }, async ({ mnt, handle, stats }) => {
      t.equal(handle.info.pipeBytes, bytes, `pipePages ${pages}: a pipe of ${bytes} bytes`);
      const fh = await open(join(mnt, 'f'));
      try {
        for (const [pos, len] of [
          [0, 4096],
          [0, 3 * 4096],
          [1, 4096],
          [100, 200_000],
          [299_990, 100],
        ]) {
          const before = stats();
          const buf = Buffer.alloc(len);
          const { bytesRead } = await fh.read(buf, 0, len, pos);
          const want = data.subarray(pos, Math.min(pos + len, data.length));
          t.ok(bytesRead === want.length && buf.subarray(0, bytesRead).equals(want), `pipePages ${pages}: read at ${pos} of ${len} exact`);
          const d = readDelta(before, stats());
          t.equal(d.copyReplies, d.pipeTooSmall, `pipePages ${pages}: copies only for pipe-too-small`);
          const slots = bytes / 4096;
          const fits = 1 + Math.ceil(((pos % 4096) + len) / 4096) <= slots;
          if (fits) t.ok(d.spliceReplies > 0, `pipePages ${pages}: at ${pos} of ${len}: fits, spliced`);
          else t.ok(d.pipeTooSmall > 0, `pipePages ${pages}: at ${pos} of ${len}: does not fit, copied`);
        }
      } finally {
        await fh.close();
      }
    });
  }
});

leftoverCheck(t);
