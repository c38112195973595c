// The CLI with faults armed through SPLICEFS_FAULTS, as a user runs it (`node dist/cli.js`,
// tap's NODE_OPTIONS dropped): start-up failures (cloning /dev/fuse, INIT never answered,
// after the 10 s default timeout) give one plain error line, exit 1, JSON log records only
// otherwise, no stack trace, no mount left; a READ site armed at start runs exactly as often as
// armed in a server that then serves normally.
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { Stats } from '../../src/index.js';
import { cli } from '../helpers/cli.js';
import { data, scratchPair } from '../helpers/faults.js';
import { isMounted, leftoverCheck, mountsAt, run, type RunResult } from '../helpers/mount.js';

/** Run the CLI with SPLICEFS_FAULTS (tap's NODE_OPTIONS dropped, as a user runs it). */
function cliWithFaults(faults: string, args: string[], timeoutMs: number) {
  return cli(args, { env: { SPLICEFS_FAULTS: faults }, timeoutMs });
}

function cliFailure(t: Test, r: RunResult, pattern: RegExp, what: string): void {
  const lines = r.stderr.toString().split('\n').filter(Boolean);
  // Log records are JSON lines; the error is the one plain line.
  const plain = lines.filter((l) => !l.startsWith('{'));
  t.notOk(r.timedOut, `${what}: did not hang`);
  t.equal(r.code, 1, `${what}: exit 1`);
  t.equal(plain.length, 1, `${what}: one error line on stderr`, { stderr: r.stderr.toString() });
  t.match(plain[0] ?? '', /^splicefs: /, `${what}: it starts with "splicefs:"`);
  t.match(plain[0] ?? '', pattern, `${what}: says what failed`);
  t.notOk(/^\s+at /m.test(r.stderr.toString()), `${what}: no stack trace`);
  for (const l of lines.filter((x) => x.startsWith('{'))) t.doesNotThrow(() => JSON.parse(l), `${what}: a log record: ${l.slice(0, 80)}`);
}

t.test('CLI: SPLICEFS_FAULTS=clone:EMFILE:1: one line, exit 1, no mount left', async (t) => {
  const { src, mnt } = scratchPair(t, 'faults-cli');
  const r = await cliWithFaults('clone:EMFILE:1', [src, mnt], 20_000);
  cliFailure(t, r, /cannot start serving .*: cannot clone \/dev\/fuse: Too many open files$/, 'clone failure');
  t.equal(r.stderr.toString().split('\n').filter(Boolean).length, 1, 'nothing else on stderr');
  t.same(mountsAt(mnt), [], 'no mount left');
});

t.test('CLI: SPLICEFS_FAULTS=init:EIO:1: the default INIT timeout, one line, exit 1, no mount left', async (t) => {
  const { src, mnt } = scratchPair(t, 'faults-cli');
  const t0 = Date.now();
  const r = await cliWithFaults('init:EIO:1', [src, mnt], 30_000);
  const took = Date.now() - t0;
  cliFailure(t, r, /mount on .* failed: session ended before INIT: INIT timeout$/, 'INIT timeout');
  t.ok(took >= 10_000 && took < 25_000, `gave up after the 10 s default (${took} ms)`);
  t.same(mountsAt(mnt), [], 'no mount left');
});

t.test('CLI: SPLICEFS_FAULTS arms a READ site in a server that then serves normally', async (t) => {
  const { src, mnt } = scratchPair(t, 'faults-cli');
  const server = cliWithFaults('data:EAGAIN:2', [src, mnt, '--stats', '--direct-io', '--log-level', 'warn'], 60_000);
  for (let i = 0; i < 100 && !isMounted(mnt); i++) await new Promise((res) => setTimeout(res, 100));
  t.ok(isMounted(mnt), 'the server mounted');
  const cat = await run('cat', [join(mnt, 'f')]);
  t.ok(cat.stdout.equals(data), 'cat through the mount: exact');
  const dd = await run('dd', [`if=${join(mnt, 'f')}`, 'bs=64K', 'status=none']);
  t.ok(dd.stdout.equals(data), 'dd bs=64K through the mount: exact');
  t.equal((await run('umount', [mnt])).code, 0, 'umount');
  const r = await server;
  t.equal(r.code, 0, 'the server exits 0');
  let stats: Partial<Stats> = {};
  try {
    stats = JSON.parse(r.stdout.toString()) as Stats;
  } catch {
    t.fail('--stats printed JSON', { stdout: r.stdout.toString() });
  }
  t.equal(stats.read?.fallbacks.pipeFull, 2, 'exactly the two armed pipe-full fallbacks ran');
  t.equal(stats.read?.copyReplies, 2, 'and only those went by copy');
  t.ok((stats.read?.spliceReplies ?? 0) > 0, 'the rest spliced');
  t.equal(stats.read?.errorReplies, 0, 'no error replies');
});

leftoverCheck(t);
