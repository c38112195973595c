// A FLUSH passes on to the backing file (close(dup(fd)), addon/write.h FlushFd), and one whose
// backing file blocks stalls nothing else. A close(2) through the mount sends FLUSH; the server
// closes a duplicate of the backing fd, which runs the backing filesystem's own flush (here a
// FUSE mount, A, whose server is stopped: its FLUSH waits). So the writer's close waits as it
// would on the source itself, while requests on other files and the control socket are answered
// (test/helpers/stopped-backing.ts othersAnsweredWhileBlocked); once A continues the close
// returns. Before, FLUSH was answered without touching the backing file, so an error that a
// filesystem reports only at close (NFS write-back) never reached the caller (rw-flush-error).
// Workers reading (--no-park) and parked (the event loop passes the FLUSH to a worker as a job).
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { othersAnsweredWhileBlocked, withSlowBacking } from '../helpers/stopped-backing.js';

for (const bArgs of [[], ['--no-park']]) {
  t.test(`a FLUSH whose backing file blocks waits for it and stalls nothing${bArgs.length ? ' (' + bArgs.join(' ') + ')' : ''}`, async (t) => {
    await withSlowBacking(t, bArgs, (s) => othersAnsweredWhileBlocked(t, s, 'close'));
  });
}

leftoverCheck(t);
