// The edges of the read path: holes, files changing size under a reader, concurrent readers,
// mmap, O_DIRECT, data shorter than the file claims (sysfs) and files with no splice_read.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, statSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { MountOptions } from '../src/index.js';
import { leftoverCheck, readDelta, run, withAllSplice, within } from './helpers/mount.js';

const P = 4096;
const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function python(t: Tap, script: string, args: string[], timeoutMs = 60_000): Promise<string> {
  const r = await run('python3', ['-c', script, ...args], { timeoutMs });
  if (r.code !== 0 || r.timedOut) {
    t.fail(`python3 failed (code ${r.code}, timedOut ${r.timedOut})`, { stderr: r.stderr.toString() });
    return '';
  }
  return r.stdout.toString();
}
type Tap = Test;

// ---- sparse files ----------------------------------------------------------------------

const SEEK_SCRIPT = `
import os, sys, json
p = sys.argv[1]
fd = os.open(p, os.O_RDONLY)
size = os.fstat(fd).st_size
out = {}
for off in [0, 1, 100, 4095, 4096, 65536, 1048576, 1048576 + 5000, 1048576 + 20000, 2097152, size - 1, size, size + 1]:
    if off < 0:
        continue
    row = []
    for name, wh in (("data", os.SEEK_DATA), ("hole", os.SEEK_HOLE)):
        try:
            row.append(os.lseek(fd, off, wh))
        except OSError as e:
            row.append("E" + str(e.errno))
    out[str(off)] = row
os.close(fd)
print(json.dumps(out, sort_keys=True))
`;

function makeSparse(src: string): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  // data, hole, data, trailing hole
  const size1 = 3 * MiB + 123;
  const a = randomBytes(100);
  const b = randomBytes(10_000);
  let fd = openSync(join(src, 'sparse'), 'w');
  writeSync(fd, a, 0, a.length, 0);
  writeSync(fd, b, 0, b.length, MiB + 5000);
  closeSync(fd);
  truncateSync(join(src, 'sparse'), size1);
  const full = Buffer.alloc(size1);
  a.copy(full, 0);
  b.copy(full, MiB + 5000);
  files.sparse = full;
  // all hole
  fd = openSync(join(src, 'allhole'), 'w');
  closeSync(fd);
  truncateSync(join(src, 'allhole'), 5 * MiB + 7);
  files.allhole = Buffer.alloc(5 * MiB + 7);
  // hole first, data at the end
  const c = randomBytes(3000);
  fd = openSync(join(src, 'holefirst'), 'w');
  writeSync(fd, c, 0, c.length, 2 * MiB);
  closeSync(fd);
  const hf = Buffer.alloc(2 * MiB + 3000);
  c.copy(hf, 2 * MiB);
  files.holefirst = hf;
  return files;
}

const SPARSE_MODES: Array<[string, MountOptions]> = [
  ['splice, header patch', { readMode: 'splice', headerMode: 'patch' }],
  ['splice, header write', { readMode: 'splice', headerMode: 'write' }],
  ['copy', { readMode: 'copy' }],
  ['direct-io, header patch', { directIo: true, headerMode: 'patch' }],
  ['direct-io, header write', { directIo: true, headerMode: 'write' }],
];

