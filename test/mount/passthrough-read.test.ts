// Kernel passthrough (FUSE_PASSTHROUGH) through a real mount, with read mode passthrough and with
// the default (auto, which takes it where the kernel does): reads of every shape (whole, at
// offsets, O_DIRECT, mmap) and writes of every shape (pwrite, append, ftruncate, mmap + msync)
// give the source's bytes and land in the source, while no READ or WRITE request reaches the
// server (its READ and WRITE counters stay put, the passthrough opens move); a file made by
// CREATE passes through too; two handles of one file share one backing id, closed with the
// last of them.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import type { MountOptions } from '../../src/index.js';
import { scratch } from '../helpers/mirror.js';
import { leftoverCheck, run, withMount } from '../helpers/mount.js';
import { moved, ptDelta, py, settle, sha, type PtDelta } from '../helpers/passthrough.js';
import { python } from '../helpers/python.js';

const MiB = 1024 * 1024;
const MMAP_SCRIPT = fileURLToPath(new URL('../scripts/mmap_read.py', import.meta.url));
const ODIRECT_SCRIPT = fileURLToPath(new URL('../scripts/odirect_read.py', import.meta.url));

/** Nothing of it reached the server, and no open fell back. */
function allPassedThrough(t: Test, d: PtDelta, what: string): void {
  t.equal(d.readReplies, 0, `${what}: no READ reply (splice or copy) from the server`, { d });
  t.equal(d.readRequests, 0, `${what}: no READ request reached the server`);
  t.equal(d.writeRequests, 0, `${what}: no WRITE request reached the server`);
  const fallbacks = [d.notOffered, d.writebackCache, d.noCapability, d.notStackable, d.directIo, d.openThroughServer, d.backingError];
  t.same(fallbacks, [0, 0, 0, 0, 0, 0, 0], `${what}: no open fell back`);
}

/** Does the source's filesystem take O_DIRECT opens? */
async function odirectOk(path: string): Promise<boolean> {
  const r = await run('python3', ['-c', 'import os,sys; os.close(os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECT))', path]);
  return r.code === 0;
}

// The writes, done on the mount's file and on a plain copy of it: pwrite inside and past EOF,
// ftruncate up and down, an O_APPEND write, a shared mapping written and msync'ed. Prints the
// size os.stat sees after each run, as JSON.
const WRITES = `import mmap, os, sys, json
def ops(p):
    size = os.stat(p).st_size
    fd = os.open(p, os.O_RDWR)
    assert os.pwrite(fd, b'A' * 5000, 100) == 5000
    assert os.pwrite(fd, b'B' * 3, size + 4096) == 3
    os.ftruncate(fd, size + 100000)
    os.ftruncate(fd, size - 777)
    os.close(fd)
    fd = os.open(p, os.O_WRONLY | os.O_APPEND)
    assert os.write(fd, b'appended at the end') == 19
    os.close(fd)
    fd = os.open(p, os.O_RDWR)
    m = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    m[4096:4106] = b'mmapwrite!'
    m[len(m) - 3:] = b'END'
    m.flush()
    m.close()
    os.close(fd)
    return os.stat(p).st_size
print(json.dumps([ops(sys.argv[1]), ops(sys.argv[2])]))
`;

// A file made through the mount by CREATE (O_CREAT|O_EXCL), written in chunks and read back
// through the same descriptor; then one made by open(O_CREAT|O_TRUNC), written once.
const CREATE = `import hashlib, os, sys, json
p, q = sys.argv[1], sys.argv[2]
data = bytes((i * 7) % 251 for i in range(2 * 1048576 + 3))
fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
off = 0
while off < len(data):
    off += os.pwrite(fd, data[off:off + 300000], off)
back = os.pread(fd, len(data) + 10, 0)
os.close(fd)
with open(q, 'wb') as f:
    f.write(data[:12345])
print(json.dumps([hashlib.sha256(data).hexdigest(), hashlib.sha256(back).hexdigest(), len(back)]))
`;

