// A server killed with SIGKILL cannot remove its socket: `stats` then says the server is gone
// (and how to clean the stale mount), and the socket does not block the next mount of the same
// mountpoint, whose own server answers on the same path. Sockets nobody listens on any more are
// swept when a server starts (those of other mountpoints too); a live one is left alone.
import { existsSync, unlinkSync, utimesSync } from 'node:fs';
import { createServer } from 'node:net';
import t from 'tap';
import { runtimeDir } from '../../src/control/socket-path.js';
import { cli, oneLineError } from '../helpers/cli.js';
import { controlSocketOf, startCliServer, statsJson } from '../helpers/control.js';
import { leftoverCheck, run, within, withMount } from '../helpers/mount.js';

t.test('a kill -9 leaves a socket; the next mount replaces it', async (t) => {
  const first = await startCliServer(t, []);
  const sock = controlSocketOf(first.mnt);
  first.child.kill('SIGKILL');
  await within(15_000, 'server death', first.exited);
  t.ok(existsSync(sock), 'the killed server left its socket');
  oneLineError(t, 'stats of the dead server', await cli(['stats', first.mnt]), /its server is gone \(stale mount: run 'splicefs umount /, 1);
  t.equal((await cli(['umount', first.mnt])).code, 0, 'the stale mount is cleaned');

  const second = await startCliServer(t, [], { src: first.src, mnt: first.mnt });
  t.match(second.stderr(), /control socket left by an earlier server replaced/, 'the new server says it replaced it');
  const live = await statsJson(t, second.mnt);
  t.equal(live.pid, second.child.pid, 'stats reaches the new server');
  second.child.kill('SIGTERM');
  await within(15_000, 'server exit', second.exited);
  t.notOk(existsSync(sock), 'and it removes the socket when it ends');
});

t.test('a server that starts sweeps sockets nobody listens on, and keeps live ones', async (t) => {
  const dir = runtimeDir(0);
  const [dead, live] = [`${dir}/test-${process.pid}-dead.sock`, `${dir}/test-${process.pid}-live.sock`];
  t.teardown(() => [dead, live].forEach((p) => existsSync(p) && unlinkSync(p)));
  // A socket whose process is gone: bound, never unlinked (as a SIGKILL leaves it).
  const py = await run('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', dead]);
  t.equal(py.code, 0, 'a dead socket made');
  const server = createServer().listen(live);
  t.teardown(() => void server.close());
  await new Promise((r) => server.once('listening', r));
  const minuteAgo = new Date(Date.now() - 60_000);
  for (const p of [dead, live]) utimesSync(p, minuteAgo, minuteAgo); // past the sweep's minimum age
  await withMount(t, {}, {}, async () => {
    t.notOk(existsSync(dead), 'the dead socket was swept');
    t.ok(existsSync(live), 'the live one is still there');
  });
});

leftoverCheck(t);