for (const where of ['shm', 'tmp'] as const) {
  for (const [name, opts] of SPARSE_MODES) {
    t.test(`sparse files (${where === 'shm' ? 'tmpfs' : 'disk'} source), ${name}`, async (t) => {
      let files: Record<string, Buffer> = {};
      await withAllSplice(t, opts, { where, populate: (s) => (files = makeSparse(s)) }, async ({ src, mnt, stats }) => {
        t.ok(statSync(join(src, 'sparse')).blocks * 512 < 1 * MiB, 'the source file really is sparse');
        for (const [f, want] of Object.entries(files)) {
          const before = stats();
          const got = await within(30_000, `read ${f}`, readFile(join(mnt, f)));
          t.equal(got.length, want.length, `${f}: length`);
          t.ok(got.equals(want), `${f}: bytes equal (zeros in the holes)`);
          const d = readDelta(before, stats());
          t.equal(d.errorReplies, 0, `${f}: no error replies`);
          if (opts.readMode === 'copy') t.equal(d.spliceReplies, 0, `${f}: copy mode did not splice`);
          else t.ok(d.spliceReplies > 0, `${f}: holes spliced (${d.spliceReplies} replies)`);
          // Unaligned reads straddling the data/hole boundaries.
          const fh = await open(join(mnt, f));
          try {
            for (const [pos, len] of [
              [50, 100],
              [MiB + 4999, 3],
              [MiB + 5000 + 9999, 4097],
              [2 * MiB - 1, 3001],
              [want.length - 10, 100],
            ] as const) {
              const buf = Buffer.alloc(len);
              const { bytesRead } = await within(10_000, `pread ${f}`, fh.read(buf, 0, len, pos));
              const exp = want.subarray(Math.min(pos, want.length), Math.min(pos + len, want.length));
              t.ok(bytesRead === exp.length && buf.subarray(0, bytesRead).equals(exp), `${f}: read at ${pos} of ${len} exact`);
            }
          } finally {
            await fh.close();
          }
        }
        // SEEK_DATA / SEEK_HOLE through the mount agree with the source.
        const before = stats().requests.LSEEK ?? 0;
        for (const f of Object.keys(files)) {
          const viaMount = await python(t, SEEK_SCRIPT, [join(mnt, f)]);
          const viaSource = await python(t, SEEK_SCRIPT, [join(src, f)]);
          t.not(viaMount, '', `${f}: lseek results through the mount`);
          t.same(JSON.parse(viaMount || '{}'), JSON.parse(viaSource || '{}'), `${f}: SEEK_DATA/SEEK_HOLE agree with the source`);
        }
        t.ok((stats().requests.LSEEK ?? 0) > before, 'LSEEK requests reached the server');
      });
    });
  }
}

// ---- offsets past 4 GiB (64-bit offsets through JS numbers and the addon) ---------------------

for (const [name, opts] of [
  ['buffered, header patch', { headerMode: 'patch' }],
  ['direct-io, header write', { directIo: true, headerMode: 'write' }],
  ['direct-io, header patch, threads 0', { directIo: true, headerMode: 'patch', threads: 0 }],
  ['direct-io, copy', { directIo: true, readMode: 'copy' }],
] as Array<[string, MountOptions]>) {
  t.test(`reads past 4 GiB in a sparse file (${name})`, async (t) => {
    const G4 = 2 ** 32;
    const chunks: Array<[number, Buffer]> = [
      [G4 - 3000, randomBytes(6000)], // across the 4 GiB boundary
      [G4 + 5 * MiB + 123, randomBytes(70_000)],
      [2 ** 33 + 1, randomBytes(100)], // 8 GiB + 1, the last bytes of the file
    ];
    const size = 2 ** 33 + 101;
    const populate = (src: string) => {
      const fd = openSync(join(src, 'big'), 'w');
      for (const [off, b] of chunks) writeSync(fd, b, 0, b.length, off);
      closeSync(fd);
    };
    await withAllSplice(t, opts, { populate }, async ({ src, mnt, stats }) => {
      t.equal(statSync(join(src, 'big')).size, size, 'an 8 GiB sparse file');
      t.equal((await stat(join(mnt, 'big'))).size, size, 'its size through the mount');
      const fh = await open(join(mnt, 'big'));
      try {
        for (const [off, b] of chunks) {
          for (const [pos, len] of [
            [off, b.length],
            [off - 10, b.length + 20],
            [off + 7, 4096],
          ]) {
            const buf = Buffer.alloc(len);
            const { bytesRead } = await within(10_000, `read at ${pos}`, fh.read(buf, 0, len, pos));
            const want = Buffer.alloc(Math.max(0, Math.min(len, size - pos)));
            // expected: zeros except where a chunk lies
            for (const [o, c] of chunks) {
              const from = Math.max(o, pos);
              const to = Math.min(o + c.length, pos + want.length);
              if (from < to) c.copy(want, from - pos, from - o, to - o);
            }
            t.ok(bytesRead === want.length && buf.subarray(0, bytesRead).equals(want), `read at ${pos} (4 GiB + ${pos - G4}) of ${len}: exact`);
          }
        }
      } finally {
        await fh.close();
      }
      const out = await python(t, SEEK_SCRIPT.replace('[0, 1, 100', `[${G4 - 4096}, ${G4 + MiB}, ${2 ** 33}, 0, 1, 100`), [join(mnt, 'big')]);
      const ref = await python(t, SEEK_SCRIPT.replace('[0, 1, 100', `[${G4 - 4096}, ${G4 + MiB}, ${2 ** 33}, 0, 1, 100`), [join(src, 'big')]);
      t.same(JSON.parse(out || '{}'), JSON.parse(ref || '{}'), 'SEEK_DATA/SEEK_HOLE past 4 GiB agree with the source');
      t.equal(stats().read.errorReplies, 0, 'no error replies');
    });
  });
}

