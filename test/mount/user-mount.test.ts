// An ordinary user (uid 65534) mounts through fusermount3, reads (spliced) and writes through
// the mount, and unmounts with `splicefs umount`; asking for allow_other without
// user_allow_other in /etc/fuse.conf is one line naming it, with nothing mounted. In a namespace
// with a 0666 /dev/fuse (helpers/user-ns.ts).
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { oneLineError } from '../helpers/cli.js';
import { FILE_BYTES, populateFile } from '../helpers/control.js';
import { leftoverCheck } from '../helpers/mount.js';
import { NOBODY, requireFusermount, until, userMountSetup } from '../helpers/user-ns.js';

t.test('uid 65534 mounts through fusermount3, reads by splice, writes, and unmounts', async (t) => {
  if (!(await requireFusermount(t))) return;
  const u = await userMountSetup(t);
  populateFile(u.src);
  const srv = await u.startServer(t, []);
  t.equal(srv.mounted.mountedBy, 'fusermount3', 'the mount line: mounted by fusermount3');
  t.equal(srv.mounted.autoUnmount, false, 'without auto_unmount');
  const m = u.mountAt();
  t.equal(m?.fstype, 'fuse.splicefs', 'mountinfo: fuse.splicefs');
  t.match(m?.superOptions ?? '', new RegExp(`user_id=${NOBODY},group_id=${NOBODY}`), 'mountinfo: user_id=65534');
  t.equal(m?.source, u.src, 'mountinfo: the source as fsname');

  const read = await u.asUser('cat', [join(u.mnt, 'f')]);
  t.equal(read.code, 0, 'the user reads the file through the mount');
  t.ok(read.stdout.equals(readFileSync(join(u.src, 'f'))), `all ${FILE_BYTES} bytes, exact`);
  const stats = await u.cli(['stats', u.mnt, '--json']);
  t.equal(stats.code, 0, '`splicefs stats --json` as the user reaches the server', { stderr: stats.stderr.toString() });
  const live = JSON.parse(stats.stdout.toString()) as { stats: { read: { spliceReplies: number; spliceBytes: number } } };
  t.ok(live.stats.read.spliceReplies > 0, `READs answered by splice (${live.stats.read.spliceReplies})`);

  const write = await u.asUser('sh', ['-c', 'printf written > "$1"', 'sh', join(u.mnt, 'new')]);
  t.equal(write.code, 0, 'the user creates and writes a file through the mount', { stderr: write.stderr.toString() });
  t.equal(readFileSync(join(u.src, 'new'), 'utf8'), 'written', 'the content lands in the source');
  const st = statSync(join(u.src, 'new'));
  t.same([st.uid, st.gid], [NOBODY, NOBODY], 'owned by 65534 in the source');
  const mk = await u.asUser('mkdir', [join(u.mnt, 'dir')]);
  t.equal(mk.code, 0, 'MKDIR as the user works (no credential switch)');

  const um = await u.cli(['umount', u.mnt]);
  t.equal(um.code, 0, '`splicefs umount` as the user', { stderr: um.stderr.toString() });
  t.ok(await until(() => u.mountAt() === null, 5_000), 'nothing mounted afterwards');
  t.equal(await srv.exited, 0, 'the server exits 0');
});

t.test('allow_other as a user without user_allow_other: one line naming it, nothing mounted', async (t) => {
  if (!(await requireFusermount(t))) return;
  const conf = readFileSync('/etc/fuse.conf', 'utf8');
  t.notMatch(conf, /^\s*user_allow_other\s*$/m, '/etc/fuse.conf does not allow it');
  const u = await userMountSetup(t);
  writeFileSync(join(u.src, 'f'), 'x');
  const r = await u.cli([u.src, u.mnt, '-o', 'allow_other']);
  const line = oneLineError(t, 'allow_other as a user', r, /user_allow_other/, 1);
  t.match(line, /fusermount3: option allow_other only allowed if 'user_allow_other' is set in \/etc\/fuse\.conf/, "carries fusermount3's own words");
  t.equal(u.mountAt(), null, 'nothing mounted');
});

leftoverCheck(t);
