// Root uses `stats` and `set` on an ordinary user's mount (the README: "only that user and
// root can connect"): a fuse.splicefs mount's user_id= names its server's uid, and root looks
// in that uid's directories (/run/user/UID/splicefs, /tmp/splicefs-UID). A third user is
// refused with one line naming who may use the socket; after kill -9 root hears that the
// server is gone. The user's server runs without $XDG_RUNTIME_DIR, so its socket goes to
// /run/user/65534/splicefs: a tmpfs over /run/user in the namespace (helpers/user-ns.ts), seen
// by nothing outside it.
import t from 'tap';
import { CLI, NODE, oneLineError } from '../helpers/cli.js';
import { populateFile } from '../helpers/control.js';
import { leftoverCheck } from '../helpers/mount.js';
import { NOBODY, requireFusermount, userMountSetup } from '../helpers/user-ns.js';

const OTHER = NOBODY - 1;

t.test("root reaches a user's server by its /run/user/UID socket; another user is refused; kill -9: gone", async (t) => {
  if (!(await requireFusermount(t))) return;
  const u = await userMountSetup(t);
  populateFile(u.src);
  const runUser = `/run/user/${NOBODY}`;
  const prep = await u.ns.run('sh', ['-c', `mount -t tmpfs -o mode=0755 tmpfs /run/user && mkdir -m 0700 ${runUser} && chown ${NOBODY}:${NOBODY} ${runUser}`]);
  t.equal(prep.code, 0, `${runUser} (0700, the user's) in the namespace`, { stderr: prep.stderr.toString() });

  const log = `${u.dir}/home/server.log`;
  const user = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'env', '-u', 'NODE_OPTIONS', '-u', 'XDG_RUNTIME_DIR', `HOME=${u.dir}/home`];
  const started = await u.ns.run(user[0]!, [...user.slice(1), NODE, CLI, u.src, u.mnt, '--daemon', '--log-format', 'json', '--log-file', log]);
  t.equal(started.code, 0, 'the user starts a daemon without XDG_RUNTIME_DIR', { stderr: started.stderr.toString() });
  t.equal(u.mountAt()?.fstype, 'fuse.splicefs', 'mounted');
  const sockets = await u.ns.run('sh', ['-c', `ls ${runUser}/splicefs`]);
  t.match(sockets.stdout.toString(), /^[0-9a-f]{32}\.sock$/m, `its socket is in ${runUser}/splicefs`);

  const stats = await u.ns.run(NODE, [CLI, 'stats', u.mnt, '--json']);
  t.equal(stats.code, 0, "root: stats of the user's mount", { stderr: stats.stderr.toString() });
  const live = JSON.parse(stats.stdout.toString() || '{}') as { pid?: number };
  t.ok(typeof live.pid === 'number' && live.pid > 0, `the user's server answered (pid ${live.pid})`);
  const set = await u.ns.run(NODE, [CLI, 'set', u.mnt, 'read-mode', 'copy']);
  t.equal(set.code, 0, "root: set on the user's mount", { stderr: set.stderr.toString() });
  t.match(set.stdout.toString(), /^read-mode copy \(was auto\)/, 'the server changed its mode');
  const own = await u.cli(['stats', u.mnt, '--json']);
  t.equal(own.code, 0, 'the user (also without that XDG_RUNTIME_DIR) reaches it too', { stderr: own.stderr.toString() });

  const other = ['setpriv', `--reuid=${OTHER}`, `--regid=${OTHER}`, '--clear-groups', 'env', '-u', 'NODE_OPTIONS', NODE, CLI];
  const refused = await u.ns.run(other[0]!, [...other.slice(1), 'stats', u.mnt]);
  oneLineError(t, `uid ${OTHER}: stats of uid ${NOBODY}'s mount`, refused, new RegExp(`^splicefs: permission denied: the control socket of .*/mnt is for uid ${NOBODY} and root only \\(run as uid ${NOBODY} or root\\)$`), 1);
  oneLineError(t, `uid ${OTHER}: set`, await u.ns.run(other[0]!, [...other.slice(1), 'set', u.mnt, 'read-mode', 'splice']), /permission denied: .* is for uid 65534 and root only/, 1);

  const pids = await u.ns.run('sh', ['-c', 'pgrep -u 65534 -f "dist/cli.js"']);
  t.ok(pids.stdout.toString().trim().length > 0, 'the daemon found', { out: pids.stdout.toString() });
  const killed = await u.ns.run('sh', ['-c', 'kill -KILL $(pgrep -u 65534 -f "dist/cli.js")']);
  t.equal(killed.code, 0, 'the daemon killed with SIGKILL');
  await new Promise((r) => setTimeout(r, 300));
  t.equal(u.mountAt()?.fstype, 'fuse.splicefs', 'its stale mount is left');
  oneLineError(t, 'root: stats of the stale user mount', await u.ns.run(NODE, [CLI, 'stats', u.mnt]), /: its server is gone \(stale mount: run 'splicefs umount /, 1);
});

leftoverCheck(t);
