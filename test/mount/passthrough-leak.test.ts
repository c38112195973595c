// No backing id and no fd outlives its files: 10,000 open/read/close cycles through a
// passthrough mount (several files, O_RDONLY and O_RDWR in turn, sometimes two handles of one
// file open at once), then opens of files unlinked while open (closed after the unlink) and made
// again by CREATE. Afterwards stats().passthrough has no backing id open and as many closes as
// opens, no file is open, and the server's fds (this process's: the mount is served here) are
// back to what they were before.
// Through the mount only child processes here (python3).
import { readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { Stats } from '../../src/index.js';
import { fdCount } from '../helpers/mirror.js';
import { leftoverCheck, withMount, type Mounted } from '../helpers/mount.js';
import { ptDelta, py, settle } from '../helpers/passthrough.js';

const FILES = 5;
const SIZE = 64 * 1024 + 17;
/** File i's byte j, as the Python programs compute it too. */
const content = (i: number) => Buffer.from(Array.from({ length: SIZE }, (_, j) => (i * 31 + j) % 251));
const populate = (src: string) => {
  for (let i = 0; i < FILES; i++) writeFileSync(join(src, `f${i}`), content(i));
};

// CYCLES rounds: file k = n % FILES, O_RDONLY on even rounds and O_RDWR on odd; a read at an
// offset that moves, checked; every 7th round the handle stays open over the next round, which
// opens the same file again (two handles of one inode at once: one backing id). Prints the
// number of exact reads.
const CYCLES = `import os, sys
root, cycles, files, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def want(i, off, n):
    return bytes((i * 31 + j) % 251 for j in range(off, min(off + n, size)))
held = None
ok = 0
for n in range(cycles):
    k = (n - 1) % files if held is not None else n % files
    fd = os.open(os.path.join(root, 'f%d' % k), os.O_RDONLY if n % 2 == 0 else os.O_RDWR)
    off = (n * 4099) % size
    if os.pread(fd, 512, off) == want(k, off, 512):
        ok += 1
    if held is not None:
        os.close(held)
        held = None
    if n % 7 == 0:
        held = fd
    else:
        os.close(fd)
if held is not None:
    os.close(held)
print(ok)
`;

// ROUNDS rounds on file f0: opened O_RDWR and O_RDONLY, unlinked while both are open, written
// and read through the open descriptors, closed; then made again by CREATE with its content.
// Prints the number of rounds whose reads were right.
const UNLINKED = `import os, sys
root, rounds, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
p = os.path.join(root, 'f0')
data = bytes((0 * 31 + j) % 251 for j in range(size))
ok = 0
for n in range(rounds):
    w = os.open(p, os.O_RDWR)
    r = os.open(p, os.O_RDONLY)
    os.unlink(p)
    os.pwrite(w, b'gone', 100)
    a = os.pread(r, 200, 0)
    os.close(w)
    b = os.pread(r, 8, 96)
    os.close(r)
    if a == data[:100] + b'gone' + data[104:200] and b == data[96:100] + b'gone':
        ok += 1
    fd = os.open(p, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    os.write(fd, data)
    os.close(fd)
print(ok)
`;

/** This process's fds and what each one is (for the failure message). */
function fdTable(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out[fd] = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      /* the fd of the readdir itself */
    }
  }
  return out;
}

/** fds of `now` that are not in `then` (or changed), and those gone. */
function fdDiff(then: Record<string, string>, now: Record<string, string>) {
  const added = Object.entries(now).filter(([fd, what]) => then[fd] !== what);
  const gone = Object.entries(then).filter(([fd, what]) => now[fd] !== what);
  return { added, gone };
}

/** The counters once nothing is open, and this process's fd count once back at `base` (or as it ended). */
async function quiet(m: Mounted, base: number): Promise<{ s: Stats; fds: number }> {
  const s = await settle(m, 0);
  let fds = fdCount(process.pid);
  // FORGETs of unlinked inodes (which give their node fds back) may trail the last close.
  for (let i = 0; i < 300 && fds !== base; i++) {
    await new Promise((res) => setTimeout(res, 10));
    fds = fdCount(process.pid);
  }
  return { s: await settle(m, 0), fds };
}

function noLeak(t: Test, before: Stats, after: Stats, fds: number, base: number, table: Record<string, string>, what: string): void {
  const p = after.passthrough;
  t.equal(p.backingIds, 0, `${what}: no backing id left open`);
  t.equal(p.backingCloses, p.backingOpens, `${what}: every backing id registered was closed (${p.backingOpens})`);
  t.equal(after.openFiles, 0, `${what}: no open file left`);
  t.equal(fds, base, `${what}: the server's fds are back to ${base}`, fds === base ? {} : fdDiff(table, fdTable()));
  const d = ptDelta(before, after);
  t.equal(d.readRequests, 0, `${what}: no READ reached the server (all passed through)`);
}

t.test('10,000 open/read/close cycles, then opens of unlinked files: no backing id or fd left', async (t) => {
  await withMount(t, { readMode: 'passthrough' }, { populate }, async (m) => {
    // Warm up: every file looked up (its node fd held) before the fd count is taken.
    const warm = `import os, sys\nfor i in range(int(sys.argv[2])):\n    print(len(open(os.path.join(sys.argv[1], 'f%d' % i), 'rb').read()))`;
    t.equal((await py(t, warm, [m.mnt, String(FILES)])).trim(), Array(FILES).fill(SIZE).join('\n'), 'warm-up: every file read once');
    const start = await settle(m, 0);
    const base = fdCount(process.pid);
    const table = fdTable();
    t.ok(base > 0, `the server holds ${base} fds`);

    const cycles = 10_000;
    t.equal((await py(t, CYCLES, [m.mnt, String(cycles), String(FILES), String(SIZE)], 300_000)).trim(), String(cycles), `${cycles} reads exact`);
    const a = await quiet(m, base);
    const d = ptDelta(start, a.s);
    t.equal(d.opens, cycles, `every open passed through (${d.opens})`);
    t.ok(d.backingOpens > 0, `backing ids were registered (${d.backingOpens})`);
    t.ok(d.backingOpens < d.opens, `the opens of a file held open shared its id (${d.opens - d.backingOpens} shared)`);
    noLeak(t, start, a.s, a.fds, base, table, 'after the cycles');

    const rounds = 200;
    t.equal((await py(t, UNLINKED, [m.mnt, String(rounds), String(SIZE)], 300_000)).trim(), String(rounds), `${rounds} rounds with the file unlinked while open: reads exact`);
    const b = await quiet(m, base);
    const du = ptDelta(a.s, b.s);
    t.equal(du.opens, 3 * rounds, `every open and CREATE passed through (${du.opens})`);
    t.equal(du.writeRequests, 0, 'no WRITE reached the server');
    noLeak(t, a.s, b.s, b.fds, base, table, 'after the unlinked files');
  });
});

leftoverCheck(t);