const MODES: Array<[string, MountOptions]> = [
  ['read mode passthrough', { readMode: 'passthrough' }],
  ['the default (auto)', {}],
];

for (const [name, opts] of MODES) {
  t.test(`${name}: reads pass through the kernel, exact, no READ reaches the server`, async (t) => {
    const data = randomBytes(5 * MiB + 123);
    await withMount(t, opts, { populate: (s) => writeFileSync(join(s, 'f'), data) }, async (m) => {
      t.equal(m.handle.info.passthrough, 'on', 'info.passthrough: on');
      const f = join(m.mnt, 'f');
      const d = await moved(m, async () => {
        t.ok((await readFile(f)).equals(data), 'whole-file read: exact');
        const fh = await open(f);
        try {
          for (const [pos, len] of [[0, 4096], [1, 300000], [4095, 8193], [MiB - 1, 2 * MiB], [data.length - 100, 300], [Math.floor(data.length / 2) + 7, 65536]] as const) {
            const buf = Buffer.alloc(len);
            const { bytesRead } = await fh.read(buf, 0, len, pos);
            const want = data.subarray(pos, pos + len);
            t.ok(bytesRead === want.length && buf.subarray(0, bytesRead).equals(want), `read at ${pos} of ${len}: exact (${bytesRead} bytes)`);
          }
          t.equal((await fh.read(Buffer.alloc(10), 0, 10, data.length + 5)).bytesRead, 0, 'a read past EOF: nothing');
        } finally {
          await fh.close();
        }
        const mm = JSON.parse((await python(t, MMAP_SCRIPT, [f])) || '{}') as Record<string, unknown>;
        for (const kind of ['shared', 'private']) t.equal(mm[kind], sha(data), `mmap (${kind}): whole file exact`);
        t.equal(mm.offset8192, sha(data.subarray(8192)), 'mmap at offset 8192: exact');
      });
      t.ok(d.opens >= 3, `the opens passed through (${d.opens})`);
      t.ok(d.backingOpens >= 1, `backing ids registered (${d.backingOpens})`);
      allPassedThrough(t, d, 'buffered reads and mmap');

      if (await odirectOk(join(m.src, 'f'))) {
        const od = await moved(m, async () => {
          const out = JSON.parse((await python(t, ODIRECT_SCRIPT, [f])) || '{}') as Record<string, unknown>;
          for (const bs of [1048576, 4096, 1040384]) t.equal(out[`whole_${bs}`], sha(data), `O_DIRECT, ${bs}-byte blocks: exact`);
          t.same(out.at4096, [sha(data.subarray(4096, 4096 + 65536)), 65536], 'O_DIRECT at 4096: exact');
          const tailOff = Math.floor(data.length / 4096) * 4096 - 4096;
          const tail = data.subarray(tailOff, tailOff + 3 * 4096);
          t.same(out.tail, [sha(tail), tail.length], 'O_DIRECT across EOF: short and exact');
        });
        t.equal(od.opens, 1, 'the O_DIRECT open passed through');
        allPassedThrough(t, od, 'O_DIRECT reads');
      } else {
        t.comment('the source filesystem refuses O_DIRECT: no O_DIRECT reads');
      }
      const end = await settle(m, 0);
      t.equal(end.passthrough.backingIds, 0, 'all files closed: no backing id left');
      t.equal(end.passthrough.backingCloses, end.passthrough.backingOpens, 'every backing id registered was closed');
    });
  });

  t.test(`${name}: writes through a passthrough handle land in the source, no WRITE reaches the server`, async (t) => {
    const data = randomBytes(3 * MiB + 5);
    const ref = scratch(t, 'pt-ref');
    await withMount(t, opts, { populate: (s) => writeFileSync(join(s, 'g'), data) }, async (m) => {
      copyFileSync(join(m.src, 'g'), join(ref, 'g'));
      const d = await moved(m, async () => {
        const sizes = JSON.parse((await py(t, WRITES, [join(m.mnt, 'g'), join(ref, 'g')])) || '[]') as number[];
        t.equal(sizes.length, 2, 'the writes ran on both');
        t.equal(sizes[0], sizes[1], `os.stat through the mount after the writes: ${sizes[0]} bytes, as on the plain copy`);
      });
      const want = readFileSync(join(ref, 'g'));
      const got = readFileSync(join(m.src, 'g'));
      t.ok(got.equals(want), `the source holds what the same writes made of a plain copy (${got.length} bytes, want ${want.length})`);
      t.equal((await stat(join(m.mnt, 'g'))).size, want.length, 'stat through the mount: the size after the writes');
      t.ok(d.opens >= 3, `the opens passed through (${d.opens})`);
      allPassedThrough(t, d, 'pwrite, append, ftruncate, mmap write');
      // Whatever the kernel still holds of the file: a read through the mount now is the source.
      t.ok((await readFile(join(m.mnt, 'g'))).equals(want), 'read back through the mount: the written bytes');
    });
  });

  t.test(`${name}: a file made by CREATE passes through`, async (t) => {
    await withMount(t, opts, {}, async (m) => {
      const before = await settle(m, 0);
      let out: [string, string, number] = ['', '', 0];
      const d = await moved(m, async () => {
        out = JSON.parse((await py(t, CREATE, [join(m.mnt, 'new'), join(m.mnt, 'trunc')])) || '["","",0]') as [string, string, number];
      });
      const after = m.stats();
      t.ok((after.requests.CREATE ?? 0) - (before.requests.CREATE ?? 0) >= 2, 'the files were made by CREATE');
      t.equal(out[1], out[0], 'read back through the creating descriptor: what was written');
      t.equal(out[2], 2 * MiB + 3, 'all of it');
      t.equal(sha(readFileSync(join(m.src, 'new'))), out[0], 'the source holds it');
      t.equal(readFileSync(join(m.src, 'trunc')).length, 12345, 'and the second file');
      t.ok(d.opens >= 2, `the CREATEd files passed through (${d.opens} opens)`);
      t.ok(d.backingOpens >= 2, `a backing id each (${d.backingOpens})`);
      allPassedThrough(t, d, 'CREATE and write');
    });
  });

  t.test(`${name}: two handles of one file share one backing id, closed after the last`, async (t) => {
    const data = randomBytes(MiB + 7);
    await withMount(t, opts, { populate: (s) => writeFileSync(join(s, 'f'), data) }, async (m) => {
      const f = join(m.mnt, 'f');
      const before = await settle(m, 0);
      const r = await open(f, 'r');
      const w = await open(f, 'r+');
      try {
        const both = ptDelta(before, await settle(m, 2));
        t.equal(both.opens, 2, 'both opens passed through');
        t.equal(both.backingOpens, 1, 'one backing id registered');
        t.equal(both.backingIds, 1, 'one backing id open');
        t.equal((await w.write(Buffer.from('XYZ'), 0, 3, 10)).bytesWritten, 3, 'a write through the O_RDWR handle');
        const buf = Buffer.alloc(16);
        await r.read(buf, 0, 16, 0);
        const want = Buffer.from(data.subarray(0, 16));
        want.write('XYZ', 10);
        t.ok(buf.equals(want), 'the O_RDONLY handle reads it');
        t.ok(readFileSync(join(m.src, 'f')).subarray(0, 16).equals(want), 'and so does the source');
      } finally {
        await r.close();
        const one = ptDelta(before, await settle(m, 1));
        t.equal(one.backingIds, 1, 'one handle closed: the id stays');
        t.equal(one.backingCloses, 0, 'nothing closed yet');
        await w.close();
      }
      const after = ptDelta(before, await settle(m, 0));
      t.equal(after.backingIds, 0, 'both closed: no backing id left');
      t.equal(after.backingCloses, 1, 'the id was closed once');
      t.equal(after.backingOpens, 1, 'and registered once');
      allPassedThrough(t, after, 'two handles');
    });
  });
}

leftoverCheck(t);