// ---- a file that changes size while a reader has it open ---------------------------------

for (const [name, opts] of [
  ['direct-io, header patch', { directIo: true, headerMode: 'patch' }],
  ['direct-io, header write', { directIo: true, headerMode: 'write' }],
  ['direct-io, copy', { directIo: true, readMode: 'copy' }],
] as Array<[string, MountOptions]>) {
  t.test(`file truncated in the source while open: ${name}`, async (t) => {
    const data = randomBytes(MiB);
    await withAllSplice(t, opts, { populate: (s) => writeFileSync(join(s, 'f'), data) }, async ({ src, mnt, stats }) => {
      const fh = await open(join(mnt, 'f'));
      try {
        const buf = Buffer.alloc(MiB);
        let r = await within(10_000, 'first read', fh.read(buf, 0, 65536, 0));
        t.equal(r.bytesRead, 65536);
        t.ok(buf.subarray(0, 65536).equals(data.subarray(0, 65536)), 'first read exact');

        truncateSync(join(src, 'f'), 100_000);
        const before = stats();
        r = await within(10_000, 'read after truncate', fh.read(buf, 0, MiB, 0));
        t.equal(r.bytesRead, 100_000, 'a whole-file read gets the short data');
        t.ok(buf.subarray(0, r.bytesRead).equals(data.subarray(0, 100_000)), 'and the bytes are the source bytes');
        r = await within(10_000, 'read across the new EOF', fh.read(buf, 0, 8192, 96_000));
        t.equal(r.bytesRead, 4000, 'read across the new EOF is short');
        t.ok(buf.subarray(0, 4000).equals(data.subarray(96_000, 100_000)), 'bytes exact');
        r = await within(10_000, 'read past the new EOF', fh.read(buf, 0, 4096, 200_000));
        t.equal(r.bytesRead, 0, 'read past the new EOF gets nothing');

        truncateSync(join(src, 'f'), 0);
        r = await within(10_000, 'read after truncate to 0', fh.read(buf, 0, 4096, 0));
        t.equal(r.bytesRead, 0, 'truncated to 0: nothing, no error');

        const d = readDelta(before, stats());
        t.equal(d.errorReplies, 0, 'no error replies');
        if (opts.readMode === 'copy') t.equal(d.spliceReplies, 0, 'copy mode did not splice');
        else t.ok(d.spliceReplies > 0, `spliced (${d.spliceReplies})`);
      } finally {
        await fh.close();
      }
    });
  });
}

t.test('file truncated in the source while open, buffered with a long attribute cache', async (t) => {
  const data = randomBytes(MiB);
  for (const headerMode of ['patch', 'write'] as const) {
    await withAllSplice(t, { timeout: 60, headerMode }, { populate: (s) => writeFileSync(join(s, 'f'), data) }, async ({ src, mnt }) => {
      const fh = await open(join(mnt, 'f'));
      try {
        t.equal((await fh.stat()).size, MiB, `${headerMode}: the kernel caches the old size`);
        truncateSync(join(src, 'f'), 100_000);
        const buf = Buffer.alloc(MiB);
        const r = await within(10_000, 'read after truncate', fh.read(buf, 0, MiB, 0));
        t.ok(r.bytesRead <= MiB, `${headerMode}: no hang, no error (${r.bytesRead} bytes)`);
        t.ok(buf.subarray(0, Math.min(r.bytesRead, 100_000)).equals(data.subarray(0, Math.min(r.bytesRead, 100_000))), `${headerMode}: the source's bytes`);
        t.ok(buf.subarray(100_000, r.bytesRead).every((x) => x === 0), `${headerMode}: nothing but zeros past the real EOF`);
      } finally {
        await fh.close();
      }
    });
  }
});

