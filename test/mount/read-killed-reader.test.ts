// Readers killed in the middle of their reads (SIGINT and SIGKILL, at varying moments, five
// rounds) leave the server serving: a whole-file read afterwards is exact, no error replies,
// interrupted replies are reported, with and without a worker.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { MountOptions } from '../../src/index.js';
import { leftoverCheck, withAllSplice, within } from '../helpers/mount.js';

const MiB = 1024 * 1024;
const READ_FOREVER = fileURLToPath(new URL('../scripts/read_forever.py', import.meta.url));

for (const [name, opts] of [
  ['threads 1', {}],
  ['threads 0', { threads: 0 }],
] as Array<[string, MountOptions]>) {
  t.test(`readers killed mid-read leave the server serving (${name})`, async (t) => {
    const data = randomBytes(32 * MiB);
    await withAllSplice(t, opts, { populate: (s) => writeFileSync(join(s, 'f'), data) }, async ({ mnt, stats }) => {
      for (let round = 0; round < 5; round++) {
        const child = spawn('python3', [READ_FOREVER, join(mnt, 'f')], { stdio: ['ignore', 'pipe', 'ignore'] });
        const exited = new Promise((res) => child.on('exit', res));
        await within(10_000, 'reader started', new Promise<void>((res) => child.stdout!.once('data', () => res())));
        await new Promise((res) => setTimeout(res, 50 + round * 40));
        child.kill(round % 2 ? 'SIGKILL' : 'SIGINT');
        await within(10_000, 'reader exit', exited);
      }
      const got = await within(30_000, 'read after the kills', readFile(join(mnt, 'f')));
      t.ok(got.equals(data), 'a whole-file read afterwards is exact');
      const s = stats();
      t.ok(s.read.spliceBytes + s.read.copyBytes > data.length, 'the killed readers were being served');
      t.equal(s.read.errorReplies, 0, 'no error replies');
      t.type(s.interrupted, 'number', `stats report interrupted replies (${s.interrupted})`);
    });
  });
}

leftoverCheck(t);
