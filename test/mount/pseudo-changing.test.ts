// Issue 9, item 7: sysfs attributes say st_size 4096 and hold a few bytes that change. Cached,
// the first read's length became the file's size in the kernel (a short READ shrinks i_size), so
// a longer value was cut: tx_queue_len going 1000 -> 100000 read "10000" with no newline until
// the attributes expired. Direct I/O (pseudoFs) reads what the source says now, whatever the
// cache timeout. Also cgroup (kernfs) files and transparent_hugepage's.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck, run, withMount } from '../helpers/mount.js';

async function cat(path: string): Promise<string> {
  const r = await run('cat', [path]);
  return r.code === 0 ? r.stdout.toString('latin1') : `error ${r.code}: ${r.stderr}`;
}

const LO = '/sys/class/net/lo';

t.test(`${LO}: attributes of st_size 4096 read as the source, also after they change`, async (t) => {
  const names = ['operstate', 'mtu', 'address', 'type', 'ifindex', 'flags', 'tx_queue_len'];
  const original = readFileSync(join(LO, 'tx_queue_len'), 'latin1').trim();
  t.teardown(() => writeFileSync(join(LO, 'tx_queue_len'), original));
  // A long cache timeout: whatever comes fresh comes from direct I/O, not from expiry.
  await withMount(t, { timeout: 60 }, { source: LO }, async ({ mnt, stats }) => {
    for (const n of names) t.equal(await cat(join(mnt, n)), await cat(join(LO, n)), `${n}: as on the source`);
    const sizes = await run('stat', ['-L', '-c', '%s', join(mnt, 'operstate'), join(LO, 'operstate')]);
    t.equal(sizes.stdout.toString(), '4096\n4096\n', 'st_size 4096 on both: the size says nothing of the content');
    for (const v of ['100000', '7', '1000000', original]) {
      writeFileSync(join(LO, 'tx_queue_len'), v);
      t.equal(await cat(join(mnt, 'tx_queue_len')), `${v}\n`, `tx_queue_len set to ${v}: read whole through the mount`);
    }
    t.ok(stats().directIoOpens.pseudoFs >= names.length + 4, 'every open was direct I/O (pseudoFs)');
  });
});

t.test('transparent_hugepage and cgroup files read as the source', async (t) => {
  const thp = '/sys/kernel/mm/transparent_hugepage';
  t.ok(existsSync(thp), `${thp} exists on this kernel`);
  await withMount(t, {}, { source: thp }, async ({ mnt }) => {
    for (const n of ['enabled', 'defrag', 'hpage_pmd_size']) t.equal(await cat(join(mnt, n)), await cat(join(thp, n)), `${n}: as on the source`);
  });
  // A cgroup hierarchy (v1 pids here, else the v2 root): kernfs files with st_size 0.
  const cg = ['/sys/fs/cgroup/pids', '/sys/fs/cgroup/unified', '/sys/fs/cgroup'].find((d) => existsSync(join(d, 'cgroup.procs')));
  t.ok(cg, 'a cgroup hierarchy is mounted');
  if (!cg) return;
  await withMount(t, {}, { source: cg }, async ({ mnt, stats }) => {
    for (const n of ['cgroup.procs', 'cgroup.clone_children', 'cgroup.controllers', 'cgroup.max.depth'].filter((f) => existsSync(join(cg, f)))) {
      const got = await cat(join(mnt, n));
      const want = await cat(join(cg, n));
      // cgroup.procs lists every process of the root group: compare the first line only, which
      // is init's pid and does not change.
      if (n === 'cgroup.procs') t.equal(got.split('\n')[0], want.split('\n')[0], `${n}: as on the source (first line)`);
      else t.equal(got, want, `${n}: as on the source`);
    }
    t.ok(stats().directIoOpens.pseudoFs > 0, 'direct I/O by filesystem type (cgroup)');
  });
});

leftoverCheck(t);
