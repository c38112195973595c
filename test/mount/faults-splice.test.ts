// Fault injection on the splice path of a direct-io mount, each header strategy, served by the
// event loop (threads 0) and by a worker: a full pipe (drained or replaced, or no new pipe can
// be made, three times running), a header that does not go into the pipe, a backing file that
// fails (EIO to the reader), a reply the device refuses (interrupted). Each: the fallback ran
// and was counted, the armed fault was used, the bytes are the source's, the worker handed the
// READ to the event loop only where the plan failed, and the server is healthy afterwards.
// Through the mount only fs.promises (the server shares this event loop) or child processes.
import t from 'tap';
import { disarmAll, E, populate, runScenarios, THREADS, type Scenario } from '../helpers/faults.js';
import { leftoverCheck, withAllSplice } from '../helpers/mount.js';

t.afterEach(disarmAll);

const SPLICE_SCENARIOS: Scenario[] = [
  {
    name: 'pipe full (the data splice says EAGAIN): drained, sent by copy',
    faults: [['data', E.EAGAIN]],
    expect: { pipeFull: 1, copyReplies: 1, spliceReplies: 0, spliceError: 0, errorReplies: 0 },
    forwarded: true,
  },
  {
    name: 'the header does not go into the pipe: sent by copy',
    faults: [['header', E.ENOMEM]],
    expect: { spliceError: 1, copyReplies: 1, spliceReplies: 0, pipeFull: 0, errorReplies: 0 },
    forwarded: true,
  },
  {
    name: 'pipe full and the pipe cannot be drained: replaced, sent by copy',
    faults: [
      ['data', E.EAGAIN],
      ['drain', E.EIO],
    ],
    expect: { pipeFull: 1, copyReplies: 1, spliceReplies: 0, spliceError: 0, errorReplies: 0 },
    forwarded: true,
  },
  {
    name: 'pipe full, cannot be drained, and no new pipe can be made: sent by copy',
    faults: [
      ['data', E.EAGAIN],
      ['drain', E.EIO],
      ['pipe', E.EMFILE],
    ],
    expect: { spliceError: 1, pipeFull: 0, copyReplies: 1, spliceReplies: 0, errorReplies: 0 },
    forwarded: true,
  },
  {
    name: 'no pipe can be made for three READs in a row: each goes by copy, then splice resumes',
    faults: [
      ['data', E.EAGAIN],
      ['drain', E.EIO],
      ['pipe', E.ENFILE, 3],
    ],
    reads: 3,
    expect: { spliceError: 3, pipeFull: 0, copyReplies: 3, spliceReplies: 0, errorReplies: 0 },
    forwarded: true,
  },
  {
    name: 'the backing file fails to read (EIO): the reader gets EIO',
    faults: [['data', E.EIO]],
    fails: 'EIO',
    expect: { errorReplies: 1, spliceReplies: 0, copyReplies: 0, pipeFull: 0, spliceError: 0, noSpliceRead: 0 },
    forwarded: true,
  },
  {
    name: 'the device refuses the reply (ENOENT, interrupted): counted, not sent again',
    faults: [['device', E.ENOENT]],
    expect: { interrupted: 1, spliceReplies: 0, copyReplies: 0, errorReplies: 0, pipeFull: 0, spliceError: 0 },
    forwarded: false,
  },
];

for (const [tname, topts] of THREADS) {
  for (const headerMode of ['patch', 'write'] as const) {
    t.test(`splice faults, header ${headerMode}, direct-io, ${tname}`, async (t) => {
      await withAllSplice(t, { ...topts, directIo: true, readMode: 'splice', headerMode }, { populate }, async (m) => {
        t.equal(m.handle.info.threads, topts.threads, `${m.handle.info.threads} worker threads`);
        t.equal(m.handle.info.headerMode, headerMode, `header strategy ${headerMode}`);
        await runScenarios(t, m, SPLICE_SCENARIOS, true);
      });
    });
  }
}

leftoverCheck(t);
