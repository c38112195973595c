// `splicefs set MOUNTPOINT read-mode copy|splice|auto` switches the read path of files opened
// from then on, on a running mount: after `set read-mode copy` a new open is served by copy
// (copyReplies move, spliceReplies do not) while a file opened before keeps splicing; `stats`
// shows the current mode; `set read-mode splice` brings new opens back to splice.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import type { Stats } from '../../src/index.js';
import { cli } from '../helpers/cli.js';
import { FILE_BYTES, populateFile, readThrough, statsJson } from '../helpers/control.js';
import { leftoverCheck, readDelta, within, withMount } from '../helpers/mount.js';

const READ_ON_CUE = fileURLToPath(new URL('../scripts/read_on_cue.py', import.meta.url));

/**
 * A file of the mount held open by another process (this process serves the mount: it must
 * not hold one of its files open while it spawns the CLI), read on cue: bytes got.
 */
async function holdOpen(t: Test, path: string) {
  const child = spawn('python3', [READ_ON_CUE, path], { stdio: ['pipe', 'pipe', 'inherit'] });
  t.teardown(() => void child.kill('SIGKILL'));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => String((await within(10_000, 'read_on_cue', lines.next())).value);
  t.equal(await next(), 'open', 'held open by another process');
  return {
    read: async (offset: number, size: number) => {
      child.stdin.write(`${offset} ${size}\n`);
      return Number(await next());
    },
    close: () => child.stdin.end(),
  };
}

/** Counter deltas of `fn` (a read through the mount), by handle.stats(). */
async function moved(stats: () => Stats, fn: () => Promise<void>) {
  const before = stats();
  await fn();
  return readDelta(before, stats());
}

async function set(t: Test, mnt: string, mode: string): Promise<string> {
  const r = await cli(['set', mnt, 'read-mode', mode]);
  t.equal(r.code, 0, `set read-mode ${mode} exits 0`, { stderr: r.stderr.toString() });
  return r.stdout.toString();
}

// Both ways READs are served: by the worker threads (the default), which keep the plan
// registered at open, and by the event loop alone (threads 0), through ReadPath's own per-handle mode.
for (const threads of [2, 0]) {
  t.test(`threads ${threads}: set read-mode copy: new opens copy, an open file keeps splicing; then back to splice`, async (t) => {
    await withMount(t, { directIo: true, threads }, { populate: (s) => populateFile(s) }, async ({ mnt, handle, stats }) => {
      const f = join(mnt, 'f');
      const spliced = await moved(stats, () => readThrough(t, f));
      t.ok(spliced.spliceReplies > 0, `at start a new open splices (${spliced.spliceReplies} replies)`);

      const early = await holdOpen(t, f); // opened before the switch
      const said = await set(t, mnt, 'copy');
      t.match(said, /^read-mode copy \(was auto\) for files opened from now on; the 1 file open now keeps the read path it was opened with\n$/, 'says what changed and that open files keep theirs');
      t.equal(handle.readMode, 'copy', 'handle.readMode follows');
      t.match(await statsJson(t, mnt), { readMode: 'copy', startReadMode: 'auto' }, 'stats shows the current mode');

      const copied = await moved(stats, () => readThrough(t, f));
      t.ok(copied.copyReplies > 0, `a new open after the switch goes by copy (${copied.copyReplies} replies)`);
      t.equal(copied.spliceReplies, 0, 'and nothing of it is spliced');
      t.equal(copied.copyBytes, FILE_BYTES, 'the whole file by copy');

      const kept = await moved(stats, async () => void t.equal(await early.read(0, 512 * 1024), 512 * 1024, 'read on the early handle'));
      t.ok(kept.spliceReplies > 0, 'the file opened before the switch still splices');
      t.equal(kept.copyReplies, 0, 'and copies nothing');
      early.close();

      await set(t, mnt, 'splice');
      const back = await moved(stats, () => readThrough(t, f));
      t.ok(back.spliceReplies > 0, 'back to splice: a new open splices again');
      t.equal(back.copyReplies - back.smallCopies, 0, 'no copies but the small-READ policy');
      t.match(await statsJson(t, mnt), { readMode: 'splice' }, 'stats shows splice');
    });
  });
}

leftoverCheck(t);
