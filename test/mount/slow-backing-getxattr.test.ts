// A buffered write(2) or a fallocate(2) on a backing file that blocks stalls only the worker that
// takes it, although the kernel first asks the server for the file's security.capability
// (file_remove_privs -> cap_inode_need_killpriv -> GETXATTR, before a write or fallocate: FUSE
// superblocks get SB_NOSEC only once an inode has proved clean). Served on the event loop, that
// GETXATTR would run fgetxattr on the blocked backing file and stall every other file's request
// and the control socket. The worker threads answer it on an open handle's fd of the node
// (addon/write.h, plans.h), and stats().write.capabilityGetxattrs proves they did.
//
// Same set-up and assertions as slow-backing-worker.test.ts (a backing file whose server is
// stopped; test/helpers/stopped-backing.ts); each variant ends cleanly once A continues. Twice:
// with the workers reading the device, and parked (the event loop reads it and passes such a
// GETXATTR to a worker as a job: transport/workers.ts forWorker).
import t, { type Test } from 'tap';
import { leftoverCheck, run } from '../helpers/mount.js';
import { othersAnsweredWhileBlocked, withSlowBacking, type Slow } from '../helpers/stopped-backing.js';

type LiveWrite = { capabilityGetxattrs?: number };
const capGets = (x: Awaited<ReturnType<Slow['stats']>>) => (x?.stats.write as LiveWrite | undefined)?.capabilityGetxattrs ?? -1;

/** Park B's workers: a burst of LOOKUPs of names that do not exist (each answered on the loop). */
async function park(t: Test, s: Slow): Promise<void> {
  const py = 'import os,sys\nfor i in range(400): os.path.exists(os.path.join(sys.argv[1], "absent-%d" % i))';
  await run('python3', ['-c', py, s.mnt]);
  const st = await s.stats();
  const loop = st?.stats.loop;
  t.ok(loop && loop.parks > loop.unparks, `B's workers are parked (parks ${loop?.parks}, unparks ${loop?.unparks})`);
}

for (const mode of ['write', 'fallocate'] as const) {
  for (const parked of [false, true]) {
    t.test(`a ${mode.toUpperCase()} blocked behind its GETXATTR stalls only that worker${parked ? ', workers parked' : ''}`, async (t) => {
      await withSlowBacking(t, [], async (s) => {
        const before = await s.stats();
        if (parked) await park(t, s);
        await othersAnsweredWhileBlocked(t, s, mode);
        const after = await s.stats();
        t.ok(capGets(after) > capGets(before) && capGets(before) >= 0, `the workers answered the GETXATTR (write.capabilityGetxattrs ${capGets(before)} -> ${capGets(after)})`);
        if (parked) t.ok((after?.stats.loop.jobs ?? 0) > (before?.stats.loop.jobs ?? 0), `requests were passed to parked workers (loop.jobs ${after?.stats.loop.jobs})`);
      });
    });
  }
}

leftoverCheck(t);
