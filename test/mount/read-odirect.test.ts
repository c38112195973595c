// O_DIRECT readers through a real mount (dd iflag=direct at three block sizes and at an
// offset, python preadv into page-aligned buffers: whole file, unaligned block size, across and
// past EOF) get the exact bytes; every read reaches the server; a 16-page pipe sends the 1 MiB
// requests by copy (pipe too small), in buffered, direct-io and copy mounts.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import type { MountOptions } from '../../src/index.js';
import { leftoverCheck, readDelta, run, withAllSplice } from '../helpers/mount.js';
import { python } from '../helpers/python.js';

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const ODIRECT_SCRIPT = fileURLToPath(new URL('../scripts/odirect_read.py', import.meta.url));

for (const [name, opts] of [
  ['buffered mount', {}],
  ['direct-io mount', { directIo: true }],
  ['copy', { readMode: 'copy' }],
  ['16-page pipe', { pipePages: 16 }],
] as Array<[string, MountOptions]>) {
  t.test(`O_DIRECT reads (${name})`, async (t) => {
    const data = randomBytes(9 * MiB + 1234);
    await withAllSplice(t, opts, { populate: (s) => writeFileSync(join(s, 'f'), data) }, async ({ mnt, stats }) => {
      const f = join(mnt, 'f');
      const before = stats();
      for (const bs of ['1M', '4096', '256K']) {
        const r = await run('dd', [`if=${f}`, 'iflag=direct', `bs=${bs}`, 'status=none'], { timeoutMs: 60_000 });
        t.equal(r.code, 0, `dd iflag=direct bs=${bs} exited 0`, { stderr: r.stderr.toString() });
        t.equal(sha(r.stdout), sha(data), `dd iflag=direct bs=${bs}: bytes exact`);
      }
      const r = await run('dd', [`if=${f}`, 'iflag=direct', 'bs=4096', 'skip=3', 'count=5', 'status=none']);
      t.equal(sha(r.stdout), sha(data.subarray(3 * 4096, 8 * 4096)), 'dd iflag=direct skip=3 count=5: exact');
      const d = readDelta(before, stats());
      t.ok(d.spliceBytes + d.copyBytes >= 3 * data.length, 'every O_DIRECT read reached the server');
      if (opts.readMode === 'copy') t.equal(d.spliceReplies, 0, 'copy: no splice');
      else t.ok(d.spliceReplies > 0, `spliced (${d.spliceReplies})`);
      if (opts.pipePages === 16) t.ok(d.pipeTooSmall > 0, `1 MiB requests did not fit 16 slots (${d.pipeTooSmall})`);

      const out = JSON.parse((await python(t, ODIRECT_SCRIPT, [f])) || '{}') as Record<string, unknown>;
      for (const bs of [1048576, 4096, 1040384]) t.equal(out[`whole_${bs}`], sha(data), `python O_DIRECT, ${bs}-byte blocks: exact`);
      t.same(out.at4096, [sha(data.subarray(4096, 4096 + 65536)), 65536], 'python O_DIRECT at 4096: exact');
      const tailOff = Math.floor(data.length / 4096) * 4096 - 4096;
      const tail = data.subarray(tailOff, tailOff + 3 * 4096);
      t.same(out.tail, [sha(tail), tail.length], 'python O_DIRECT across EOF: short and exact');
      t.same(out.past, [sha(Buffer.alloc(0)), 0], 'python O_DIRECT past EOF: nothing');
      t.equal(stats().read.errorReplies, 0, 'no error replies');
    });
  });
}

leftoverCheck(t);
