// When the workers park and when they read again (src/transport/phases.ts), without a mount:
// the windows, the thresholds on both sides of each line, the hysteresis between them, and the
// baselines each switch takes (counters the workers kept moving while parked must not count).
import t from 'tap';
import { PARK_MAX_ANSWERED, PHASE_WINDOW, PhasePolicy, UNPARK_DATA } from '../../src/transport/phases.js';

/** Feed a workers-phase window: `answered` of PHASE_WINDOW requests answered by the workers. */
function workersWindow(p: PhasePolicy, totals: { forwarded: number; answered: number }, answered: number): boolean {
  totals.forwarded += PHASE_WINDOW - answered;
  totals.answered += answered;
  return p.afterHandOver(totals.forwarded, totals.answered);
}

t.test('the workers park after a window in which they answered at most PARK_MAX_ANSWERED', async (t) => {
  t.ok(UNPARK_DATA > PARK_MAX_ANSWERED, 'the two lines leave a gap (no switching back and forth each window)');
  const p = new PhasePolicy();
  const totals = { forwarded: 0, answered: 0 };
  const early = new PhasePolicy();
  t.notOk(early.afterHandOver(PHASE_WINDOW - 1, 0), 'not before a whole window');
  t.notOk(early.parked);
  t.ok(early.afterHandOver(PHASE_WINDOW, 0), 'the window completed: all handed over, park');
  t.notOk(workersWindow(p, totals, PARK_MAX_ANSWERED + 1), 'one answered more than the line: the workers go on reading');
  t.notOk(p.parked);
  t.equal(p.counts.parks, 0);
  t.ok(workersWindow(p, totals, PARK_MAX_ANSWERED), 'at the line: park');
  t.ok(p.parked);
  t.equal(p.counts.parks, 1);
  t.notOk(p.afterHandOver(totals.forwarded + 1000, totals.answered), 'parked: hand-overs decide nothing more');
});

t.test('a window that ends each evaluation: an old busy window does not carry over', async (t) => {
  const p = new PhasePolicy();
  const totals = { forwarded: 0, answered: 0 };
  t.notOk(workersWindow(p, totals, PHASE_WINDOW), 'a streaming window: the workers answered all');
  t.ok(workersWindow(p, totals, 0), 'the next window, all handed over, is judged alone');
});

t.test('parked: the workers read again once UNPARK_DATA requests of a loop window went to them', async (t) => {
  const p = new PhasePolicy();
  const totals = { forwarded: 0, answered: 0 };
  workersWindow(p, totals, 0);
  t.ok(p.parked);
  const now = () => ({ ...totals });
  let switched = false;
  for (let i = 0; i < UNPARK_DATA - 1; i++) switched ||= p.afterLoopRead(true, now);
  t.notOk(switched, 'one short of the line: still parked');
  for (let i = 0; i < PHASE_WINDOW - UNPARK_DATA + 1; i++) switched ||= p.afterLoopRead(false, now);
  t.notOk(switched, 'the window ended below the line');
  t.ok(p.parked);
  for (let i = 0; i < UNPARK_DATA - 1; i++) t.notOk(p.afterLoopRead(true, now));
  t.notOk(p.afterLoopRead(false, now), 'a fresh window: its own count');
  t.ok(p.afterLoopRead(true, now), 'the line reached within one window: unpark');
  t.notOk(p.parked);
  t.equal(p.counts.unparks, 1);
  t.notOk(p.afterLoopRead(true, now), 'not parked: loop reads decide nothing');
});

t.test('unparking takes the counters as they are as the next window\'s start', async (t) => {
  const p = new PhasePolicy();
  const totals = { forwarded: 0, answered: 0 };
  workersWindow(p, totals, 0);
  // While parked, the workers answered many jobs: they must not count in the next window.
  totals.answered += 10 * PHASE_WINDOW;
  for (let i = 0; i < UNPARK_DATA; i++) p.afterLoopRead(true, () => ({ ...totals }));
  t.notOk(p.parked);
  t.ok(workersWindow(p, totals, 0), 'the first window after unparking, all handed over, parks again');
  t.equal(p.counts.parks, 2);
});
