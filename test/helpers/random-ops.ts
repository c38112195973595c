// A seeded run of random file-system operations, applied in lockstep to the mount and to a
// reference directory through an op server pair (helpers/rw.ts): create, write at random
// offsets and sizes, truncate, rename (and renameat2), link, symlink, unlink, mkdir, rmdir,
// fallocate, copy_file_range, setxattr/removexattr, chmod, reads, closes. Every op must get the
// same answer on both sides (the same value, or the same errno); the first that does not stops
// the run, and the report names the seed, the op's index and the ops before it.
//
// The ops are chosen from the names the reference is known to hold (with some that do not
// exist, for the errors), so a run of a few thousand ops mostly does something.
//
// When run as a test file itself (tap runs every .ts under test/), this file checks its own
// promises on two plain directories: a run agrees with itself, the same seed gives the same ops,
// and a difference planted in one directory is caught.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t from 'tap';
import { leftoverCheck } from './mount.js';
import { scratch } from './mirror.js';
import { OpServer, Pair, treeDifference, type Result, type TreeEntry } from './rw.js';

/** mulberry32: a small seeded PRNG (the same sequence on every machine). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

export interface RandomOpsOptions {
  seed: number;
  ops: number;
  /** Largest offset + size of a write (default 256 KiB). */
  maxFile?: number;
  /** Stop a run early (a difference planted by the self-test): called before each op. */
  beforeOp?: (i: number) => Promise<void> | void;
}

export type Op = [string, ...unknown[]];

export interface RandomOpsReport {
  seed: number;
  /** ops applied (up to and including the first difference) */
  done: number;
  /** ops that succeeded on the reference */
  succeeded: number;
  counts: Record<string, number>;
  /** the first op whose answers differ */
  difference?: { index: number; op: Op; mnt: Result; ref: Result; before: Op[] };
  /** every op, in order (for the determinism check) */
  log: Op[];
}

const NAMES = ['a', 'b', 'c', 'dd', 'e', 'f1', 'f2', 'long-name-' + 'x'.repeat(40), 'sp ace', 'ütf8'];
const XNAMES = ['user.a', 'user.b', 'user.c'];

/**
 * Apply `o.ops` random ops to both sides of `pair` (created fresh, empty roots expected). Open
 * handles are closed at the end, so the trees can be compared afterwards.
 */
