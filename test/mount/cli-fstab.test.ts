// An /etc/fstab line, mounted with `mount MOUNTPOINT` (from a temporary fstab: mount -T) and
// removed with `umount`, through mount(8) and mount.fuse3 (in a namespace where `splicefs` is on
// the shell's built-in path: see helpers/mount-ns.ts). The line's options reach the server and
// mount(2): libfuse's (nosuid, nodev, noatime), splicefs's own in -o form (read_mode=copy,
// log_file=), and mount(8)'s own (noauto, _netdev, x-systemd.*), which are not the server's.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { gone, logLines, mountNamespace } from '../helpers/mount-ns.js';
import { freshDir, run } from '../helpers/mount.js';

const HELLO = 'hello through fstab\n'.repeat(100);

t.test('an fstab line: mount MOUNTPOINT, read, umount', async (t) => {
  const src = freshDir('fstab-src');
  const mnt = freshDir('fstab-mnt');
  const etc = freshDir('fstab-etc');
  writeFileSync(join(src, 'hello'), HELLO);
  const log = join(etc, 'splicefs.log');
  const fstab = join(etc, 'fstab');
  const opts = `ro,noauto,nosuid,nodev,noatime,_netdev,x-systemd.automount,read_mode=copy,log_file=${log}`;
  writeFileSync(fstab, `# a comment line\n${src}  ${mnt}  fuse.splicefs  ${opts}  0  0\n`);
  const ns = await mountNamespace(t, () => [mnt]);
  t.teardown(() => run('rm', ['-rf', src, mnt, etc]));

  const r = await ns.run('mount', ['-T', fstab, mnt]);
  t.equal(r.code, 0, `mount -T FSTAB ${mnt} exits 0`, { stderr: r.stderr.toString() });
  const m = ns.mountsAt(mnt)[0] ?? [];
  const sep = m.indexOf('-');
  t.equal(m[sep + 1], 'fuse.splicefs', 'mounted, type fuse.splicefs');
  const flags = (m[5] ?? '').split(',');
  for (const f of ['ro', 'nosuid', 'nodev', 'noatime']) t.ok(flags.includes(f), `${f} reaches mount(2) (${m[5]})`);

  const cat = await ns.run('cat', [join(mnt, 'hello')]);
  t.equal(cat.stdout.toString(), HELLO, 'a file reads through the mount');
  const mounted = logLines(readFileSync(log, 'utf8')).find((l) => l.msg === 'mounted');
  t.equal(mounted?.readMode, 'copy', 'read_mode=copy from the fstab line reached the server');
  const pid = Number(mounted?.pid);

  const u = await ns.run('umount', [mnt]);
  t.equal(u.code, 0, 'umount exits 0', { stderr: u.stderr.toString() });
  t.ok(await gone(() => ns.alive(pid)), 'the daemon exits after umount');
  t.same(ns.mountsAt(mnt), [], 'nothing mounted');
});
