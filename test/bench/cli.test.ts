// `splicefs bench` from the command line, as a user runs it (`node dist/cli.js bench ...`), and
// the package shipping the benchmark. Nothing here runs fio or mounts: each case stops before
// the benchmark starts, with one line saying what it needs, or prints the usage. A PATH without
// fio (nor apt-get to install it) stands for a machine without fio.
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync, symlinkSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { CLEAN_NODE, NODE, ROOT, cli } from '../helpers/cli.js';
import { run, type RunResult } from '../helpers/mount.js';

const BENCH = join(ROOT, 'benchmarks');
const isRoot = process.getuid?.() === 0;
const hash = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex');

/** A directory for PATH that has node and nothing else (no fio, no apt-get). */
function pathWithoutFio(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'splicefs-bench-path-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  symlinkSync(NODE, join(dir, 'node'));
  return dir;
}

/** Every line on stderr, asserting the shape of a refusal: non-zero exit, no stack, no hang. */
function refusal(t: Test, what: string, r: RunResult, prefix: RegExp): string[] {
  const err = r.stderr.toString();
  const lines = err.split('\n').filter((l) => l.length > 0);
  t.notOk(r.timedOut, `${what}: did not hang`);
  t.not(r.code, 0, `${what}: non-zero exit (${r.code})`);
  t.notOk(/^\s+at /m.test(err), `${what}: no stack trace`, { stderr: err });
  for (const l of lines) t.match(l, prefix, `${what}: "${l}"`);
  t.equal(r.stdout.toString(), '', `${what}: nothing on stdout`);
  return lines;
}

t.test('splicefs bench --help: the usage, what it needs, exit 0', async (t) => {
  for (const flag of ['--help', '-h']) {
    const r = await cli(['bench', flag]);
    const out = r.stdout.toString();
    t.equal(r.code, 0, `${flag}: exit 0`);
    t.match(out, /^usage: splicefs bench \[options\]/, `${flag}: usage of splicefs bench`);
    for (const opt of ['--quick', '--out FILE', '--workloads', '--systems', '--baseline', '--chart-only']) t.ok(out.includes(opt), `${flag}: lists ${opt}`);
    t.match(out, /default RESULTS\.md\)/, `${flag}: the report goes to the current directory by default`);
    t.match(out, /Needs: root .*fio/s, `${flag}: says what it needs`);
    t.match(out, /apt-get .*fio bindfs golang-go golang-github-hanwen-go-fuse-dev/s, `${flag}: names the Debian packages it installs`);
    t.match(out, /benchmarks\/README\.md/, `${flag}: points at the protocol`);
    t.equal(r.stderr.toString(), '', `${flag}: nothing on stderr`);
  }
  const top = await cli(['--help']);
  t.match(top.stdout.toString(), /splicefs bench \[options\]/, 'splicefs --help names the bench subcommand');
});

t.test('splicefs bench without fio: one line naming fio, non-zero exit', async (t) => {
  const path = pathWithoutFio(t);
  for (const extra of [[], ['--skip-setup']]) {
    const what = `bench --quick ${extra.join(' ')}`.trim();
    const r = await cli(['bench', '--quick', ...extra], { env: { PATH: path } });
    const lines = refusal(t, what, r, /^splicefs bench: /);
    t.ok(lines.some((l) => /^splicefs bench: needs fio \(Debian package fio\): not found on PATH/.test(l)), `${what}: says it needs fio`);
    if (isRoot) t.equal(lines.length, 1, `${what}: exactly one line (root has everything else)`, { stderr: r.stderr.toString() });
  }
});

t.test('splicefs bench as a user: one line saying it needs root', { skip: !isRoot && 'needs root to switch to nobody' }, async (t) => {
  const r = await cli(['bench', '--quick'], { asNobody: true });
  const lines = refusal(t, 'bench as nobody', r, /^splicefs bench: /);
  t.equal(lines.length, 1, 'exactly one line', { stderr: r.stderr.toString() });
  t.match(lines[0], /needs root/, 'says it needs root');
});

t.test('bad bench options: one line, no usage dump, exit 2 (a usage error, as splicefs says them)', async (t) => {
  for (const [what, args, pattern] of [
    ['unknown option', ['--bogus'], /^splicefs bench: unknown option '--bogus' \(see splicefs bench --help\)$/],
    ['unknown workload', ['--workloads', 'zz'], /unknown workload "zz"/],
    ['unknown system', ['--systems', 'nope'], /unknown system "nope"/],
    ['bad --runs', ['--runs', '0'], /--runs: bad value "0"/],
    ['text --runs', ['--runs', 'x'], /--runs: bad value "x"/],
  ] as Array<[string, string[], RegExp]>) {
    const r = await cli(['bench', ...args]);
    const lines = refusal(t, what, r, /^splicefs bench: /);
    t.equal(r.code, 2, `${what}: exit 2`);
    t.equal(lines.length, 1, `${what}: exactly one line`);
    t.match(lines[0], pattern, `${what}: says what is wrong`);
  }
});

