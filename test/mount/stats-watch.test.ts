// `splicefs stats MOUNTPOINT --watch` refreshes once a second with the MiB/s of each read path
// side by side, until Ctrl-C (SIGINT), which ends it with exit 0. Run against a mount being
// read, it prints at least two refreshes and shows the splice path at work.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import t from 'tap';
import { CLEAN_NODE, CLI } from '../helpers/cli.js';
import { populateFile } from '../helpers/control.js';
import { leftoverCheck, run, within, withMount } from '../helpers/mount.js';

/** A refresh line: time, splice MiB/s, copy MiB/s, ..., read mode, write splice and copy MiB/s */
const REFRESH = /^(\d\d:\d\d:\d\d) +(\d+\.\d) +(\d+\.\d) +\d+ +\d+ +\d+ +\d+ +\d+\.\d \w+ +(auto|passthrough|splice|copy) +(\d+\.\d) +(\d+\.\d)$/;

t.test('--watch: a line a second with MiB/s per path, until SIGINT', async (t) => {
  await withMount(t, { directIo: true }, { populate: (s) => populateFile(s) }, async ({ mnt }) => {
    const child = spawn(CLEAN_NODE[0]!, [...CLEAN_NODE.slice(1), CLI, 'stats', mnt, '--watch'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<{ code: number | null; signal: string | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
    t.teardown(() => void child.kill('SIGKILL'));
    let out = '';
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    const refreshes = () => out.split('\n').filter((l) => REFRESH.test(l));
    const twoRefreshes = new Promise<void>((resolve) =>
      child.stdout.on('data', (b: Buffer) => {
        out += b.toString();
        if (refreshes().length >= 2) resolve();
      }),
    );
    // Keep the splice path busy until two refreshes are out (a timeout stops it either way).
    let reading = true;
    const reader = (async () => {
      while (reading) await run('dd', [`if=${join(mnt, 'f')}`, 'of=/dev/null', 'bs=1M', 'status=none']);
    })();
    try {
      await within(10_000, 'two refreshes', Promise.race([twoRefreshes, exited.then(() => Promise.reject(new Error(`watch ended: ${err}`)))]));
    } finally {
      reading = false;
      await reader;
    }
    child.kill('SIGINT');
    const { code } = await within(5_000, 'watch exit', exited);
    t.equal(code, 0, 'SIGINT ends it with exit 0', { stderr: err });
    t.equal(err, '', 'nothing on stderr');
    t.match(out, new RegExp(`^splicefs on ${mnt} \\(pid ${process.pid}\\), every second`), 'says what it watches');
    t.match(out, /^time +splice MiB\/s +copy MiB\/s/m, 'splice and copy side by side');
    const lines = refreshes();
    t.ok(lines.length >= 2, `at least two refreshes (${lines.length})`, { out });
    t.ok(lines.some((l) => Number(REFRESH.exec(l)![2]) > 0), 'splice MiB/s above 0 while a file is read', { out });
  });
});

leftoverCheck(t);
