// A WRITE, an FSYNC or a FALLOCATE on a backing file that blocks stalls only the worker thread
// that read it (addon/write.cc): the other files' requests are still answered. The backing file
// that blocks is a file of a second splicefs server (A) whose process is stopped (SIGSTOP);
// the server under test (B, a CLI child, default --threads 2) has A's mount inside its source
// (test/helpers/stopped-backing.ts). While the writer is blocked, other processes stat and read
// another file, list the source and create, write and read a new file through B, and B's
// control socket (its event loop) answers `splicefs stats`; the writer is still blocked after
// all of that. Then A is continued: the writer returns, its bytes are in A's source, and B's
// counters count the request that was in flight.
//
// What the kernel sends first matters: a buffered write(2) and fallocate(2) make it ask B for
// the file's security.capability (GETXATTR, file_remove_privs) before the WRITE or FALLOCATE,
// which B's workers answer on the open handle's fd; those variants are in
// slow-backing-getxattr.test.ts. Here the WRITE goes with B's
// --direct-io (the kernel then sends the WRITE with no GETXATTR before it) and the FSYNC comes
// after a write made while A ran.
//
// With --threads 0 the event loop itself executes the FSYNC, so there the other requests DO
// wait: still unanswered after 5 s while the FSYNC is blocked, all answered once A continues.
import t from 'tap';
import { leftoverCheck, within } from '../helpers/mount.js';
import {
  ANSWER_MS,
  answeredRight,
  otherProbes,
  othersAnsweredWhileBlocked,
  sleep,
  startProbes,
  withSlowBacking,
} from '../helpers/stopped-backing.js';

t.test('a WRITE blocked in a worker stalls only that worker (--direct-io: no GETXATTR first)', async (t) => {
  await withSlowBacking(t, ['--direct-io'], (s) => othersAnsweredWhileBlocked(t, s, 'write'));
});

t.test('an FSYNC blocked in a worker stalls only that worker', async (t) => {
  await withSlowBacking(t, [], (s) => othersAnsweredWhileBlocked(t, s, 'fsync'));
});

t.test('with --threads 0 the event loop executes the FSYNC: the other requests wait for it', async (t) => {
  await withSlowBacking(t, ['--threads', '0'], async (s) => {
    const w = await s.writer('fsync');
    await within(ANSWER_MS, 'the write before the fsync', w.said('written'));
    t.ok(await s.stopA(), 'every thread of A is stopped');
    w.cue();
    await sleep(3000);
    t.notOk(w.done(), "the writer's fsync is blocked while A is stopped");
    const probes = startProbes(otherProbes(s.mnt, 'threads0'));
    await sleep(5000);
    for (const p of probes) t.equal(p.finished(), undefined, `${p.probe.what}: still unanswered 5 s later (the event loop is in fsync)`);
    t.notOk(w.done(), 'the fsync is still blocked');
    s.contA();
    await within(ANSWER_MS, 'the fsync once A continues', w.said('done'));
    for (const p of probes) {
      const r = await within(ANSWER_MS, p.probe.what, p.result).catch(() => undefined);
      t.ok(answeredRight(r, p.probe), `${p.probe.what}: answered once A continues`, { stdout: r?.stdout.toString(), code: r?.code });
    }
  });
});

leftoverCheck(t);
