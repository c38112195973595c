// Byte-exact reads through a real mount, in every read mode, with the counters proving which
// path served them. Through the mount only fs.promises (the server shares this event loop).
// The default, auto, is kernel passthrough: its reads never reach the server (its READ counters
// stay put, the passthrough opens move), except the empty file's, which is opened with direct
// I/O (zeroSize) and so goes through the server. The rows that test the server's READ path name
// read mode splice or copy (or direct I/O, which auto serves itself).
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { MountOptions, Stats } from '../../src/index.js';
import { leftoverCheck, readDelta, within, withMount } from '../helpers/mount.js';

const P = 4096;
const KiB = 1024;
const MiB = 1024 * 1024;
const SIZES = [0, 1, 4095, 4096, 4097, 15 * P, 16 * P, 16 * P + 1, 128 * KiB, MiB, MiB + 1, 33 * MiB];

// One random content per size, shared by every mode (written into each fresh source).
const content = new Map<number, Buffer>(SIZES.map((n) => [n, randomBytes(n)]));
const fileName = (n: number) => `f-${n}`;
function populate(src: string): void {
  for (const [n, data] of content) writeFileSync(join(src, fileName(n)), data);
}

type Path = 'copy' | 'splice' | 'pipe16' | 'passthrough';
interface Mode {
  name: string;
  opts: MountOptions;
  /** which path must serve the reads */
  path: Path;
  where?: 'shm' | 'tmp';
}
// spliceMin 0 where a mode tests the splice machinery itself: then even a 1-byte READ splices.
// The modes with default options keep the default, where one-page READs go by copy (smallCopies).
const MODES: Mode[] = [
  { name: 'copy', opts: { readMode: 'copy' }, path: 'copy' },
  { name: 'splice', opts: { spliceMin: 0, readMode: 'splice' }, path: 'splice' },
  { name: 'auto (default options)', opts: {}, path: 'passthrough' },
  { name: 'splice, 16-page pipe', opts: { spliceMin: 0, readMode: 'splice', pipePages: 16 }, path: 'pipe16' },
  { name: 'splice, header write', opts: { spliceMin: 0, readMode: 'splice', headerMode: 'write' }, path: 'splice' },
  { name: 'splice, header patch', opts: { spliceMin: 0, readMode: 'splice', headerMode: 'patch' }, path: 'splice' },
  { name: 'direct-io (auto)', opts: { directIo: true }, path: 'splice' },
  { name: 'direct-io, copy', opts: { directIo: true, readMode: 'copy' }, path: 'copy' },
  { name: 'direct-io, 16-page pipe', opts: { spliceMin: 0, directIo: true, pipePages: 16 }, path: 'pipe16' },
  { name: 'direct-io, header write', opts: { spliceMin: 0, directIo: true, headerMode: 'write' }, path: 'splice' },
  { name: 'direct-io, header patch', opts: { spliceMin: 0, directIo: true, headerMode: 'patch' }, path: 'splice' },
  { name: 'splice, source on a disk filesystem', opts: { spliceMin: 0, readMode: 'splice' }, path: 'splice', where: 'tmp' },
  // threads 0: the event loop serves every READ itself (the other serving path).
  { name: 'threads 0, splice', opts: { spliceMin: 0, threads: 0, readMode: 'splice' }, path: 'splice' },
  { name: 'threads 0, copy', opts: { threads: 0, readMode: 'copy' }, path: 'copy' },
  { name: 'threads 0, 16-page pipe', opts: { spliceMin: 0, threads: 0, readMode: 'splice', pipePages: 16 }, path: 'pipe16' },
  { name: 'threads 0, direct-io, header write', opts: { spliceMin: 0, threads: 0, directIo: true, headerMode: 'write' }, path: 'splice' },
  { name: 'threads 0, direct-io, header patch', opts: { spliceMin: 0, threads: 0, directIo: true, headerMode: 'patch' }, path: 'splice' },
  { name: 'threads 2, direct-io', opts: { threads: 2, directIo: true }, path: 'splice' },
  // spinUs 0: workers sleep in a blocking read(2) instead of spinning, then poll.
  { name: 'spin 0, splice', opts: { spliceMin: 0, spinUs: 0, readMode: 'splice' }, path: 'splice' },
  { name: 'spin 0, threads 2, copy, direct-io', opts: { spinUs: 0, threads: 2, readMode: 'copy', directIo: true }, path: 'copy' },
];

/** Reads at unaligned offsets and across EOF: [position, length]. */
function probes(size: number): Array<[number, number]> {
  const list: Array<[number, number]> = [
    [0, 1],
    [1, 4095],
    [4095, 2],
    [4097, 3 * P + 5],
    [777, 128 * KiB + 13],
    [12_345, MiB + 3], // more than max_read: the kernel splits it
    [Math.max(0, size - 1), 10], // across EOF by one byte
    [Math.max(0, size - 5000), 70_000], // across EOF
    [Math.max(0, size - P - 1), 2 * P + 2],
    [Math.floor(size / 2) + 3, 50_001],
    [size, 100], // at EOF: nothing
    [size + P + 7, 10], // past EOF: nothing
  ];
  return list;
}

