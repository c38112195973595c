// -o auto_unmount: fusermount3 stays behind holding the other end of the server's socket, and
// when the server dies (kill -9, no unmount of its own) it removes the mount (for a user, with
// our own watchdog beside it: src/mnt/watchdog.ts). Without the
// option the same kill leaves a stale mount that `splicefs umount` clears: the option is what
// did it. As uid 65534 (in a namespace with a 0666 /dev/fuse: helpers/user-ns.ts) and as root,
// whose auto_unmount mount also goes through fusermount3 and is served by worker threads on
// clones of the fd the helper sent.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { CLI, cleanNode } from '../helpers/cli.js';
import { populateFile, startCliServer } from '../helpers/control.js';
import { isMounted, leftoverCheck, run } from '../helpers/mount.js';
import { requireFusermount, until, userMountSetup, watchdogPids } from '../helpers/user-ns.js';

t.test('uid 65534: kill -9 without auto_unmount leaves a stale mount that `splicefs umount` clears', async (t) => {
  if (!(await requireFusermount(t))) return;
  const u = await userMountSetup(t);
  populateFile(u.src);
  const plain = await u.startServer(t, []);
  t.equal(plain.mounted.autoUnmount, false, 'without auto_unmount');
  await u.ns.run('kill', ['-KILL', String(plain.pid)]);
  await plain.exited;
  await new Promise((r) => setTimeout(r, 2_000));
  t.ok(u.mountAt(), 'the kill leaves a mount behind after 2 s');
  const stale = await u.asUser('stat', [u.mnt]);
  t.match(stale.stderr.toString(), /not connected/, 'it is stale (ENOTCONN)');
  const um = await u.cli(['umount', u.mnt]);
  t.equal(um.code, 0, '`splicefs umount` as the user clears it', { stderr: um.stderr.toString() });
  t.equal(u.mountAt(), null, 'nothing mounted');
});

// fusermount3 before libfuse 3.15 gives up on a user's mount without allow_other: woken by the
// server's death it opens the mountpoint as root, gets EACCES (the kernel lets in the mounting
// user only) and exits without unmounting (seen with strace on Debian's 3.14.0). So a non-root
// server also starts a watchdog of its own (src/mnt/watchdog.ts), which these tests look for.
t.test('uid 65534: kill -9 with auto_unmount leaves no mount and no watchdog', async (t) => {
  if (!(await requireFusermount(t))) return;
  const u = await userMountSetup(t);
  populateFile(u.src);
  const auto = await u.startServer(t, ['-o', 'auto_unmount']);
  t.equal(auto.mounted.mountedBy, 'fusermount3', 'mounted by fusermount3');
  t.equal(auto.mounted.autoUnmount, true, 'the mount line says auto_unmount');
  t.ok(u.mountAt(), 'mounted');
  t.equal(watchdogPids(u.mnt).length, 1, 'one watchdog for the mountpoint');
  const kill = await u.ns.run('kill', ['-KILL', String(auto.pid)]);
  t.equal(kill.code, 0, `kill -9 the server (pid ${auto.pid} in the namespace)`);
  t.ok(await until(() => u.mountAt() === null, 10_000), 'within 10 s no mount is left at the mountpoint');
  t.ok(await until(() => watchdogPids(u.mnt).length === 0, 10_000), 'and no watchdog process is left');
  // Whatever happened, clear what is left before the namespace goes.
  if (u.mountAt()) await u.cli(['umount', u.mnt]);
});

