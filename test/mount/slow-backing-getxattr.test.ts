// KNOWN TO FAIL (todo): a buffered write(2) or a fallocate(2) on a backing file that blocks
// stalls every request of the mount, although the WRITE and the FALLOCATE themselves are
// executed by a worker (addon/write.cc). Before either, the kernel asks the server for the
// file's security.capability (file_remove_privs -> cap_inode_need_killpriv -> GETXATTR, on
// every write and fallocate: FUSE superblocks have no SB_NOSEC). B answers GETXATTR on its
// event loop with fgetxattr on the same backing file, which blocks as the write would: the
// event loop waits, and with it every other file's request and the control socket. (B's
// --direct-io avoids it for WRITE, not for FALLOCATE: slow-backing-worker.test.ts.)
//
// Same set-up and same assertions as slow-backing-worker.test.ts (a backing file whose server
// is stopped; test/helpers/stopped-backing.ts). Each variant ends cleanly: once A continues,
// everything that waited is answered. When GETXATTR of a writable handle goes to a worker (or
// off the event loop), drop the todo.
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { othersAnsweredWhileBlocked, withSlowBacking } from '../helpers/stopped-backing.js';

const TODO = 'the GETXATTR security.capability the kernel sends before a buffered write or a fallocate is served on the event loop, from the blocked backing file';

// The tests run; the assertions about the other requests are todo (tap skips a whole todo subtest).
t.test('a buffered WRITE blocked behind its GETXATTR stalls only that worker', async (t) => {
  await withSlowBacking(t, [], (s) => othersAnsweredWhileBlocked(t, s, 'write', TODO));
});

t.test('a FALLOCATE blocked behind its GETXATTR stalls only that worker', async (t) => {
  await withSlowBacking(t, [], (s) => othersAnsweredWhileBlocked(t, s, 'fallocate', TODO));
});

leftoverCheck(t);
