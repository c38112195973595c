// The control socket is for the server's owner (root) only: a 0600 socket in a 0700
// directory of root's. Another user (uid 65534 through setpriv) is refused by `stats` and by
// `set` with one line naming who may use it, and the mode did not change.
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import t from 'tap';
import { cli, oneLineError } from '../helpers/cli.js';
import { controlSocketOf } from '../helpers/control.js';
import { leftoverCheck, withMount } from '../helpers/mount.js';

t.test('uid 65534 may not use the socket; its file modes say so', async (t) => {
  // allow_other: the user can reach the mount itself; the socket must still refuse it.
  await withMount(t, { allowOther: true }, {}, async ({ mnt, handle }) => {
    const sock = controlSocketOf(mnt);
    const st = statSync(sock);
    const dir = statSync(dirname(sock));
    t.ok(st.isSocket(), `${sock} is a socket`);
    t.equal(st.mode & 0o777, 0o600, 'socket 0600');
    t.equal(dir.mode & 0o777, 0o700, 'directory 0700');
    t.same([st.uid, dir.uid], [0, 0], "both root's");

    oneLineError(t, 'stats as uid 65534', await cli(['stats', mnt], { asNobody: true }), /permission denied: the control socket of .* is for root only/, 1);
    oneLineError(t, 'set as uid 65534', await cli(['set', mnt, 'read-mode', 'copy'], { asNobody: true }), /permission denied/, 1);
    t.equal(handle.readMode, 'auto', 'the mode did not change');
    const asRoot = await cli(['stats', mnt]);
    t.equal(asRoot.code, 0, 'root still gets the stats');
  });
});

leftoverCheck(t);