t.test('uid 65534 with auto_unmount: a clean unmount stops the watchdog; a new mount there stays', async (t) => {
  if (!(await requireFusermount(t))) return;
  const u = await userMountSetup(t);
  populateFile(u.src);
  const first = await u.startServer(t, ['-o', 'auto_unmount']);
  t.equal(first.mounted.autoUnmount, true, 'auto_unmount');
  t.equal(watchdogPids(u.mnt).length, 1, 'one watchdog for the mountpoint');
  const um = await u.cli(['umount', u.mnt]);
  t.equal(um.code, 0, '`splicefs umount` as the user', { stderr: um.stderr.toString() });
  t.equal(await first.exited, 0, 'the server exits 0');
  t.equal(u.mountAt(), null, 'nothing mounted');
  t.ok(await until(() => watchdogPids(u.mnt).length === 0, 10_000), 'no watchdog process is left');
  const second = await u.startServer(t, ['-o', 'auto_unmount']);
  t.ok(u.mountAt(), 'mounted again at the same mountpoint');
  await new Promise((r) => setTimeout(r, 3_000));
  t.ok(u.mountAt(), 'still mounted 3 s later (the old watchdog unmounted nothing)');
  const read = await u.asUser('cat', [join(u.mnt, 'f')]);
  t.equal(read.code, 0, 'and it serves', { stderr: read.stderr.toString() });
  t.equal(watchdogPids(u.mnt).length, 1, 'one watchdog: the new mount\'s');
  const um2 = await u.cli(['umount', u.mnt]);
  t.equal(um2.code, 0, 'unmounted', { stderr: um2.stderr.toString() });
  t.equal(await second.exited, 0, 'the second server exits 0');
  t.ok(await until(() => watchdogPids(u.mnt).length === 0, 10_000), 'no watchdog process is left');
});

t.test('uid 65534 with auto_unmount and --daemon: the watchdog watches the daemon that serves', async (t) => {
  if (!(await requireFusermount(t))) return;
  const u = await userMountSetup(t);
  populateFile(u.src);
  // No --log-file: a user's daemon logs under the XDG state home (HOME is dir/home here).
  const started = await u.cli([u.src, u.mnt, '--daemon', '-o', 'auto_unmount']);
  t.equal(started.code, 0, 'the command returns once mounted', { stderr: started.stderr.toString() });
  const logs = join(u.dir, 'home', '.local', 'state', 'splicefs');
  t.ok(existsSync(logs) && readdirSync(logs).some((f) => f.endsWith('.log')), `its log is in ${logs}`);
  t.ok(u.mountAt(), 'mounted');
  const dogs = watchdogPids(u.mnt);
  t.equal(dogs.length, 1, 'one watchdog for the mountpoint');
  // Its parent is the daemon (the command that started it has exited): the server.
  const ppid = Number(/^PPid:\s*(\d+)/m.exec(readFileSync(`/proc/${dogs[0]}/status`, 'utf8'))?.[1]);
  const cmd = readFileSync(`/proc/${ppid}/cmdline`, 'utf8').split('\0');
  t.ok(cmd.includes(u.mnt) && cmd.includes('--daemon'), `the watchdog's parent (pid ${ppid}) is the daemon serving the mount`);
  process.kill(ppid, 'SIGKILL');
  t.ok(await until(() => u.mountAt() === null, 10_000), 'kill -9 the daemon: within 10 s no mount is left');
  t.ok(await until(() => watchdogPids(u.mnt).length === 0, 10_000), 'and no watchdog process is left');
  if (u.mountAt()) await u.cli(['umount', u.mnt]);
});

t.test('root with auto_unmount: through fusermount3, worker threads serve, kill -9 leaves no mount', async (t) => {
  if (!(await requireFusermount(t))) return;
  const srv = await startCliServer(t, ['-o', 'auto_unmount', '--read-mode', 'splice', '--log-format', 'json']);
  t.equal(srv.mounted.mountedBy, 'fusermount3', 'as root too, auto_unmount mounts through fusermount3');
  t.equal(srv.mounted.autoUnmount, true, 'the mount line says auto_unmount');
  t.equal(srv.mounted.threads, 2, 'two worker threads on clones of the fd fusermount3 sent');
  const read = await run('cat', [join(srv.mnt, 'f')]);
  t.equal(read.code, 0, 'a read through the mount');
  const node = cleanNode();
  const stats = await run(node[0]!, [...node.slice(1), CLI, 'stats', srv.mnt, '--json']);
  const live = JSON.parse(stats.stdout.toString()) as { stats: { read: { spliceReplies: number } } };
  t.ok(live.stats.read.spliceReplies > 0, 'READs answered by splice');
  srv.child.kill('SIGKILL');
  await srv.exited;
  t.ok(await until(() => !isMounted(srv.mnt), 5_000), 'within 5 s of kill -9 no mount is left');
});

leftoverCheck(t);
