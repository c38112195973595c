// Fault injection on the copy path of a direct-io copy-mode mount, served by the event loop
// (threads 0) and by a worker: a backing file that fails (EIO to the reader) and a reply the
// device refuses (interrupted, counted, not sent again). Each: counted, the armed fault used,
// forwarded to the event loop only where the plan failed, and the server healthy afterwards.
// Through the mount only fs.promises (the server shares this event loop) or child processes.
import t from 'tap';
import { disarmAll, E, populate, runScenarios, THREADS, type Scenario } from '../helpers/faults.js';
import { leftoverCheck, withAllSplice } from '../helpers/mount.js';

t.afterEach(disarmAll);

const COPY_SCENARIOS: Scenario[] = [
  {
    name: 'copy mode: the backing file fails to read (EIO): the reader gets EIO',
    faults: [['pread', E.EIO]],
    fails: 'EIO',
    expect: { errorReplies: 1, copyReplies: 0, spliceReplies: 0 },
    forwarded: true,
  },
  {
    name: 'copy mode: the device refuses the reply (ENOENT, interrupted): counted, not sent again',
    faults: [['device', E.ENOENT]],
    expect: { interrupted: 1, copyReplies: 0, errorReplies: 0 },
    forwarded: false,
  },
];

for (const [tname, topts] of THREADS) {
  t.test(`copy-mode faults, direct-io, ${tname}`, async (t) => {
    await withAllSplice(t, { ...topts, directIo: true, readMode: 'copy' }, { populate }, async (m) => {
      await runScenarios(t, m, COPY_SCENARIOS, false);
    });
  });
}

leftoverCheck(t);