export async function runRandomOps(pair: Pair, o: RandomOpsOptions): Promise<RandomOpsReport> {
  const rnd = prng(o.seed);
  const maxFile = o.maxFile ?? 256 * 1024;
  const int = (n: number) => Math.floor(rnd() * n);
  const pick = <V>(xs: V[]): V => xs[int(xs.length)]!;
  const dirs = new Set<string>(['']);
  const files = new Set<string>();
  const handles: number[] = [];
  const report: RandomOpsReport = { seed: o.seed, done: 0, succeeded: 0, counts: {}, log: [] };
  let dataSeed = o.seed * 1000;

  const within = (d: string, n: string) => (d === '' ? n : `${d}/${n}`);
  const anyDir = () => (rnd() < 0.05 ? 'missing-dir' : pick([...dirs]));
  const newPath = () => within(anyDir(), pick(NAMES));
  const anyFile = () => (files.size > 0 && rnd() < 0.85 ? pick([...files]) : newPath());
  const anyPath = () => (rnd() < 0.5 ? anyFile() : rnd() < 0.5 ? pick([...dirs]) || 'a' : newPath());
  const off = () => (rnd() < 0.3 ? int(8) * 4096 : int(maxFile));
  const len = () => (rnd() < 0.2 ? int(16) : rnd() < 0.5 ? int(4096) + 1 : int(65536) + 1);
  const handle = () => (handles.length > 0 ? pick(handles) : 99);

  /** Forget what a removed/renamed path held (everything below it, for a directory). */
  const forget = (p: string) => {
    for (const s of [dirs, files]) for (const x of [...s]) if (x === p || x.startsWith(p + '/')) s.delete(x);
  };
  const moveAll = (from: string, to: string) => {
    for (const s of [dirs, files]) {
      for (const x of [...s]) {
        if (x === from || x.startsWith(from + '/')) {
          s.delete(x);
          s.add(to + x.slice(from.length));
        }
      }
    }
  };

  const choose = (): Op => {
    const r = rnd();
    if (r < 0.1) return ['open', newPath(), pick(['wronly|creat', 'rdwr|creat', 'rdwr|creat|excl', 'wronly|creat|trunc', 'rdwr|append|creat']), pick([0o644, 0o600, 0o755])];
    if (r < 0.16) return ['open', anyFile(), pick(['rdwr', 'rdonly', 'wronly|trunc', 'rdwr|append']), 0];
    if (r < 0.3) return ['pwrite', handle(), off(), { seed: dataSeed++, len: len() }];
    if (r < 0.34) return ['write', handle(), { seed: dataSeed++, len: len() }];
    if (r < 0.38) return ['writefile', anyFile(), { seed: dataSeed++, len: len() }, 0o644];
    if (r < 0.42) return ['truncate', anyFile(), off()];
    if (r < 0.45) return ['ftruncate', handle(), off()];
    if (r < 0.5) return ['pread', handle(), off(), len()];
    if (r < 0.54) return ['readfile', anyFile()];
    if (r < 0.58) return ['close', handle()];
    if (r < 0.62) return ['rename', anyPath(), rnd() < 0.5 ? newPath() : anyPath()];
    if (r < 0.64) return ['rename2', anyPath(), anyPath(), pick(['noreplace', 'exchange'])];
    if (r < 0.67) return ['link', anyFile(), newPath()];
    if (r < 0.69) return ['symlink', pick(NAMES), newPath()];
    if (r < 0.73) return ['unlink', anyFile()];
    if (r < 0.77) return ['mkdir', newPath(), 0o755];
    if (r < 0.8) return ['rmdir', rnd() < 0.8 ? pick([...dirs]) || 'x' : anyFile()];
    if (r < 0.84) return ['fallocate', handle(), pick(['', 'keep_size', 'punch_hole|keep_size']), off(), len() + 1];
    if (r < 0.88) return ['cfr', handle(), off(), handle(), off(), len()];
    if (r < 0.91) return ['setxattr', anyFile(), pick(XNAMES), `v${int(1000)}`, pick([0, 0, 'create', 'replace'])];
    if (r < 0.92) return ['removexattr', anyFile(), pick(XNAMES)];
    if (r < 0.94) return ['chmod', anyFile(), pick([0o600, 0o644, 0o755, 0o4755, 0o2755])];
    if (r < 0.97) return ['stat', anyPath()];
    if (r < 0.98) return ['fsync', handle()];
    return ['listdir', pick([...dirs])];
  };

  /** Update what the reference is known to hold after `op` succeeded there. */
  const apply = (op: Op, ref: Result) => {
    const [name, a, b, c] = op as [string, unknown, unknown, unknown];
    switch (name) {
      case 'open':
        handles.push((ref as { ok: number }).ok);
        if (String(b).includes('creat')) files.add(a as string);
        break;
      case 'writefile':
        files.add(a as string);
        break;
      case 'close':
        handles.splice(handles.indexOf(a as number), 1);
        break;
      case 'rename':
        if (a !== b) {
          forget(b as string);
          moveAll(a as string, b as string);
        }
        break;
      case 'rename2':
        if (c === 'noreplace') moveAll(a as string, b as string);
        else {
          moveAll(a as string, '\0tmp');
          moveAll(b as string, a as string);
          moveAll('\0tmp', b as string);
        }
        break;
      case 'link':
      case 'symlink':
        files.add(b as string);
        break;
      case 'unlink':
        files.delete(a as string);
        break;
      case 'mkdir':
        dirs.add(a as string);
        break;
      case 'rmdir':
        forget(a as string);
        break;
    }
  };

  for (let i = 0; i < o.ops; i++) {
    await o.beforeOp?.(i);
    const op = choose();
    report.log.push(op);
    report.counts[op[0]] = (report.counts[op[0]] ?? 0) + 1;
    const { mnt, ref } = await pair.both(op[0], ...op.slice(1));
    report.done = i + 1;
    if (JSON.stringify(mnt) !== JSON.stringify(ref)) {
      report.difference = { index: i, op, mnt, ref, before: report.log.slice(Math.max(0, i - 20), i) };
      return report;
    }
    if ('ok' in ref) {
      report.succeeded++;
      apply(op, ref);
    }
  }
  for (const h of [...handles]) {
    const { mnt, ref } = await pair.both('close', h);
    if (JSON.stringify(mnt) !== JSON.stringify(ref)) {
      report.difference = { index: report.done, op: ['close', h], mnt, ref, before: report.log.slice(-20) };
      return report;
    }
  }
  return report;
}