// A writer shrinks and regrows the source (same content) while reads run through a direct-io
// mount: every reply must be a correct prefix, whatever the header strategy.
const CHURN = `
import os, sys, random, time
p, secs = sys.argv[1], float(sys.argv[2])
data = open(p, 'rb').read()
fd = os.open(p, os.O_WRONLY)
end = time.time() + secs
n = 0
while time.time() < end:
    cut = random.randrange(0, len(data))
    os.ftruncate(fd, cut)
    os.pwrite(fd, data[cut:], cut)
    n += 1
os.close(fd)
print(n)
`;
for (const [name, opts] of [
  ['header patch', { directIo: true, headerMode: 'patch' }],
  ['header write', { directIo: true, headerMode: 'write' }],
] as Array<[string, MountOptions]>) {
  t.test(`reads while the source shrinks and regrows (direct-io, ${name})`, async (t) => {
    const data = randomBytes(2 * MiB);
    await withAllSplice(t, opts, { populate: (s) => writeFileSync(join(s, 'f'), data) }, async ({ src, mnt, stats }) => {
      const writer = python(t, CHURN, [join(src, 'f'), '2']);
      const fh = await open(join(mnt, 'f'));
      let reads = 0;
      let bad = 0;
      let short = 0;
      let zeroed = 0;
      const t0 = Date.now();
      try {
        const buf = Buffer.alloc(256 * 1024);
        while (Date.now() - t0 < 2000) {
          const pos = Math.floor(Math.random() * (data.length - 1000));
          const len = 1 + Math.floor(Math.random() * buf.length);
          const { bytesRead } = await within(10_000, 'read under churn', fh.read(buf, 0, len, pos));
          reads++;
          if (bytesRead < Math.min(len, data.length - pos)) short++;
          const got = buf.subarray(0, bytesRead);
          const want = data.subarray(pos, pos + bytesRead);
          if (!got.equals(want)) {
            // A spliced page is shared, not copied: if the writer's truncate zeroes the tail of
            // a page while it sits in the pipe, the reply carries those zeros. Any other byte
            // that differs from the source is a bug.
            let foreign = false;
            for (let i = 0; i < got.length; i++) if (got[i] !== want[i] && got[i] !== 0) foreign = true;
            if (foreign) bad++;
            else zeroed++;
          }
        }
      } finally {
        await fh.close();
      }
      const rounds = Number((await writer).trim());
      t.ok(rounds > 0, `the writer churned ${rounds} times`);
      t.ok(reads > 50, `${reads} reads ran (${short} short)`);
      t.equal(bad, 0, `every read returned a prefix of the source (${zeroed} with truncation zeros)`);
      const s = stats().read;
      t.equal(s.errorReplies, 0, 'no error replies');
      t.ok(s.spliceReplies > 0, `spliced (${s.spliceReplies}; shortData fallbacks ${s.fallbacks.shortData})`);
      t.equal(s.fallbacks.spliceError + s.fallbacks.pipeFull, 0, 'no pipe errors');
    });
  });
}

// ---- concurrent readers ------------------------------------------------------------------

