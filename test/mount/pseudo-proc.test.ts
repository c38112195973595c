// Issue 9, item 7: files whose st_size is 0 but that have content (procfs) read as the source.
// The kernel trusts st_size 0 and never READs a cached file past it: `cat M/ostype` was empty.
// Each such open now gets FOPEN_DIRECT_IO (counted as directIoOpens.pseudoFs), so every read
// reaches the source; st_size itself stays what the source says (0).
import t from 'tap';
import { join } from 'node:path';
import { leftoverCheck, run, withMount } from '../helpers/mount.js';

/** Bytes `cat` prints for each path, in order (a failure shows up as its stderr). */
async function catEach(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const r = await run('cat', [p]);
    out.push(r.code === 0 ? r.stdout.toString('latin1') : `error: ${r.stderr.toString().split(':').pop()}`);
  }
  return out;
}

t.test('/proc/sys/kernel: the content, not the size, decides what a read returns', async (t) => {
  const names = ['ostype', 'osrelease', 'version', 'hostname', 'pid_max', 'threads-max', 'random/boot_id', 'random/poolsize'];
  const src = '/proc/sys/kernel';
  await withMount(t, {}, { source: src }, async ({ mnt, stats }) => {
    const want = await catEach(names.map((n) => join(src, n)));
    t.equal(want[0], 'Linux\n', 'the source says Linux');
    t.same(await catEach(names.map((n) => join(mnt, n))), want, 'each file reads as on the source');
    const sizes = await run('stat', ['-c', '%s', ...names.map((n) => join(mnt, n))]);
    t.equal(sizes.stdout.toString(), '0\n'.repeat(names.length), 'st_size still says 0, as on the source');
    const d = stats().directIoOpens;
    t.ok(d.pseudoFs >= names.length, `one direct-I/O open per read file (pseudoFs ${d.pseudoFs})`);
    t.equal(d.option + d.zeroSize, 0, 'counted under its reason only');
  });
});

t.test('content made anew on each read comes fresh on each read (random/uuid)', async (t) => {
  await withMount(t, { timeout: 60 }, { source: '/proc/sys/kernel/random' }, async ({ mnt }) => {
    const reads = await catEach([join(mnt, 'uuid'), join(mnt, 'uuid'), join(mnt, 'uuid')]);
    for (const r of reads) t.match(r, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$/, 'a whole uuid');
    t.equal(new Set(reads).size, 3, 'three reads, three uuids: nothing served from a cache');
  });
});

t.test('the whole of /proc as the source: nested, large and changing files', async (t) => {
  await withMount(t, {}, { source: '/proc' }, async ({ mnt, stats }) => {
    const stable = ['version', 'cmdline', 'filesystems', 'sys/kernel/ostype', 'sys/fs/pipe-max-size'];
    t.same(await catEach(stable.map((n) => join(mnt, n))), await catEach(stable.map((n) => join('/proc', n))), 'stable files read as on the source');
    const meminfo = (await catEach([join(mnt, 'meminfo')]))[0];
    t.match(meminfo, /^MemTotal: +\d+ kB\n[\s\S]*\nHugepagesize: /, 'meminfo (about 1.5 KiB, changes all the time) comes whole');
    t.ok(stats().directIoOpens.pseudoFs >= stable.length + 1, 'counted');
  });
});

leftoverCheck(t);
