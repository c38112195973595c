// A server killed with SIGKILL cannot remove its socket: `stats` then says the server is gone
// (and how to clean the stale mount), and the socket does not block the next mount of the same
// mountpoint, whose own server answers on the same path.
import { existsSync } from 'node:fs';
import t from 'tap';
import { cli, oneLineError } from '../helpers/cli.js';
import { controlSocketOf, startCliServer, statsJson } from '../helpers/control.js';
import { leftoverCheck, within } from '../helpers/mount.js';

t.test('a kill -9 leaves a socket; the next mount replaces it', async (t) => {
  const first = await startCliServer(t, []);
  const sock = controlSocketOf(first.mnt);
  first.child.kill('SIGKILL');
  await within(15_000, 'server death', first.exited);
  t.ok(existsSync(sock), 'the killed server left its socket');
  oneLineError(t, 'stats of the dead server', await cli(['stats', first.mnt]), /server that is gone .*splicefs umount/, 1);
  t.equal((await cli(['umount', first.mnt])).code, 0, 'the stale mount is cleaned');

  const second = await startCliServer(t, [], { src: first.src, mnt: first.mnt });
  t.match(second.stderr(), /control socket left by an earlier server replaced/, 'the new server says it replaced it');
  const live = await statsJson(t, second.mnt);
  t.equal(live.pid, second.child.pid, 'stats reaches the new server');
  second.child.kill('SIGTERM');
  await within(15_000, 'server exit', second.exited);
  t.notOk(existsSync(sock), 'and it removes the socket when it ends');
});

leftoverCheck(t);