for (const [name, opts] of [
  ['buffered', {}],
  ['direct-io', { directIo: true }],
  ['copy', { readMode: 'copy' }],
  ['direct-io, threads 0', { directIo: true, threads: 0 }],
  ['direct-io, threads 2', { directIo: true, threads: 2 }],
  ['buffered, threads 2, header write', { threads: 2, headerMode: 'write' }],
] as Array<[string, MountOptions]>) {
  t.test(`4 concurrent readers (${name})`, async (t) => {
    const files = [0, 1, 2, 3].map((i) => randomBytes(6 * MiB + i * 4099));
    const populate = (s: string) => files.forEach((b, i) => writeFileSync(join(s, `f${i}`), b));
    await withAllSplice(t, opts, { populate }, async ({ mnt, stats }) => {
      // Same file, four readers (cat, dd with two block sizes, python).
      const same = join(mnt, 'f0');
      const readers = [
        run('cat', [same]),
        run('dd', [`if=${same}`, 'bs=1M', 'status=none']),
        run('dd', [`if=${same}`, 'bs=4096', 'status=none']),
        run('python3', ['-c', 'import sys; sys.stdout.buffer.write(open(sys.argv[1], "rb").read())', same]),
      ];
      const res = await within(60_000, 'same-file readers', Promise.all(readers));
      res.forEach((r, i) => {
        t.equal(r.code, 0, `same file, reader ${i} exited 0`);
        t.equal(sha(r.stdout), sha(files[0]), `same file, reader ${i}: bytes exact`);
      });
      // Different files, four readers at once.
      const res2 = await within(
        60_000,
        'different-file readers',
        Promise.all(files.map((_b, i) => run('cat', [join(mnt, `f${i}`)]))),
      );
      res2.forEach((r, i) => {
        t.equal(r.code, 0, `file f${i}: exited 0`);
        t.equal(sha(r.stdout), sha(files[i]), `file f${i}: bytes exact`);
      });
      const s = stats().read;
      t.equal(s.errorReplies, 0, 'no error replies');
      if (opts.readMode === 'copy') t.equal(s.spliceReplies, 0, 'copy mode: no splice');
      else t.ok(s.spliceReplies > 0, `spliced (${s.spliceReplies})`);
    });
  });
}

// ---- mmap --------------------------------------------------------------------------------

const MMAP_SCRIPT = `
import mmap, os, sys, hashlib, json
p = sys.argv[1]
fd = os.open(p, os.O_RDONLY)
size = os.fstat(fd).st_size
out = {}
for name, access in (("shared", mmap.ACCESS_READ), ("private", mmap.ACCESS_COPY)):
    m = mmap.mmap(fd, 0, access=access)
    out[name] = hashlib.sha256(m[:]).hexdigest()
    out[name + "_slices"] = [hashlib.sha256(m[a:a + n]).hexdigest() for a, n in ((1, 4095), (4095, 8193), (size - 100, 200), (size // 2 + 7, 300000))]
    m.close()
# an mmap at a nonzero page offset
m = mmap.mmap(fd, size - 8192, offset=8192, access=mmap.ACCESS_READ)
out["offset8192"] = hashlib.sha256(m[:]).hexdigest()
m.close()
os.close(fd)
print(json.dumps(out))
`;

for (const [name, opts] of [
  ['buffered', {}],
  ['direct-io', { directIo: true }],
  ['copy', { readMode: 'copy' }],
] as Array<[string, MountOptions]>) {
  t.test(`mmap reads (${name})`, async (t) => {
    const data = randomBytes(5 * MiB + 123);
    await withAllSplice(t, opts, { populate: (s) => writeFileSync(join(s, 'f'), data) }, async ({ mnt, stats }) => {
      const before = stats();
      const out = await python(t, MMAP_SCRIPT, [join(mnt, 'f')]);
      const got = JSON.parse(out || '{}') as Record<string, string | string[]>;
      const slices = [
        [1, 4095],
        [4095, 8193],
        [data.length - 100, 200],
        [Math.floor(data.length / 2) + 7, 300000],
      ].map(([a, n]) => sha(data.subarray(a, a + n)));
      for (const kind of ['shared', 'private']) {
        t.equal(got[kind], sha(data), `${kind} mapping: whole file exact`);
        t.same(got[`${kind}_slices`], slices, `${kind} mapping: slices exact`);
      }
      t.equal(got.offset8192, sha(data.subarray(8192)), 'mapping at offset 8192 exact');
      const d = readDelta(before, stats());
      t.ok(d.spliceBytes + d.copyBytes >= data.length, `the server sent the pages (${d.spliceBytes + d.copyBytes} bytes)`);
      t.equal(d.errorReplies, 0, 'no error replies');
      if (opts.readMode === 'copy') t.equal(d.spliceReplies, 0, 'copy mode: no splice');
      else t.ok(d.spliceReplies > 0, `page faults served by splice (${d.spliceReplies})`);
    });
  });
}

