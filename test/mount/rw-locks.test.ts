// Read-write (issue 10): POSIX record locks (fcntl F_SETLK/F_GETLK) and flock between two
// processes through the mount, compared with the same two processes on a plain reference
// directory: a write lock held by A refuses B (EAGAIN), F_GETLK in B names A's lock and pid; read
// locks share; a lock on another range is granted; unlocking (and closing the fd) releases;
// flock LOCK_EX|LOCK_NB refuses the second holder, LOCK_SH shares.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { withRw, type Pair } from '../helpers/rw.js';

async function pids(p: Pair): Promise<{ m: number; r: number }> {
  return { m: await p.m.value<number>('pid'), r: await p.r.value<number>('pid') };
}

/** F_GETLK in B: the same lock on both sides, held by A's pid on each side. */
async function getlk(t: Test, what: string, b: Pair, aPid: { m: number; r: number }, h: number | undefined, kind: string, start: number, len: number) {
  const { mnt, ref } = await b.both('getlk', h, kind, start, len);
  const norm = (r: typeof mnt, pid: number) => {
    if (!('ok' in r)) return r;
    const v = { ...(r.ok as Record<string, unknown>) };
    if ('pid' in v) v.pid = v.pid === pid ? 'A' : `other (${v.pid})`;
    return { ok: v };
  };
  t.same(norm(mnt, aPid.m), norm(ref, aPid.r), `${what}: ${JSON.stringify(norm(mnt, aPid.m))}`);
  return norm(ref, aPid.r);
}

t.test('fcntl locks and flock between two processes', async (t) => {
  await withRw(t, {}, { populate: (d) => writeFileSync(join(d, 'f'), Buffer.alloc(1000)) }, async (f) => {
    const a = f.pair;
    const b = f.newPair();
    const aPid = await pids(a);
    const ha = await a.value<number>(t, 'A opens f', 'open', 'f', 'rdwr', 0);
    const hb = await b.value<number>(t, 'B opens f', 'open', 'f', 'rdwr', 0);
    await a.expect(t, 'A: write lock on 0..100', 'ok', 'setlk', ha, 'w', 0, 100);
    await b.expect(t, 'B: write lock on 50..150 refused', 'EAGAIN', 'setlk', hb, 'w', 50, 100);
    await b.expect(t, 'B: read lock on 0..10 refused', 'EAGAIN', 'setlk', hb, 'r', 0, 10);
    t.same(await getlk(t, 'B: F_GETLK over A\'s range', b, aPid, hb, 'w', 0, 1000), { ok: { type: 'w', start: 0, len: 100, pidIsPeer: true, pid: 'A' } }, 'the reference names A\'s write lock');
    await b.expect(t, 'B: write lock on 100..200 (no overlap) granted', 'ok', 'setlk', hb, 'w', 100, 100);
    await a.expect(t, 'A: write lock on 150..160 refused (B holds it)', 'EAGAIN', 'setlk', ha, 'w', 150, 10);
    await a.expect(t, 'A: unlock 0..100', 'ok', 'setlk', ha, 'u', 0, 100);
    t.same(await getlk(t, 'B: F_GETLK after A unlocked', b, aPid, hb, 'w', 0, 100), { ok: { type: 'u' } }, 'nothing in the way');
    await b.expect(t, 'B: write lock on 0..100 now granted', 'ok', 'setlk', hb, 'w', 0, 100);
    await b.expect(t, 'B: unlock everything', 'ok', 'setlk', hb, 'u', 0, 0);
    await a.expect(t, 'A: read lock on 0..500', 'ok', 'setlk', ha, 'r', 0, 500);
    await b.expect(t, 'B: read lock on 100..200 shares', 'ok', 'setlk', hb, 'r', 100, 100);
    await b.expect(t, 'B: write lock on 300..310 refused by A\'s read lock', 'EAGAIN', 'setlk', hb, 'w', 300, 10);
    await b.expect(t, 'B: unlock everything', 'ok', 'setlk', hb, 'u', 0, 0);
    // Closing any fd of A on the file drops A's locks.
    await a.expect(t, 'A: write lock on all', 'ok', 'setlk', ha, 'w', 0, 0);
    const ha2 = await a.value<number>(t, 'A opens f again', 'open', 'f', 'rdonly', 0);
    await a.expect(t, 'A closes the second fd', 'ok', 'close', ha2);
    await b.expect(t, "B: write lock granted: A's close dropped A's locks", 'ok', 'setlk', hb, 'w', 0, 0);
    await b.expect(t, 'B: unlock', 'ok', 'setlk', hb, 'u', 0, 0);

    // flock
    await a.expect(t, 'A: flock LOCK_EX|LOCK_NB', 'ok', 'flock', ha, 'ex|nb');
    await b.expect(t, 'B: flock LOCK_EX|LOCK_NB refused', 'EAGAIN', 'flock', hb, 'ex|nb');
    await b.expect(t, 'B: flock LOCK_SH|LOCK_NB refused', 'EAGAIN', 'flock', hb, 'sh|nb');
    await a.expect(t, 'A: flock LOCK_UN', 'ok', 'flock', ha, 'un');
    await b.expect(t, 'B: flock LOCK_SH|LOCK_NB granted', 'ok', 'flock', hb, 'sh|nb');
    await a.expect(t, 'A: flock LOCK_SH|LOCK_NB shares', 'ok', 'flock', ha, 'sh|nb');
    await a.expect(t, 'A: upgrade to LOCK_EX|LOCK_NB refused', 'EAGAIN', 'flock', ha, 'ex|nb');
    await b.expect(t, 'B closes its fd (drops its flock)', 'ok', 'close', hb);
    await a.expect(t, 'A: upgrade to LOCK_EX|LOCK_NB granted', 'ok', 'flock', ha, 'ex|nb');
    await a.expect(t, 'A closes', 'ok', 'close', ha);
    const hb2 = await b.value<number>(t, 'B opens f again', 'open', 'f', 'rdwr', 0);
    await b.expect(t, "B: LOCK_EX|LOCK_NB granted after A's close", 'ok', 'flock', hb2, 'ex|nb');
    await b.expect(t, 'B closes', 'ok', 'close', hb2);
  });
});

leftoverCheck(t);