/** The seed of a run: SPLICEFS_SEED if set (to replay a failure), else a random one. */
export function seedFromEnv(): number {
  const s = process.env.SPLICEFS_SEED;
  return s !== undefined && s !== '' ? Number(s) : Math.floor(Math.random() * 2 ** 31);
}

// ---- self-test, when tap runs this file directly ---------------------------------------
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  t.test('two plain directories agree op by op and end with the same tree', async (t) => {
    const a = scratch(t, 'rops-a');
    const b = scratch(t, 'rops-b');
    const pair = new Pair(new OpServer(a), new OpServer(b));
    t.teardown(() => pair.close());
    const r = await runRandomOps(pair, { seed: 12345, ops: 800 });
    t.equal(r.difference, undefined, 'no difference', { difference: r.difference });
    t.equal(r.done, 800);
    t.ok(r.succeeded > 300, `most ops do something (${r.succeeded} of 800 succeeded)`);
    for (const op of ['open', 'pwrite', 'rename', 'link', 'mkdir', 'rmdir', 'unlink', 'fallocate', 'cfr', 'setxattr', 'truncate']) {
      t.ok((r.counts[op] ?? 0) > 0, `${op} ran (${r.counts[op]})`);
    }
    const [ta, tb] = await Promise.all([pair.m.value<TreeEntry[]>('tree'), pair.r.value<TreeEntry[]>('tree')]);
    t.equal(treeDifference(ta, tb), null, 'the same tree');
    t.ok(ta.length > 3, `a tree of ${ta.length} entries`);
  });

  t.test('the same seed gives the same ops', async (t) => {
    const logs: string[] = [];
    for (let k = 0; k < 2; k++) {
      const a = scratch(t, `rops-det-a${k}`);
      const b = scratch(t, `rops-det-b${k}`);
      const pair = new Pair(new OpServer(a), new OpServer(b));
      logs.push(JSON.stringify((await runRandomOps(pair, { seed: 777, ops: 200 })).log));
      await pair.close();
    }
    t.equal(logs[0], logs[1], 'identical op sequences');
  });

  t.test('a difference planted in one directory is caught', async (t) => {
    const a = scratch(t, 'rops-bad-a');
    const b = scratch(t, 'rops-bad-b');
    const pair = new Pair(new OpServer(a), new OpServer(b));
    t.teardown(() => pair.close());
    // From op 100 on, one side has extra files under every name the ops use.
    const r = await runRandomOps(pair, {
      seed: 4242,
      ops: 2000,
      beforeOp: (i) => {
        if (i < 100 || i % 20 !== 0) return;
        for (const n of NAMES) {
          try {
            writeFileSync(join(a, n), 'planted');
          } catch {
            /* a directory of that name */
          }
        }
      },
    });
    t.ok(r.difference !== undefined, `caught at op ${r.difference?.index}: ${JSON.stringify(r.difference?.op)}`);
    t.ok(r.done < 2000, 'the run stopped at the difference');
  });

  leftoverCheck(t);
}