for (const mode of MODES) {
  t.test(`read mode: ${mode.name}`, async (t) => {
    const direct = mode.opts.directIo === true;
    await withMount(t, mode.opts, { populate, where: mode.where }, async ({ mnt, handle, stats }) => {
      const info = handle.info;
      t.equal(info.directIo, direct, 'info.directIo');
      t.equal(info.readMode, mode.opts.readMode ?? 'auto', 'info.readMode');
      if (mode.opts.headerMode) t.equal(info.headerMode, mode.opts.headerMode, 'info.headerMode as asked');
      if (mode.path === 'pipe16') t.equal(info.pipeBytes, 16 * P, 'a 16-page pipe');
      if (mode.path === 'copy') t.equal(info.pipeBytes, 0, 'copy mode makes no pipe');
      if (mode.path === 'passthrough') t.equal(info.passthrough, 'on', 'info.passthrough: on');
      if (mode.path === 'splice') {
        t.ok(info.pipeSlots > 16, `a pipe larger than the default (${info.pipeSlots} slots)`);
        t.ok(info.maxPages <= info.pipeSlots - 1, `max_pages ${info.maxPages} fits the pipe (header + data)`);
      }

      for (const size of SIZES) {
        const data = content.get(size)!;
        const path = join(mnt, fileName(size));

        // 1. The whole file.
        let before = stats();
        const got = await within(60_000, `readFile ${size}`, readFile(path));
        t.equal(got.length, size, `size ${size}: whole-file length`);
        t.ok(got.equals(data), `size ${size}: whole-file bytes equal`);
        let after = stats();
        let d = readDelta(before, after);
        t.equal(d.errorReplies, 0, `size ${size}: no error replies`);
        if (mode.path === 'passthrough') {
          passedThrough(t, size, before, after, 'whole file');
        } else if (size > 0) {
          t.ok(d.spliceBytes + d.copyBytes >= size, `size ${size}: the server sent the data (${d.spliceBytes + d.copyBytes} bytes)`);
          if (direct) t.equal(d.spliceBytes + d.copyBytes, size, `size ${size}: direct-io: exactly the bytes read`);
        }
        if (mode.path === 'copy') {
          t.equal(d.spliceReplies, 0, `size ${size}: copy mode never splices`);
          if (size > 0) t.ok(d.copyReplies > 0, `size ${size}: copy replies counted`);
        } else if (mode.path === 'splice') {
          if (size > 0 && (info.spliceMin === 0 || size >= 2 * info.spliceMin))
            t.ok(d.spliceReplies > 0, `size ${size}: splice replies counted (${d.spliceReplies})`);
          if (!direct && size > 0 && size <= P && info.spliceMin > P)
            t.ok(d.smallCopies > 0 && d.spliceReplies === 0, `size ${size}: a one-page READ went by copy as small`);
          t.equal(d.copyReplies, d.smallCopies, `size ${size}: nothing went by copy but small READs (${d.smallCopies})`);
          t.same(
            [d.noSpliceRead, d.pipeTooSmall, d.shortData, d.pipeFull, d.spliceError],
            [0, 0, 0, 0, 0],
            `size ${size}: no fallback of any kind`,
          );
        } else if (mode.path === 'pipe16' && size > 0) {
          // 16-page pipe: the header takes a slot, so 15 aligned data pages fit, 16 do not.
          if (size <= 15 * P) {
            t.ok(d.spliceReplies > 0, `size ${size}: fits a 16-slot pipe, spliced`);
            t.equal(d.pipeTooSmall, 0, `size ${size}: no pipe-too-small fallback`);
          } else {
            t.ok(d.pipeTooSmall > 0, `size ${size}: pipe-too-small fallbacks counted (${d.pipeTooSmall})`);
            t.equal(d.copyReplies, d.pipeTooSmall, `size ${size}: the copies are exactly the counted fallbacks`);
          }
        }

        // 2. Reads at unaligned offsets and across EOF, through one open file.
        before = stats();
        let expectBytes = 0;
        const fh = await open(path);
        try {
          for (const [pos, len] of probes(size)) {
            const want = data.subarray(Math.min(pos, size), Math.min(pos + len, size));
            const buf = Buffer.alloc(len);
            const { bytesRead } = await within(30_000, `read ${size}@${pos}+${len}`, fh.read(buf, 0, len, pos));
            if (bytesRead !== want.length || !buf.subarray(0, bytesRead).equals(want)) {
              t.fail(`size ${size}: read at ${pos} of ${len}: got ${bytesRead} bytes, want ${want.length}`, {
                firstDiff: firstDiff(buf.subarray(0, bytesRead), want),
              });
            } else {
              t.pass(`size ${size}: read at ${pos} of ${len} -> ${bytesRead} bytes, exact`);
            }
            expectBytes += want.length;
          }
        } finally {
          await fh.close();
        }
        after = stats();
        d = readDelta(before, after);
        t.equal(d.errorReplies, 0, `size ${size}: offsets: no error replies`);
        if (mode.path === 'passthrough') passedThrough(t, size, before, after, 'offsets');
        if (direct && size > 0) {
          // Every read reached the server at its own offset: exactly the bytes returned.
          t.equal(d.spliceBytes + d.copyBytes, expectBytes, `size ${size}: offsets: the server sent exactly the bytes read`);
          if (mode.path === 'copy') t.equal(d.spliceReplies, 0, `size ${size}: offsets: copy mode never splices`);
          if (mode.path === 'splice') {
            t.ok(d.spliceReplies > 0, `size ${size}: offsets: unaligned reads spliced (${d.spliceReplies})`);
            // An unaligned read of max_pages touches one page more than the pipe holds: that
            // (and only that) may go by copy.
            t.same([d.noSpliceRead, d.shortData, d.pipeFull, d.spliceError], [0, 0, 0, 0], `size ${size}: offsets: no other fallback`);
            t.equal(d.copyReplies, d.pipeTooSmall + d.smallCopies, `size ${size}: offsets: copies only where the pipe was too small or the READ small`);
          }
          if (mode.path === 'pipe16') {
            t.ok(d.spliceReplies > 0, `size ${size}: offsets: small reads spliced through 16 slots`);
            t.equal(d.copyReplies, d.pipeTooSmall, `size ${size}: offsets: copies only where the pipe was too small`);
            if (size > 15 * P) t.ok(d.pipeTooSmall > 0, `size ${size}: offsets: large reads fell back (${d.pipeTooSmall})`);
          }
        }
      }

      const s = stats().read;
      t.equal(s.errorReplies, 0, 'no error replies in this mount');
      t.same(
        [s.fallbacks.noSpliceRead, s.fallbacks.shortData, s.fallbacks.pipeFull, s.fallbacks.spliceError],
        [0, 0, 0, 0],
        'no fallback but pipe-too-small ever ran',
      );
      if (mode.path === 'copy') t.equal(s.spliceReplies, 0, 'copy mode: no splice reply at all');
      else if (mode.path === 'passthrough') {
        const pt = stats().passthrough;
        t.equal(s.spliceBytes + s.copyBytes, 0, 'auto: the server sent no byte of file data in this mount');
        t.equal(pt.opens, 2 * (SIZES.length - 1), 'auto: two passthrough opens of each non-empty file');
        t.equal(pt.fallbacks.directIo, SIZES.includes(0) ? 2 : 0, 'auto: the empty file\'s two opens went through the server (direct I/O)');
      } else t.ok(s.spliceReplies > 0, 'spliced replies sent');
      // The empty file is opened with direct I/O even here (zeroSize: a size of 0 promises
      // nothing), so its reads reach the server as asked, and an unaligned max_read one needs a
      // pipe slot more than there are (pipeTooSmall). The other files come through the page
      // cache, whose READs are page-aligned and fit.
      if (mode.path === 'splice' && !direct) {
        t.equal(s.copyReplies, s.smallCopies + s.fallbacks.pipeTooSmall, 'buffered splice mode: no copy reply but small READs and the empty file\'s');
        t.equal(stats().directIoOpens.zeroSize > 0, SIZES.includes(0), 'the empty file was opened with direct I/O');
      }
      if (info.spliceMin === 0) t.equal(s.smallCopies, 0, 'spliceMin 0: no small copies');
    });
  });
}

/**
 * Mode auto: a non-empty file's open passed through and none of its reads reached the server; the
 * empty file (direct I/O, zeroSize) went through the server, and sent nothing.
 */
function passedThrough(t: Test, size: number, before: Stats, after: Stats, what: string): void {
  const d = readDelta(before, after);
  const r = (s: Stats) => s.requests.READ ?? 0;
  const opens = after.passthrough.opens - before.passthrough.opens;
  t.equal(d.spliceBytes + d.copyBytes, 0, `size ${size}: ${what}: the server sent no data`);
  if (size > 0) {
    t.equal(opens, 1, `size ${size}: ${what}: the open passed through`);
    t.equal(d.spliceReplies + d.copyReplies, 0, `size ${size}: ${what}: no READ reply from the server`);
    t.equal(r(after) - r(before), 0, `size ${size}: ${what}: no READ request reached the server`);
  } else {
    t.equal(opens, 0, `size ${size}: ${what}: the empty file did not pass through`);
    t.equal(after.passthrough.fallbacks.directIo - before.passthrough.fallbacks.directIo, 1, `size ${size}: ${what}: it went through the server (direct I/O)`);
  }
}

function firstDiff(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

leftoverCheck(t);
