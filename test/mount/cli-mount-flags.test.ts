// The generic mount options reach mount(2): what /proc/self/mountinfo shows for a real mount by
// the CLI (per-mount flags, filesystem type, source), and what the flags do (noexec refuses to
// run a program; without nosuid a set-user-ID bit shows as such through the mount).
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { startCli } from '../helpers/cli-bytes.js';
import { forceUnmount, freshDir, isMounted, leftoverCheck, run } from '../helpers/mount.js';

interface Seen {
  /** per-mount flags (mountinfo field 6) */
  flags: string[];
  fstype: string;
  source: string;
  mnt: string;
}

/** Mount a source holding an executable script with `args`; what mountinfo shows. */
async function mountWith(t: Test, args: string[]): Promise<Seen> {
  const src = freshDir('flags-src');
  const mnt = freshDir('flags-mnt');
  writeFileSync(join(src, 'run.sh'), '#!/bin/sh\necho ran\n');
  chmodSync(join(src, 'run.sh'), 0o4755);
  await startCli(t, [src, mnt, ...args], async () => {
    if (isMounted(mnt)) await forceUnmount(mnt);
    if (!isMounted(mnt)) await run('rm', ['-rf', src, mnt]);
  });
  const line = (await run('grep', [` ${mnt} `, '/proc/self/mountinfo'])).stdout.toString().trim().split(' ');
  const sep = line.indexOf('-');
  return { flags: (line[5] ?? '').split(','), fstype: line[sep + 1] ?? '', source: line[sep + 2] ?? '', mnt };
}

t.test('defaults: rw, nosuid, nodev, relatime; type fuse.splicefs', async (t) => {
  const s = await mountWith(t, []);
  t.same(s.flags, ['rw', 'nosuid', 'nodev', 'relatime'], `flags ${s.flags} (read-write by default since issue 10)`);
  t.equal(s.fstype, 'fuse.splicefs', 'type');
  const r = await run(join(s.mnt, 'run.sh'), []);
  t.equal(r.stdout.toString(), 'ran\n', 'a program on the mount runs (exec is the default)');
  const mode = await run('stat', ['-c', '%A', join(s.mnt, 'run.sh')]);
  t.equal(mode.stdout.toString().trim(), '-rwsr-xr-x', 'the set-user-ID bit is mirrored (nosuid makes the kernel ignore it)');
});

t.test('-o noexec,noatime,nodiratime,suid,dev,fsname=,subtype= (as root)', async (t) => {
  const s = await mountWith(t, ['-o', 'noexec,noatime,nodiratime,suid,dev,fsname=flagsrc,subtype=mirror']);
  t.same(s.flags, ['rw', 'noexec', 'noatime', 'nodiratime'], `flags ${s.flags}: no nosuid, no nodev`);
  t.equal(s.fstype, 'fuse.mirror', 'subtype: the type is fuse.SUBTYPE, as with libfuse');
  t.equal(s.source, 'flagsrc', 'fsname: the source mountinfo shows');
  const r = await run(join(s.mnt, 'run.sh'), []);
  t.not(r.code, 0, 'noexec: a program on the mount does not run');
});

t.test('-o strictatime; relatime', async (t) => {
  const strict = await mountWith(t, ['-o', 'strictatime']);
  t.same(strict.flags, ['rw', 'nosuid', 'nodev'], `strictatime: no relatime (${strict.flags})`);
  const rel = await mountWith(t, ['-o', 'noatime,relatime']);
  t.same(rel.flags, ['rw', 'nosuid', 'nodev', 'relatime'], `the last atime option wins (${rel.flags})`);
});

t.test('-o ro; -o ro,rw (the last wins)', async (t) => {
  const ro = await mountWith(t, ['-o', 'ro']);
  t.same(ro.flags, ['ro', 'nosuid', 'nodev', 'relatime'], `-o ro: ${ro.flags}`);
  const rw = await mountWith(t, ['-o', 'ro,rw']);
  t.same(rw.flags, ['rw', 'nosuid', 'nodev', 'relatime'], `-o ro,rw: ${rw.flags}`);
});

leftoverCheck(t);
