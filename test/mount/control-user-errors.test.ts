// `stats` and `set` run by an ordinary user (uid 65534), and by root, where no server answers:
// each says what holds for the path (it does not exist, it is not a mount point, its server is
// gone), never "the control socket ... is for root only" because root's /run/splicefs refused a
// user that had no business there. And a closed pipe ends a user's --watch quietly. In a
// namespace with a 0666 /dev/fuse (helpers/user-ns.ts); root's commands run in it too.
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { CLI, NODE, oneLineError } from '../helpers/cli.js';
import { populateFile } from '../helpers/control.js';
import { leftoverCheck, type RunResult } from '../helpers/mount.js';
import { requireFusermount, userMountSetup, type UserMountSetup } from '../helpers/user-ns.js';

/** `splicefs ARGS...` as root in the namespace. */
function asRoot(u: UserMountSetup, args: readonly string[]): Promise<RunResult> {
  return u.ns.run(NODE, [CLI, ...args]);
}

/** Neither the wrong line of old nor a stack trace. */
function notRootOnly(t: Test, what: string, r: RunResult): void {
  t.notMatch(r.stderr.toString(), /for root only/, `${what}: not "for root only"`);
}

t.test('a path that is no mount, or does not exist: the same line for the user as for root', async (t) => {
  if (!(await requireFusermount(t))) return;
  const u = await userMountSetup(t);
  const missing = join(u.dir, 'missing');
  for (const [who, runIt] of [
    ['uid 65534', (a: string[]) => u.cli(a)],
    ['root', (a: string[]) => asRoot(u, a)],
  ] as const) {
    const plain = await runIt(['stats', u.src]);
    notRootOnly(t, `${who}: stats of a directory`, plain);
    oneLineError(t, `${who}: stats of a directory`, plain, /^splicefs: no splicefs server serves .*\/src: it is not a mount point$/, 1);
    oneLineError(t, `${who}: stats of /tmp`, await runIt(['stats', '/tmp']), /: it is not a mount point$/, 1);
    oneLineError(t, `${who}: stats of a missing path`, await runIt(['stats', missing]), /^splicefs: no splicefs server serves .*\/missing: it does not exist$/, 1);
    oneLineError(t, `${who}: stats of /nonexistent`, await runIt(['stats', '/nonexistent']), /: it does not exist$/, 1);
    oneLineError(t, `${who}: set on a directory`, await runIt(['set', u.src, 'read-mode', 'copy']), /: it is not a mount point$/, 1);
    oneLineError(t, `${who}: set on a missing path`, await runIt(['set', missing, 'read-mode', 'copy']), /: it does not exist$/, 1);
  }
});

t.test("the user's own mount: stats works, --watch | head ends quietly; after kill -9 the server is gone", async (t) => {
  if (!(await requireFusermount(t))) return;
  const u = await userMountSetup(t);
  populateFile(u.src);
  const srv = await u.startServer(t, []);

  const watch = await u.asUser('bash', ['-c', '"$@" | head -1; echo "status=${PIPESTATUS[0]}"', 'bash', NODE, CLI, 'stats', u.mnt, '--watch'], 20_000);
  t.match(watch.stdout.toString(), /^splicefs on .*\n(?:.*\n)?status=0\n$/, '--watch | head -1 as the user: head got a line, splicefs exits 0', {
    stdout: watch.stdout.toString(),
  });
  t.equal(watch.stderr.toString(), '', 'nothing on stderr (no EPIPE stack trace)');
  const full = await u.asUser('bash', ['-c', '"$@" > /dev/full', 'bash', NODE, CLI, 'stats', u.mnt]);
  oneLineError(t, 'stats > /dev/full as the user', full, /cannot write the output: .*\(ENOSPC\)$/, 1);

  // Root's server is not this one: root, asked, names where it looked (the user's socket is
  // in their $XDG_RUNTIME_DIR, which root cannot know) and does not claim a permission problem.
  const root = await asRoot(u, ['stats', u.mnt]);
  const line = oneLineError(t, 'root: stats of a user mount whose socket is in $XDG_RUNTIME_DIR', root, /no control socket of its server \(uid 65534\)/, 1);
  t.match(line, /at \/run\/user\/65534\/splicefs\/[0-9a-f]{32}\.sock, \/tmp\/splicefs-65534\/[0-9a-f]{32}\.sock;/, 'names where it looked');
  t.match(line, /\$XDG_RUNTIME_DIR cannot be found from here \(run as uid 65534\)/, 'and why it may not have found it');

  const killed = await u.ns.run('kill', ['-KILL', String(srv.pid)]);
  t.equal(killed.code, 0, 'the server killed with SIGKILL');
  await srv.exited;
  t.equal(u.mountAt()?.fstype, 'fuse.splicefs', 'the stale mount is still there');
  const stale = await u.cli(['stats', u.mnt]);
  notRootOnly(t, 'user: stats of their stale mount', stale);
  oneLineError(t, 'user: stats of their stale mount', stale, /: its server is gone \(stale mount: run 'splicefs umount .*\/mnt'\)$/, 1);
  oneLineError(t, 'user: set on their stale mount', await u.cli(['set', u.mnt, 'read-mode', 'copy']), /: its server is gone/, 1);
  notRootOnly(t, 'root: stats of the stale user mount', await asRoot(u, ['stats', u.mnt]));
});

leftoverCheck(t);
