// A mount's control socket exists while it is mounted and is removed however the mount ends:
// the API's unmount, SIGTERM to the CLI server, an external umount. `stats` then says that
// nothing serves the path.
import { existsSync } from 'node:fs';
import t from 'tap';
import { cli, oneLineError } from '../helpers/cli.js';
import { controlSocketOf, startCliServer } from '../helpers/control.js';
import { leftoverCheck, run, within, withMount } from '../helpers/mount.js';

t.test('API: removed by unmount()', async (t) => {
  let sock = '';
  await withMount(t, {}, {}, async ({ mnt, handle }) => {
    sock = controlSocketOf(mnt);
    t.equal(handle.info.controlSocket, sock, 'info names the socket');
    t.ok(existsSync(sock), 'exists while mounted');
    await handle.unmount();
    t.notOk(existsSync(sock), 'gone once unmount() resolved');
  });
});

for (const how of ['SIGTERM', 'umount'] as const) {
  t.test(`CLI: removed after ${how}`, async (t) => {
    const s = await startCliServer(t, []);
    const sock = controlSocketOf(s.mnt);
    t.equal(s.mounted.controlSocket, sock, 'the mounted line names the socket');
    t.ok(existsSync(sock), 'exists while mounted');
    if (how === 'SIGTERM') s.child.kill('SIGTERM');
    else t.equal((await run('umount', [s.mnt])).code, 0, 'umount');
    t.equal((await within(15_000, 'server exit', s.exited)).code, 0, 'the server exits 0');
    t.notOk(existsSync(sock), 'the socket is gone');
    oneLineError(t, 'stats afterwards', await cli(['stats', s.mnt]), /no splicefs server serves .*: it is not a mount point/, 1);
  });
}

leftoverCheck(t);
