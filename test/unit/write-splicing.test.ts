// The write path's choices, alone (datapath/write.ts): how the worker threads read requests in
// each write mode (requestSplicing), and which plan a handle's WRITEs get (workerPlan). The
// counters that show the choices at work through a mount: test/mount/rw-write-streams.
import t from 'tap';
import { addon } from '../../src/addon.js';
import { requestSplicing, STREAM_SPLICING, WritePath } from '../../src/datapath/write.js';
import type { FileHandle } from '../../src/passthrough/handles.js';

const WRITE = addon.constants.planFields.indexOf('write');
const FLUSH = addon.constants.planFields.indexOf('flush');
// addon/reply.h WriteExec
const HAND_OVER = 0;
const COPY = 1;
const SPLICE = 2;

t.test('requestSplicing: the mode each write mode gives the workers', async (t) => {
  t.equal(requestSplicing('copy', true).mode, 'never', 'copy: read(2) always');
  t.equal(requestSplicing('splice', true).mode, 'always', 'splice: every request by splice');
  t.equal(requestSplicing('auto', true).mode, 'streams', 'auto: splice for streams of large WRITEs');
  for (const m of ['copy', 'splice', 'auto'] as const)
    t.equal(requestSplicing(m, false).mode, 'never', `${m}, where requests cannot be spliced (read-only, no workers, a small pipe): never`);
  const s = requestSplicing('auto', true);
  t.same({ largeWrite: s.largeWrite, enter: s.enter, cap: s.cap }, STREAM_SPLICING, 'the stream rule travels with it');
  t.ok(STREAM_SPLICING.enter >= 2 * 2, 'a stream needs two large WRITEs at least (each adds 2)');
  t.ok(STREAM_SPLICING.cap >= STREAM_SPLICING.enter, 'the ceiling is at or above the start');
});

const handle = (writable: boolean, append: boolean) => ({ writable, append, node: { nodeid: 7 } }) as unknown as FileHandle;
const readPlan = () => Int32Array.from({ length: addon.constants.planFields.length }, () => 0);

t.test('workerPlan: which handles the workers write, and how', async (t) => {
  const cases: Array<[string, 'copy' | 'splice' | 'auto', boolean, boolean, number]> = [
    ['copy, writable', 'copy', true, false, COPY],
    ['copy, O_APPEND', 'copy', true, true, COPY],
    ['splice, writable', 'splice', true, false, SPLICE],
    ['splice, O_APPEND (splice refuses append-only fds)', 'splice', true, true, COPY],
    ['auto, writable (spliced in only within a stream; pwrite otherwise)', 'auto', true, false, SPLICE],
    ['auto, O_APPEND', 'auto', true, true, COPY],
    ['auto, read-only handle', 'auto', false, false, HAND_OVER],
    ['copy, read-only handle', 'copy', false, false, HAND_OVER],
  ];
  for (const [what, mode, writable, append, want] of cases) {
    const wp = new WritePath(mode);
    const p = wp.workerPlan(handle(writable, append), readPlan());
    t.equal(p[WRITE], want, what);
    t.equal(p[FLUSH], 1, `${what}: FLUSH answered by the worker`);
  }
});

t.test('opened: O_APPEND handles counted where the mode would splice', async (t) => {
  for (const [mode, want] of [['copy', 0], ['splice', 1], ['auto', 1]] as const) {
    const wp = new WritePath(mode);
    wp.opened(handle(true, true));
    wp.opened(handle(true, false));
    wp.opened(handle(false, true));
    t.equal(wp.counts.fallbacks.appendCopies, want, `${mode}: appendCopies ${want}`);
  }
});