// ---- O_DIRECT ----------------------------------------------------------------------------

const ODIRECT_SCRIPT = `
import mmap, os, sys, hashlib, json
p = sys.argv[1]
fd = os.open(p, os.O_RDONLY | os.O_DIRECT)
size = os.fstat(fd).st_size
out = {}
def read_at(off, n):
    buf = mmap.mmap(-1, n)  # page-aligned anonymous memory, as O_DIRECT wants
    got = os.preadv(fd, [buf], off)
    return hashlib.sha256(buf[:got]).hexdigest(), got
# whole file in 1 MiB and 4 KiB aligned blocks
for bs in (1048576, 4096, 1040384):
    h = hashlib.sha256()
    off = 0
    while True:
        buf = mmap.mmap(-1, bs)
        got = os.preadv(fd, [buf], off)
        if got <= 0:
            break
        h.update(buf[:got])
        off += got
    out["whole_%d" % bs] = h.hexdigest()
out["at4096"] = read_at(4096, 65536)
out["tail"] = read_at((size // 4096) * 4096 - 4096, 3 * 4096)
out["past"] = read_at(((size + 8191) // 4096) * 4096, 4096)
os.close(fd)
print(json.dumps(out))
`;

for (const [name, opts] of [
  ['buffered mount', {}],
  ['direct-io mount', { directIo: true }],
  ['copy', { readMode: 'copy' }],
  ['16-page pipe', { pipePages: 16 }],
] as Array<[string, MountOptions]>) {
  t.test(`O_DIRECT reads (${name})`, async (t) => {
    const data = randomBytes(9 * MiB + 1234);
    await withAllSplice(t, opts, { populate: (s) => writeFileSync(join(s, 'f'), data) }, async ({ mnt, stats }) => {
      const f = join(mnt, 'f');
      const before = stats();
      for (const bs of ['1M', '4096', '256K']) {
        const r = await run('dd', [`if=${f}`, 'iflag=direct', `bs=${bs}`, 'status=none'], { timeoutMs: 60_000 });
        t.equal(r.code, 0, `dd iflag=direct bs=${bs} exited 0`, { stderr: r.stderr.toString() });
        t.equal(sha(r.stdout), sha(data), `dd iflag=direct bs=${bs}: bytes exact`);
      }
      const r = await run('dd', [`if=${f}`, 'iflag=direct', 'bs=4096', 'skip=3', 'count=5', 'status=none']);
      t.equal(sha(r.stdout), sha(data.subarray(3 * 4096, 8 * 4096)), 'dd iflag=direct skip=3 count=5: exact');
      const d = readDelta(before, stats());
      t.ok(d.spliceBytes + d.copyBytes >= 3 * data.length, 'every O_DIRECT read reached the server');
      if (opts.readMode === 'copy') t.equal(d.spliceReplies, 0, 'copy: no splice');
      else t.ok(d.spliceReplies > 0, `spliced (${d.spliceReplies})`);
      if (opts.pipePages === 16) t.ok(d.pipeTooSmall > 0, `1 MiB requests did not fit 16 slots (${d.pipeTooSmall})`);

      const out = JSON.parse((await python(t, ODIRECT_SCRIPT, [f])) || '{}') as Record<string, unknown>;
      for (const bs of [1048576, 4096, 1040384]) t.equal(out[`whole_${bs}`], sha(data), `python O_DIRECT, ${bs}-byte blocks: exact`);
      t.same(out.at4096, [sha(data.subarray(4096, 4096 + 65536)), 65536], 'python O_DIRECT at 4096: exact');
      const tailOff = Math.floor(data.length / 4096) * 4096 - 4096;
      const tail = data.subarray(tailOff, tailOff + 3 * 4096);
      t.same(out.tail, [sha(tail), tail.length], 'python O_DIRECT across EOF: short and exact');
      t.same(out.past, [sha(Buffer.alloc(0)), 0], 'python O_DIRECT past EOF: nothing');
      t.equal(stats().read.errorReplies, 0, 'no error replies');
    });
  });
}

