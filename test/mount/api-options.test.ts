// The mount options that shape the READ path, through a real mount: maxRead caps READ
// requests; readaheadKb 1024 gives large buffered READs that still fit the pipe; maxBackground
// (and its congestion threshold) reaches the kernel's connection; READs under spliceMin go by
// copy as small copies; tiny pipes send every reply that does not fit by copy, exact.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import type { MountOptions } from '../../src/index.js';
import { leftoverCheck, readDelta, run, testRoot, withMount } from '../helpers/mount.js';

const MiB = 1024 * 1024;

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
  const dir = mkdtempSync(join(testRoot('tmp'), 'fusectl-'));
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
