// Issue 9, item 2, without a mount: a READDIRPLUS listing is complete or fails. The handlers run
// in-process on a fresh source directory (no /dev/fuse), so the two rules can be provoked
// exactly: an entry that left the source (ENOENT at lookup) is skipped; any other lookup failure
// (here EMFILE, by lowering this process's fd limit for one synchronous call) ends the page, and
// an empty page carries the error instead of reading as the end of the directory.
import { mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { addon } from '../../src/addon.js';
import type { ReadIn } from '../../src/kernel/request.js';
import type { DirPage } from '../../src/kernel/reply.js';
import { type Caller, Passthrough } from '../../src/passthrough/fs.js';
import { opendir, readdirplus, releasedir } from '../../src/passthrough/ops/dirs.js';
import { RUN_PREFIX, testRoot } from '../helpers/mount.js';

const E = constants.errno;
const ROOT: Caller = { nodeid: 1, uid: 0, gid: 0, pid: 0 };
const N = 200;

function source(label: string): string {
  const dir = join(testRoot('shm'), `${RUN_PREFIX}${label}`);
  mkdirSync(dir);
  for (let i = 0; i < N; i++) writeFileSync(join(dir, `f${String(i).padStart(4, '0')}`), '');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function passthrough(src: string, nodeFdBudget = 100_000): Passthrough {
  const fs = new Passthrough({ source: src, timeout: 1, directIo: false, replyRoom: 128 * 1024, nodeFdBudget });
  t.teardown(() => fs.closeAll());
  return fs;
}

function readIn(fh: number, offset: number, size: number): ReadIn {
  return { fh, offset: BigInt(offset), size, readFlags: 0, lockOwner: 0n, flags: 0 };
}

function openRoot(fs: Passthrough): number {
  const o = opendir(fs, ROOT, { flags: 0, openFlags: 0 });
  if (typeof o === 'number') throw new Error(`opendir: ${o}`);
  return o.fh;
}

/** Names of the whole listing from `offset`, page by page (the kernel's loop), or the -errno that stopped it. */
function listFrom(fs: Passthrough, fh: number, offset: number, size: number): { names: string[]; error: number } {
  const names: string[] = [];
  for (;;) {
    const page = readdirplus(fs, ROOT, readIn(fh, offset, size));
    if (typeof page === 'number') return { names, error: page };
    if (page.entries.length === 0) return { names, error: 0 };
    for (const e of page.entries) names.push(e.name.toString());
    offset = Number(page.entries[page.entries.length - 1].off);
  }
}

const fileNames = (names: string[]) => names.filter((n) => n !== '.' && n !== '..').sort();

t.test('an entry removed from the source between pages is the only one missing', async (t) => {
  const src = source('rd-enoent');
  const fs = passthrough(src);
  const fh = openRoot(fs);
  const first = readdirplus(fs, ROOT, readIn(fh, 0, 4096)) as DirPage;
  t.ok(first.entries.length > 2 && first.entries.length < N, `a first page of ${first.entries.length} entries`);
  const seen = new Set(first.entries.map((e) => e.name.toString()));
  const unseen = Array.from({ length: N }, (_v, i) => `f${String(i).padStart(4, '0')}`).filter((n) => !seen.has(n));
  const gone = [unseen[0], unseen[1], unseen[unseen.length - 1]];
  t.equal(new Set(gone).size, 3, `three names not listed yet: ${gone.join(' ')}`);
  for (const n of gone) unlinkSync(join(src, n));
  const rest = listFrom(fs, fh, Number(first.entries[first.entries.length - 1].off), 4096);
  t.equal(rest.error, 0, 'the rest lists without error');
  const all = fileNames([...seen, ...rest.names]);
  const want = Array.from({ length: N }, (_v, i) => `f${String(i).padStart(4, '0')}`).filter((n) => !gone.includes(n));
  t.same(all, want, 'every entry but the removed ones, each once');
  releasedir(fs, ROOT, { fh, flags: 0, releaseFlags: 0, lockOwner: 0n });
});

t.test('a lookup failing with EMFILE on an empty page is the error, not the end', async (t) => {
  const src = source('rd-emfile');
  const fs = passthrough(src);
  const fh = openRoot(fs);
  // The snapshot, and where the files start (tmpfs lists . and .. first).
  const first = readdirplus(fs, ROOT, readIn(fh, 0, 200)) as DirPage;
  t.same(first.entries.map((e) => e.name.toString()), ['.'], 'a one-entry page: .');
  const second = readdirplus(fs, ROOT, readIn(fh, 1, 200)) as DirPage;
  t.same(second.entries.map((e) => e.name.toString()), ['..'], 'then ..');
  const filesFrom = Number(second.entries[0].off);
  const lim = new Float64Array(2);
  t.equal(addon.getrlimitNofile(lim), 0);
  const [soft, hard] = [lim[0], lim[1]];
  // No fd can be opened while the soft limit is this process's lowest free fd: every lookup's
  // openat fails EMFILE, and no node holds an fd to give back. Synchronous from here to the
  // restore, so nothing else of this process opens in between.
  const probe = addon.openat(-100, '/', 0, 0);
  t.ok(probe > 0, 'the lowest free fd');
  addon.close(probe);
  let page: DirPage | number;
  try {
    t.equal(addon.setrlimitNofile(probe, hard), 0, `soft limit lowered to ${probe}`);
    page = readdirplus(fs, ROOT, readIn(fh, filesFrom, 64 * 1024));
  } finally {
    addon.setrlimitNofile(soft, hard);
  }
  t.equal(page, -E.EMFILE, 'the reply is EMFILE (an empty page would end the listing there, exit 0)');
  const rest = listFrom(fs, fh, filesFrom, 8192);
  t.equal(rest.error, 0, 'with fds again the kernel, asking from the same offset, gets the rest');
  t.equal(fileNames(rest.names).length, N, `all ${N} entries`);
  t.ok(fs.fdStats().limitHits > 0, 'the EMFILE was counted');
});

t.test('an entry too large for the size asked is EINVAL, not an empty page', async (t) => {
  const src = source('rd-einval');
  const fs = passthrough(src);
  const fh = openRoot(fs);
  t.equal(readdirplus(fs, ROOT, readIn(fh, 0, 16)), -E.EINVAL, 'EINVAL');
});

t.test('past the budget nodes give back their fds and every node still answers', async (t) => {
  const src = source('rd-budget');
  mkdirSync(join(src, 'sub'));
  writeFileSync(join(src, 'sub', 'deep'), 'x');
  const fs = passthrough(src, 64);
  const nodes = [];
  for (let i = 0; i < N; i++) {
    const n = fs.inodes.lookup(fs.inodes.root, Buffer.from(`f${String(i).padStart(4, '0')}`), fs.st);
    if (typeof n === 'number') throw new Error(`lookup ${n}`);
    nodes.push(n);
  }
  const sub = fs.inodes.lookup(fs.inodes.root, Buffer.from('sub'), fs.st);
  if (typeof sub === 'number') throw new Error(`lookup sub ${sub}`);
  for (let i = 0; i < 100; i++) fs.inodes.lookup(fs.inodes.root, Buffer.from(`f${String(i).padStart(4, '0')}`), fs.st);
  const s1 = fs.fdStats();
  t.ok(s1.held <= 64 + 1, `at most the budget (64) plus the root held: ${s1.held}`);
  t.ok(s1.shed > 0, `fds were given back: ${s1.shed}`);
  let ok = 0;
  for (const n of nodes) if (fs.inodes.stat(n, fs.st) === 0 && fs.st[1] === n.ino) ok++;
  t.equal(ok, N, 'every node stats as its own file');
  const deep = fs.inodes.lookup(sub, Buffer.from('deep'), fs.st);
  t.ok(typeof deep !== 'number', 'a lookup in a directory whose fd was given back');
  const s2 = fs.fdStats();
  t.ok(s2.reopenedByHandle > 0, `re-opened by file handle: ${s2.reopenedByHandle}`);
  t.equal(s2.stale, 0, 'nothing stale');
  t.ok(s2.held <= 64 + 1, `still within the budget: ${s2.held}`);
  // The file under a node whose fd was given back is removed: its re-open must say ESTALE.
  const victim = nodes[0];
  for (let i = 1; i < 100; i++) fs.inodes.stat(nodes[i], fs.st); // make node 0 the least recent
  for (let i = 100; i < N; i++) fs.inodes.stat(nodes[i], fs.st);
  unlinkSync(join(src, 'f0000'));
  const r = fs.inodes.stat(victim, fs.st);
  t.ok(r === 0 || r === -E.ESTALE, `a removed file's node: still held (0) or ESTALE, never another file (${r})`);
  if (r === 0) t.equal(fs.st[1], victim.ino, 'a held fd still names the removed file itself');
});