// ---- short data: a sysfs file claims 4096 bytes and holds fewer ---------------------------

const SYSFS_DIR = '/sys/kernel/mm/transparent_hugepage';
const SYSFS_FILES = ['enabled', 'defrag', 'hpage_pmd_size', 'shmem_enabled', 'use_zero_page'];

t.test('sysfs: st_size 4096, fewer bytes (short data)', async (t) => {
  const present = SYSFS_FILES.filter((f) => {
    try {
      return statSync(join(SYSFS_DIR, f)).size === 4096;
    } catch {
      return false;
    }
  });
  t.ok(present.length >= 2, `sysfs files with st_size 4096 exist in ${SYSFS_DIR}: ${present.join(' ')}`);
  for (const headerMode of ['write', 'patch'] as const) {
    await withAllSplice(t, { headerMode }, { source: SYSFS_DIR }, async ({ mnt, stats }) => {
      for (const f of present) {
        const want = readFileSync(join(SYSFS_DIR, f));
        t.ok(want.length > 0 && want.length < 4096, `${f}: the source holds ${want.length} bytes, not 4096`);
        const before = stats();
        const got = await within(10_000, `read ${f}`, readFile(join(mnt, f)));
        t.ok(got.equals(want), `${headerMode}: ${f}: bytes equal the source's`);
        const d = readDelta(before, stats());
        t.equal(d.errorReplies, 0, `${headerMode}: ${f}: no error replies`);
        if (headerMode === 'write') {
          t.ok(d.shortData > 0, `write: ${f}: short data detected (${d.shortData}) and...`);
          t.ok(d.copyReplies > 0, `write: ${f}: ...sent by copy`);
        } else {
          t.ok(d.spliceReplies > 0, `patch: ${f}: spliced with the header patched`);
          t.equal(d.shortData + d.copyReplies, 0, `patch: ${f}: no short-data fallback, no copy`);
        }
      }
    });
  }
});

// ---- files with no splice_read ------------------------------------------------------------
// Probed on this kernel (6.18): splice(2) from /proc/PID/{cmdline,environ,stat,status,maps},
// /proc/kallsyms, /proc/bus/input/devices fails with EINVAL (their file_operations have no
// splice_read), while /proc/version, /proc/meminfo and sysfs attributes splice fine. Those
// /proc files report st_size 0, so only a direct-io mount sends READ for them.

const PROBE_SPLICE = `
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
r, w = os.pipe()
try:
    os.splice(fd, w, 65536)
    print("ok")
except OSError as e:
    print("E%d" % e.errno)
`;

for (const [readMode, threads] of [
  ['auto', 1],
  ['auto', 0],
  ['splice', 1],
  ['splice', 0],
] as const) {
  t.test(`a file with no splice_read (/proc/PID/cmdline, environ), read mode ${readMode}, threads ${threads}`, async (t) => {
    // A process of our own, with a known argv and an environment longer than a page.
    const child = spawn('sleep', ['600'], {
      env: { SPLICEFS_MARKER: 'x'.repeat(6000), PATH: process.env.PATH ?? '/usr/bin:/bin' },
      stdio: 'ignore',
    });
    t.teardown(() => {
      child.kill('SIGKILL');
    });
    const pid = child.pid!;
    const dir = `/proc/${pid}`;
    const probe = (await python(t, PROBE_SPLICE, [`${dir}/cmdline`])).trim();
    t.equal(probe, 'E22', 'splice(2) from /proc/PID/cmdline fails with EINVAL on this kernel');
    await withAllSplice(t, { directIo: true, readMode, threads }, { source: dir }, async ({ mnt, stats }) => {
      for (const [i, f] of ['cmdline', 'environ', 'cmdline', 'environ'].entries()) {
        const again = i >= 2 ? ' (again, a new open)' : '';
        const want = readFileSync(join(dir, f));
        const before = stats();
        const got = await within(10_000, `read ${f}`, readFile(join(mnt, f)));
        t.ok(got.equals(want), `${f}${again}: ${got.length} bytes, equal to the source's ${want.length}`);
        const d = readDelta(before, stats());
        t.equal(d.errorReplies, 0, `${f}${again}: no error replies`);
        t.ok(d.copyReplies > 0, `${f}${again}: served by copy`);
        t.equal(d.spliceReplies, 0, `${f}${again}: nothing spliced`);
        if (i < 2) t.ok(d.noSpliceRead > 0, `${f}: the no-splice_read fallback is counted (${d.noSpliceRead})`);
        // In a splicing mode every copy reply has a counted reason: here, no splice_read.
        t.equal(d.copyReplies, d.noSpliceRead, `${f}${again}: every copy reply counted as a no-splice_read fallback`);
      }
      // A child reads it too, in small pieces at offsets.
      const r = await run('dd', [`if=${join(mnt, 'environ')}`, 'bs=100', 'status=none']);
      t.ok(r.stdout.equals(readFileSync(join(dir, 'environ'))), 'dd bs=100 of environ: exact');
    });
  });
}

