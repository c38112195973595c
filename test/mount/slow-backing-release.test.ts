// The RELEASE of a file whose backing file blocks on close stalls nothing. A file closed through
// the mount is closed on the source as well, when the kernel sends RELEASE; closing a file on a
// filesystem that flushes on close (NFS, FUSE: close sends a FLUSH) waits for that filesystem.
// (A FLUSH of ours waits too, by design: slow-backing-flush. So the writer here maps the file and
// closes its fd while A runs, and on the cue unmaps it: the RELEASE then comes alone.) Closed on the event loop, one such file would
// stall every other file's request and the control socket; splicefs closes released files on a
// closer threads of their own (addon/closer.cc; stats().fds.closesPending counts those not
// closed yet).
//
// Set-up as slow-backing-worker.test.ts (test/helpers/stopped-backing.ts): the writer writes
// 1 MiB while A runs, A is stopped, the writer closes its file; the other requests are answered
// meanwhile, the close of the backing file stays pending until A continues, and then completes.
import t from 'tap';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { leftoverCheck } from '../helpers/mount.js';
import { ANSWER_MS, answeredRight, MiB, otherProbes, sleep, startProbes, withSlowBacking } from '../helpers/stopped-backing.js';
import { within } from '../helpers/mount.js';

type Fds = { closesPending?: number };
const pending = (x: { stats: { fds: unknown } } | undefined) => (x?.stats.fds as Fds | undefined)?.closesPending ?? -1;

for (const bArgs of [[], ['--no-park']]) {
  t.test(`a RELEASE whose close blocks stalls nothing${bArgs.length ? ' (' + bArgs.join(' ') + ')' : ''}`, async (t) => {
    await withSlowBacking(t, bArgs, async (s) => {
      const w = await s.writer('munmap');
      await within(ANSWER_MS, 'the write, map and close before the unmap', w.said('written'));
      const before = await s.stats();
      t.equal(pending(before), 0, 'no close pending before');
      t.ok(await s.stopA(), 'every thread of A is stopped');
      w.cue();
      await within(ANSWER_MS, "the writer's munmap (the RELEASE goes on without it)", w.said('done'));
      await sleep(1000); // the RELEASE the kernel sends after the close reaches B meanwhile
      const probes = startProbes(otherProbes(s.mnt, 'release'));
      const during = s.stats(ANSWER_MS);
      const results = await Promise.all(probes.map((p) => within(ANSWER_MS, p.probe.what, p.result).catch(() => undefined)));
      for (const [i, p] of probes.entries()) t.ok(answeredRight(results[i], p.probe), `${p.probe.what}: answered while the close is blocked`);
      const mid = await during;
      t.ok(mid, "B's control socket (its event loop) answered `splicefs stats` meanwhile");
      // The slow file's close, and any other still in flight (the probes' own)
      t.ok(pending(mid) >= 1, `the backing close is pending (closesPending ${pending(mid)})`);
      s.contA();
      let after = await s.stats();
      for (let i = 0; i < 50 && pending(after) !== 0; i++) {
        await sleep(100);
        after = await s.stats();
      }
      t.equal(pending(after), 0, 'the close completed once A continued');
      t.ok(readFileSync(join(s.srcA, 'file')).length === MiB, "the 1 MiB is in A's source");
    });
  });
}

leftoverCheck(t);
