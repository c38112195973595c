// Inode lifetime: after 5,000 lookups, nodes the kernel evicts (drop_caches) are FORGET-ten and
// dropped by the server, and looked up again when needed: everything is still reachable, with
// the source's inode numbers, no ESTALE.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { lstatSync, readdirSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck, run } from '../helpers/mount.js';
import { BIG, bjoin, withTree } from '../helpers/tree.js';

t.test('FORGET: nodes the kernel drops are dropped, and looked up again when needed', async (t) => {
  await withTree(t, async ({ src, mnt, stats }) => {
    // Look up every entry of big/ (5,000 nodes in the server's table).
    // (%s needs an lstat of each entry: a LOOKUP, unless READDIRPLUS already made the node)
    const find = await run('find', [join(mnt, 'big'), '-mindepth', '1', '-printf', '%s\\n'], { timeoutMs: 120_000 });
    t.equal(find.stdout.toString().trim().split('\n').length, BIG, 'find stat-ed 5,000 entries');
    const held = stats().nodes;
    t.ok(held >= BIG, `the server holds ${held} nodes`);
    // Make the kernel evict dentries and inodes (reclaimable slab only: page cache stays).
    // A child does it: the eviction sends FORGETs to this process's loop.
    const drop = await run('sh', ['-c', 'sync; echo 2 > /proc/sys/vm/drop_caches']);
    t.equal(drop.code, 0, 'drop_caches');
    let nodes = held;
    for (let i = 0; i < 50 && nodes > held / 2; i++) {
      await new Promise((res) => setTimeout(res, 100));
      nodes = stats().nodes;
    }
    const req = stats().requests;
    t.ok((req.FORGET ?? 0) + (req.BATCH_FORGET ?? 0) > 0, `FORGET/BATCH_FORGET arrived (${req.FORGET ?? 0}/${req.BATCH_FORGET ?? 0})`);
    t.ok(nodes < held / 2, `the server dropped the forgotten nodes (${held} -> ${nodes})`);
    // Everything is still reachable, with the same inode numbers.
    const again = await run('find', [join(mnt, 'big'), '-mindepth', '1', '-printf', '%i\\n'], { timeoutMs: 120_000 });
    t.equal(again.code, 0, 'find again exits 0 (no ESTALE)', { stderr: again.stderr.toString().slice(0, 500) });
    const inos = new Set(again.stdout.toString().trim().split('\n'));
    const want = new Set(
      readdirSync(join(src, 'big'), { encoding: 'buffer' }).map((n) => String(lstatSync(bjoin(join(src, 'big'), n) as unknown as string).ino)),
    );
    t.equal(inos.size, want.size, 'as many inode numbers as before');
    t.same([...inos].filter((i) => !want.has(i)), [], 'the same inode numbers as the source');
    t.equal((await fsp.readFile(join(mnt, 'data', 'h1'), 'utf8')), 'hard link content\n', 'files read after re-lookup');
  });
});

leftoverCheck(t);