t.test('--quick never writes over the committed RESULTS.md or results.svg', async (t) => {
  const report = join(BENCH, 'RESULTS.md');
  const chart = join(BENCH, 'results.svg');
  const before = [hash(report), hash(chart)];
  // PATH without fio too: were the refusal missing, the run would still stop before it starts.
  const path = pathWithoutFio(t);
  const cases: Array<[string, string[], string | undefined]> = [
    ['--out at the committed report', ['--quick', '--out', report], undefined],
    ['--out given another way', ['--quick', '--out', join(BENCH, '..', 'benchmarks', 'RESULTS.md')], undefined],
    ['--chart at the committed chart', ['--quick', '--out', join(tmpdir(), 'splicefs-bench-never.md'), '--chart', chart], undefined],
    ['the committed report as the current directory default', ['--quick'], BENCH],
    ['--chart-only onto the committed chart', ['--quick', '--chart-only', '--chart', chart], undefined],
  ];
  for (const [what, args, cwd] of cases) {
    const node = [...CLEAN_NODE.slice(0, 3), `PATH=${path}`, NODE];
    const r = await run(node[0]!, [...node.slice(1), join(ROOT, 'dist', 'cli.js'), 'bench', ...args], { cwd, timeoutMs: 15_000 });
    const lines = refusal(t, what, r, /^splicefs bench: /);
    t.equal(lines.length, 1, `${what}: exactly one line`, { stderr: r.stderr.toString() });
    t.match(lines[0], /--quick never writes over the committed .*(RESULTS\.md|results\.svg): give another --out/, `${what}: refused`);
  }
  t.same([hash(report), hash(chart)], before, 'the committed report and chart are untouched');
});

t.test('--chart-only draws the chart from a report, running nothing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'splicefs-bench-chart-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const report = join(dir, 'RESULTS.md');
  writeFileSync(report, readFileSync(join(BENCH, 'RESULTS.md')));
  const r = await cli(['bench', '--chart-only', '--out', report], { env: { PATH: pathWithoutFio(t) }, timeoutMs: 30_000 });
  t.equal(r.code, 0, 'exit 0 without fio (nothing runs)', { stderr: r.stderr.toString() });
  const svg = readFileSync(join(dir, 'results.svg'), 'utf8');
  t.ok(svg.includes('a: sequential 1 MiB buffered reads, 1 job'), 'results.svg next to the report, panels described');
  const missing = await cli(['bench', '--chart-only', '--out', join(dir, 'none.md')]);
  t.equal(refusal(t, 'no report', missing, /^splicefs bench: /).length, 1, 'no report: one line');
});

t.test('a tree without a built splicefs: one line saying to build it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'splicefs-bench-unbuilt-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'benchmarks'));
  cpSync(BENCH, join(dir, 'benchmarks'), { recursive: true, filter: (src) => !src.includes('/.work') });
  const r = await run(CLEAN_NODE[0]!, [...CLEAN_NODE.slice(1), join(dir, 'benchmarks', 'bench.js'), '--quick', '--skip-setup'], { timeoutMs: 15_000 });
  const lines = refusal(t, 'unbuilt', r, /^bench: /);
  t.ok(lines.some((l) => /needs a built splicefs: dist\/mnt\/mountinfo\.js is missing; run npm install/.test(l)), 'says to build splicefs', { stderr: r.stderr.toString() });
  if (isRoot) t.equal(lines.length, 1, 'exactly one line as root with fio', { stderr: r.stderr.toString() });
});

t.test('the package ships the benchmark, not its scratch files', async (t) => {
  const npm = await run(CLEAN_NODE[0]!, [...CLEAN_NODE.slice(1, 3), 'npm', 'pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, timeoutMs: 60_000 });
  t.equal(npm.code, 0, 'npm pack --dry-run', { stderr: npm.stderr.toString() });
  const files = (JSON.parse(npm.stdout.toString()) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
  for (const f of ['dist/cli.js', 'dist/bench-command.js', 'benchmarks/bench.js', 'benchmarks/README.md', 'benchmarks/setup.sh',
    'benchmarks/lib/chart.js', 'benchmarks/lib/run.js', 'benchmarks/peers/fuse-native-passthrough.cjs', 'benchmarks/peers/gofuse/main.go']) {
    t.ok(files.includes(f), `ships ${f}`);
  }
  t.notOk(files.some((f) => f.startsWith('benchmarks/.work')), 'no benchmarks/.work (runs, logs, peers)');
});