// ---- st_size 0, yet data: procfs files that do splice ----------------------------------------
// /proc/sys/kernel/{ostype,osrelease,hostname} report st_size 0 and splice fine. Only a
// direct-io mount sends READ for them (the kernel trusts i_size 0 otherwise). Every header
// strategy must return their bytes: the size from fstat is not a promise about the data.

const PROC_SYS = '/proc/sys/kernel';
for (const [headerMode, threads] of [
  ['write', 1],
  ['write', 0],
  ['patch', 1],
  ['patch', 0],
] as const) {
  t.test(`st_size 0 files with data (${PROC_SYS}), direct-io, header ${headerMode}, threads ${threads}`, async (t) => {
    await withAllSplice(t, { directIo: true, headerMode, threads }, { source: PROC_SYS }, async ({ mnt, stats }) => {
      for (const f of ['ostype', 'osrelease', 'hostname']) {
        t.equal(statSync(join(PROC_SYS, f)).size, 0, `${f}: st_size 0 in the source`);
        const want = readFileSync(join(PROC_SYS, f));
        t.ok(want.length > 0, `${f}: holds ${want.length} bytes`);
        const before = stats();
        const got = await within(10_000, `read ${f}`, readFile(join(mnt, f)));
        t.equal(got.toString(), want.toString(), `${f}: the bytes through the mount`);
        const d = readDelta(before, stats());
        t.equal(d.errorReplies, 0, `${f}: no error replies`);
      }
    });
  });
}

// ---- a reader killed in the middle of its reads -------------------------------------------

const READ_FOREVER = `
import os, sys, mmap
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 1048576)
print("reading", flush=True)
while True:
    off = 0
    while os.preadv(fd, [buf], off) > 0:
        off += 1048576
`;

for (const [name, opts] of [
  ['threads 1', {}],
  ['threads 0', { threads: 0 }],
] as Array<[string, MountOptions]>) {
  t.test(`readers killed mid-read leave the server serving (${name})`, async (t) => {
    const data = randomBytes(32 * MiB);
    await withAllSplice(t, opts, { populate: (s) => writeFileSync(join(s, 'f'), data) }, async ({ mnt, stats }) => {
      for (let round = 0; round < 5; round++) {
        const child = spawn('python3', ['-c', READ_FOREVER, join(mnt, 'f')], { stdio: ['ignore', 'pipe', 'ignore'] });
        const exited = new Promise((res) => child.on('exit', res));
        await within(10_000, 'reader started', new Promise<void>((res) => child.stdout!.once('data', () => res())));
        await new Promise((res) => setTimeout(res, 50 + round * 40));
        child.kill(round % 2 ? 'SIGKILL' : 'SIGINT');
        await within(10_000, 'reader exit', exited);
      }
      const got = await within(30_000, 'read after the kills', readFile(join(mnt, 'f')));
      t.ok(got.equals(data), 'a whole-file read afterwards is exact');
      const s = stats();
      t.ok(s.read.spliceBytes + s.read.copyBytes > data.length, 'the killed readers were being served');
      t.equal(s.read.errorReplies, 0, 'no error replies');
      t.type(s.interrupted, 'number', `stats report interrupted replies (${s.interrupted})`);
    });
  });
}

leftoverCheck(t);
