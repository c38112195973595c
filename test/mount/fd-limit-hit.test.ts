// Issue 9, item 3: when the fd limit is hit anyway (here: a node fd budget set above the limit),
// the server gives back node fds and retries the open once, lowers its budget, and says so once
// in the log; the listings still answer as the source does (no EMFILE reaches a user, no entry is
// missing).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { logLines, startWithStats, statsAtExit } from '../helpers/fds.js';
import { onBoth, sameBig, scratch } from '../helpers/mirror.js';

const LOW = 1024;
const TOO_MANY = 5000;

t.test(`ulimit -n ${LOW} with --node-fds ${TOO_MANY}: EMFILE is absorbed, logged once`, async (t) => {
  const src = scratch(t, 'limit-hit');
  for (let i = 1; i <= 3000; i++) writeFileSync(join(src, `f${i}`), `${i}\n`);
  const mnt = scratch(t, 'mnt');
  const s = await startWithStats(t, src, mnt, { nofile: LOW, args: ['--node-fds', String(TOO_MANY)] });
  sameBig(t, 'ls -l', await onBoth('ls -l "$P"', src, mnt, { timeoutMs: 120_000 }));
  sameBig(t, 'find -printf', await onBoth('find "$P" -printf "%P %s %n\\n" | sort; exit ${PIPESTATUS[0]}', src, mnt, { timeoutMs: 120_000 }));
  sameBig(t, 'cat of every file', await onBoth('cd "$P" && cat f* | md5sum', src, mnt, { timeoutMs: 120_000 }));
  const hits = logLines(s, 'fd limit hit: gave back node fds, lowered the node fd budget and retried (logged once; counted in stats fds.limitHits)');
  t.equal(hits.length, 1, 'the limit hit is logged once');
  t.equal(hits[0]?.errno, 'EMFILE', 'as EMFILE');
  const st = await statsAtExit(t, s);
  t.ok((st?.fds.limitHits ?? 0) >= 1, `limit hits counted: ${st?.fds.limitHits}`);
  t.ok((st?.fds.budget ?? TOO_MANY) < LOW, `the budget came down under the limit: ${st?.fds.budget}`);
});

leftoverCheck(t);
