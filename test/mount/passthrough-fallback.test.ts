// Where kernel passthrough is not used or refused, each reason is counted and the data still
// comes right through the server: read mode splice (not asked), the writeback cache (not granted
// at INIT; `set read-mode passthrough` refused), a source that is itself a splicefs mount (ELOOP:
// notStackable, and the lower mount passes its reads through), a backing open refused with EPERM
// (noCapability: the whole mount stops asking), ELOOP (notStackable) or EIO (backingError),
// direct I/O, and the kernel's one-I/O-mode-per-inode rule both ways with no EIO to the caller
// (also where a direct-I/O handle's shared mapping puts the inode in the caching mode).
// Every case proves its counter moved AND the READ counters moved for the bytes read.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { randomBytes } from 'node:crypto';
import { readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { addon } from '../../src/addon.js';
import type { MountOptions, Stats } from '../../src/index.js';
import { startCliServer } from '../helpers/control.js';
import { statsJson } from '../helpers/control.js';
import { freshDir, isMounted, leftoverCheck, within, withMount, type Mounted } from '../helpers/mount.js';
import { moved, ptDelta, py, settle, type PtDelta } from '../helpers/passthrough.js';

const E = constants.errno;
const MiB = 1024 * 1024;
const FILES = ['f0', 'f1', 'f2', 'f3'];
const data = new Map(FILES.map((f, i) => [f, randomBytes(2 * MiB + 1000 * i + 1)]));
const populate = (src: string) => {
  for (const [f, b] of data) writeFileSync(join(src, f), b);
};

const disarm = () => void addon.injectFault('backing', 0, 0);
t.afterEach(disarm);
t.teardown(disarm);

/** Read `name` whole through the mount: exact. */
async function readExact(t: Test, mnt: string, name: string, what: string): Promise<void> {
  const got = await within(30_000, `read ${name}`, readFile(join(mnt, name)));
  t.ok(got.equals(data.get(name)!), `${what}: ${name} read through the mount is exact`);
}

/** The bytes went through the server: READ requests and replies moved, nothing passed through. */
function throughServer(t: Test, d: PtDelta, what: string): void {
  t.ok(d.readReplies > 0, `${what}: the server sent READ replies (${d.readReplies})`, { d });
  t.ok(d.readRequests > 0, `${what}: READ requests reached the server (${d.readRequests})`);
  t.equal(d.opens, 0, `${what}: no open passed through`);
  t.equal(d.backingOpens, 0, `${what}: no backing id registered`);
}

/** Read `names` whole (each opened anew), with the counter deltas of it all. */
async function readAll(t: Test, m: Mounted, names: string[], what: string): Promise<PtDelta> {
  return moved(m, async () => {
    for (const n of names) await readExact(t, m.mnt, n, what);
  });
}

t.test('read mode splice: passthrough unused, READs spliced', async (t) => {
  await withMount(t, { readMode: 'splice' }, { populate }, async (m) => {
    t.equal(m.handle.info.passthrough, 'unused', "info.passthrough: 'unused'");
    const d = await readAll(t, m, ['f0', 'f1'], 'splice');
    throughServer(t, d, 'splice');
    t.ok(d.spliceReplies > 0, `spliced (${d.spliceReplies})`);
    t.same([d.notOffered, d.writebackCache, d.noCapability, d.notStackable, d.directIo, d.openThroughServer, d.backingError], [0, 0, 0, 0, 0, 0, 0], 'not asked for: no fallback counted');
  });
});

t.test('the writeback cache: passthrough off mount-wide, counted, READs spliced; set read-mode passthrough refused', async (t) => {
  await withMount(t, { readMode: 'passthrough', writebackCache: true } as MountOptions, { populate }, async (m) => {
    t.equal(m.handle.info.passthrough, 'writebackCache', "info.passthrough: 'writebackCache'");
    const d = await readAll(t, m, ['f0', 'f1'], 'writeback cache');
    throughServer(t, d, 'writeback cache');
    t.equal(d.writebackCache, 2, 'fallbacks.writebackCache counted each open');
    t.ok(d.spliceReplies > 0, `data by splice (${d.spliceReplies})`);
    let msg = '';
    t.throws(() => {
      try {
        m.handle.setReadMode('passthrough');
      } catch (err) {
        msg = (err as Error).message;
        throw err;
      }
    }, 'setReadMode(passthrough) throws');
    t.match(msg, /writeback/, `it says why: ${msg}`);
    t.notMatch(msg, /\n/, 'in one line');
  });
});

t.test('a source that is itself a splicefs mount: notStackable on the upper, the lower passes through', async (t) => {
  await withMount(t, {}, { populate }, async (a) => {
    t.equal(a.handle.info.passthrough, 'on', 'the lower mount (A) passes through');
    const mntB = freshDir('stacked-mnt');
    t.teardown(() => {
      if (!isMounted(mntB)) rmdirSync(mntB);
    });
    // B is served by another process: its server's calls into A wait for A's server, which is
    // this process's event loop.
    const b = await startCliServer(t, ['--read-mode', 'passthrough'], { src: a.mnt, mnt: mntB });
    try {
      t.equal(b.mounted.passthrough, 'on', 'B was granted passthrough at INIT');
      const aBefore = await settle(a, 0);
      const bBefore = (await statsJson(t, mntB)).stats;
      for (const n of ['f0', 'f1']) await readExact(t, mntB, n, 'through B');
      let bAfter: Stats = bBefore;
      for (let i = 0; i < 100; i++) {
        bAfter = (await statsJson(t, mntB)).stats;
        if (bAfter.openFiles === 0) break;
      }
      const db = ptDelta(bBefore, bAfter);
      t.equal(db.notStackable, 2, 'B: fallbacks.notStackable counted each open');
      throughServer(t, db, 'B');
      const da = ptDelta(aBefore, await settle(a, 0));
      t.ok(da.opens >= 2, `A: B's opens of its files passed through (${da.opens})`);
      t.equal(da.readRequests, 0, "A: B's reads reached A's backing files in the kernel, no READ request");
      t.equal(da.readReplies, 0, 'A: no READ reply');
    } finally {
      b.child.kill('SIGTERM');
      const ended = await within(20_000, 'B exits', b.exited).catch(() => null);
      t.ok(ended, 'B stopped');
    }
    t.notOk(isMounted(mntB), 'B unmounted');
  });
});

t.test('EPERM from the backing open: noCapability, and the mount stops asking', async (t) => {
  await withMount(t, { readMode: 'passthrough' }, { populate }, async (m) => {
    addon.injectFault('backing', E.EPERM, 1);
    const first = await readAll(t, m, ['f0'], 'EPERM');
    t.equal(addon.injectFault('backing', 0, 0), 0, 'the EPERM fault was used');
    t.equal(first.noCapability, 1, 'fallbacks.noCapability: 1');
    throughServer(t, first, 'EPERM');
    // Armed again (EIO, 5 runs): an open that still tried the ioctl would use it up.
    addon.injectFault('backing', E.EIO, 5);
    const later = await readAll(t, m, ['f1', 'f2', 'f0'], 'after EPERM');
    t.equal(addon.injectFault('backing', 0, 0), 5, 'no later open tried the backing ioctl');
    t.equal(later.noCapability, 3, 'fallbacks.noCapability keeps counting each open');
    t.equal(later.backingError, 0, 'no backingError');
    throughServer(t, later, 'after EPERM');
    t.equal(m.stats().passthrough.backingOpens, 0, 'backingOpens stays 0');
    t.throws(() => m.handle.setReadMode('passthrough'), /noCapability|CAP_SYS_ADMIN/, 'setReadMode(passthrough) is refused now');
  });
});

for (const [errno, reason] of [
  ['ELOOP', 'notStackable'],
  ['EIO', 'backingError'],
] as const) {
  t.test(`${errno} from the backing open: ${reason}, that file through the server, the next passes through`, async (t) => {
    await withMount(t, { readMode: 'passthrough' }, { populate }, async (m) => {
      addon.injectFault('backing', E[errno], 1);
      const d = await readAll(t, m, ['f0'], errno);
      t.equal(addon.injectFault('backing', 0, 0), 0, `the ${errno} fault was used`);
      t.equal(d[reason], 1, `fallbacks.${reason}: 1`);
      throughServer(t, d, errno);
      const next = await readAll(t, m, ['f1'], `after ${errno}`);
      t.equal(next.opens, 1, 'the next open passed through');
      t.equal(next.backingOpens, 1, 'with a backing id');
      t.equal(next.readRequests, 0, 'no READ request');
    });
  });
}

for (const [name, opts] of [
  ['read mode passthrough', { readMode: 'passthrough' }],
  ['auto', {}],
] as Array<[string, MountOptions]>) {
  t.test(`direct I/O mount (${name}): directIo, READs counted`, async (t) => {
    await withMount(t, { ...opts, directIo: true }, { populate }, async (m) => {
      const d = await readAll(t, m, ['f0', 'f1'], 'direct I/O');
      t.equal(d.directIo, 2, 'fallbacks.directIo counted each open');
      throughServer(t, d, 'direct I/O');
    });
  });
}

t.test('one I/O mode per inode (a): a file open through the server keeps later opens there, with no EIO', async (t) => {
  await withMount(t, { readMode: 'splice' }, { populate }, async (m) => {
    const x = await open(join(m.mnt, 'f0'));
    try {
      await settle(m, 1);
      t.equal(m.handle.setReadMode('passthrough'), 'splice', 'switched to passthrough');
      const again = await moved(
        m,
        async () => {
          const x2 = await open(join(m.mnt, 'f0')); // rejects with EIO if the rule is broken
          try {
            const got = await x2.readFile();
            t.ok(got.equals(data.get('f0')!), 'the second open succeeded and reads exact');
          } finally {
            await x2.close();
          }
        },
        1,
      );
      t.ok(again.openThroughServer >= 1, `fallbacks.openThroughServer moved (${again.openThroughServer})`);
      throughServer(t, again, 'the second open');
      const other = await moved(m, () => readExact(t, m.mnt, 'f1', 'another file'), 1);
      t.equal(other.opens, 1, 'another file opened now passes through');
      t.equal(other.backingOpens, 1, 'with its own backing id');
      t.equal(other.readRequests, 0, 'no READ request for it');
    } finally {
      await x.close();
    }
  });
});

t.test('one I/O mode per inode (b): a file passing through keeps later opens passing through, with no EIO', async (t) => {
  await withMount(t, { readMode: 'passthrough' }, { populate }, async (m) => {
    const x = await open(join(m.mnt, 'f0'));
    let before!: Stats;
    try {
      before = await settle(m, 1);
      t.equal(before.passthrough.backingIds, 1, 'the first open passes through');
      t.equal(m.handle.setReadMode('splice'), 'passthrough', 'switched to splice');
      const again = await moved(
        m,
        async () => {
          const x2 = await open(join(m.mnt, 'f0')); // rejects with EIO if the rule is broken
          try {
            t.ok((await x2.readFile()).equals(data.get('f0')!), 'the second open succeeded and reads exact');
          } finally {
            await x2.close();
          }
        },
        1,
      );
      t.equal(again.opens, 1, 'the second open passed through anyway');
      t.equal(again.backingOpens, 0, 'sharing the first one\'s backing id');
      t.equal(again.readReplies, 0, 'no READ reply');
      t.equal(again.readRequests, 0, 'no READ request');
    } finally {
      await x.close();
    }
    const closed = ptDelta(before, await settle(m, 0));
    t.equal(closed.backingIds, 0, 'both closed: the id is gone');
    t.equal(closed.backingCloses, 1, 'closed once');
    const later = await readAll(t, m, ['f0'], 'after both closed');
    throughServer(t, later, 'a new open after both closed (splice)');
    t.ok(later.spliceReplies > 0, `spliced (${later.spliceReplies})`);
  });
});

// The kernel enters the caching I/O mode at the first shared mmap of a FOPEN_DIRECT_IO file too
// (fs/fuse/file.c fuse_file_mmap -> fuse_file_cached_io_open; the session always negotiates
// FUSE_DIRECT_IO_ALLOW_MMAP). An empty file opened read-only is a direct-I/O open (zeroSize):
// mapped shared, it must keep a later open of its inode away from passthrough, or that open(2)
// fails with EIO.
const MAPPED_THEN_OPENED = `import ctypes, os, sys, json
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
p = sys.argv[1]
a = os.open(p, os.O_RDONLY)
m = libc.mmap(None, 4096, 1, 1, a, 0)  # PROT_READ, MAP_SHARED; never touched (the file is empty)
out = {'mapped': m is not None and m != ctypes.c_void_p(-1).value}
try:
    b = os.open(p, os.O_RDWR)
    out['wrote'] = os.write(b, b'written while mapped')
    os.close(b)
    out['open'] = 'ok'
except OSError as e:
    out['open'] = e.strerror
os.close(a)
print(json.dumps(out))
`;

for (const [name, opts] of [
  ['auto', {}],
  ['read mode passthrough', { readMode: 'passthrough' }],
] as Array<[string, MountOptions]>) {
  t.test(`one I/O mode per inode (c, ${name}): a shared mapping of a direct-I/O handle keeps a later open away from passthrough, with no EIO`, async (t) => {
    await withMount(t, opts, { populate: (s) => writeFileSync(join(s, 'empty'), '') }, async (m) => {
      const before = await settle(m, 0);
      const out = JSON.parse((await py(t, MAPPED_THEN_OPENED, [join(m.mnt, 'empty')])) || '{}') as Record<string, unknown>;
      const after = await settle(m, 0);
      t.equal(out.mapped, true, 'the empty file opened read-only was mapped shared');
      t.equal(after.directIoOpens.zeroSize - before.directIoOpens.zeroSize, 1, 'that open was direct I/O (zeroSize)');
      t.equal(out.open, 'ok', 'the O_RDWR open of the mapped file succeeds (no EIO)', { out, passthrough: after.passthrough });
      t.equal(out.wrote, 20, 'and writes');
      t.equal(readFileSync(join(m.src, 'empty'), 'utf8'), 'written while mapped', 'into the source');
    });
  });
}

leftoverCheck(t);
