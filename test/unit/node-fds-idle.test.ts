// Node fds given back in idle time (Passthrough.idle, node-fds.ts shedAhead), without a mount:
// the budget holds all along, an idle step gives back a bounded number of fds down to one batch
// below the budget and then reports nothing to do, and every node still answers afterwards.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { Passthrough } from '../../src/passthrough/fs.js';
import type { Node } from '../../src/passthrough/inodes.js';
import { RUN_PREFIX } from '../helpers/mount.js';

// 1024 lookups fill the budget; every 32 past it one batch goes back (hold): 1120 ends at it.
const N = 1120;
const BUDGET = 1024;
/** What node-fds.ts gives back at once when the budget is reached: 1/32 of it. */
const BATCH = BUDGET >> 5;

t.test('idle steps give fds back down to a batch below the budget, then stop', async (t) => {
  const src = join('/dev/shm', `${RUN_PREFIX}idle-shed`);
  mkdirSync(src);
  t.teardown(() => rmSync(src, { recursive: true, force: true }));
  for (let i = 0; i < N; i++) writeFileSync(join(src, `f${i}`), String(i));
  const fs = new Passthrough({ source: src, timeout: 1, directIo: false, replyRoom: 1 << 16, nodeFdBudget: BUDGET });
  t.teardown(() => fs.closeAll());

  t.equal(fs.idle(), false, 'nothing to give back with no node');
  const nodes: Node[] = [];
  let most = 0;
  for (let i = 0; i < N; i++) {
    const n = fs.inodes.lookup(fs.inodes.root, Buffer.from(`f${i}`), fs.st);
    if (typeof n === 'number') throw new Error(`lookup f${i}: ${n}`);
    nodes.push(n);
    most = Math.max(most, fs.fdStats().held);
  }
  t.ok(most <= BUDGET + 1, `within the budget (and the root) after every lookup: at most ${most}`);
  const before = fs.fdStats();
  t.ok(before.held > BUDGET + 1 - BATCH, `near the budget before idle time: ${before.held}`);
  let steps = 0;
  while (fs.idle()) steps++;
  const after = fs.fdStats();
  t.ok(steps > 1, `a bounded number per step: ${steps} steps`);
  t.equal(after.held, BUDGET - BATCH + 1, 'down to a batch below the budget (and the root)');
  t.ok(after.shed > before.shed, `counted as given back: ${before.shed} -> ${after.shed}`);
  t.equal(fs.idle(), false, 'then nothing more to do');

  let ok = 0;
  for (const n of nodes) if (fs.inodes.stat(n, fs.st) === 0 && fs.st[1] === n.ino) ok++;
  t.equal(ok, N, 'every node still stats as its own file');
  t.equal(fs.fdStats().stale, 0, 'nothing stale');
  t.ok(fs.fdStats().held <= BUDGET + 1, 'still within the budget');
});
