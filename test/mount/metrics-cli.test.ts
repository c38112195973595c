// `splicefs SOURCE MOUNTPOINT --metrics HOST:PORT` (and `-o metrics=HOST:PORT`, for fstab lines)
// serves the counters of the CLI server in the Prometheus text format: after a read through
// the mount, the splice counters there moved and are the numbers `splicefs stats --json`
// gives. prom-client is loaded only when the option is given: a module-resolution hook in the
// server (NODE_OPTIONS=--import) writes down every resolution of 'prom-client', and the file
// stays empty for a server without --metrics that was read from and asked for its stats. Each
// server reads by splice (--read-mode splice): the default, auto, hands reads to the kernel
// (FUSE passthrough) and no READ would reach the server to be counted.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { freePort, httpGet, readThrough, startCliServer, statsJson } from '../helpers/control.js';
import { freshDir, leftoverCheck } from '../helpers/mount.js';

/** The value of one sample line (`name{labels} value`) of a Prometheus text body. */
function sample(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/**
 * NODE_OPTIONS for a server that appends 'prom-client' to the returned file each time it
 * resolves that module (the hook runs on Node's loader thread, which gets the environment).
 */
function traceImports(t: Test): { env: Record<string, string>; loaded: () => boolean } {
  const dir = freshDir('import-trace', 'tmp');
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const log = join(dir, 'resolved');
  const hooks = join(dir, 'hooks.mjs');
  const register = join(dir, 'register.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (specifier === 'prom-client') appendFileSync(${JSON.stringify(log)}, specifier + '\\n');
  return next(specifier, context);
}
`,
  );
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
  return {
    env: { NODE_OPTIONS: `--import=${pathToFileURL(register).href}` },
    loaded: () => existsSync(log) && readFileSync(log, 'utf8').includes('prom-client'),
  };
}

async function scrapeAfterRead(t: Test, args: string[], port: number) {
  const trace = traceImports(t);
  const s = await startCliServer(t, args, undefined, trace.env);
  t.equal(s.mounted.metrics, `127.0.0.1:${port}`, 'the mounted line names the endpoint');
  await readThrough(t, join(s.mnt, 'f'));
  const r = await httpGet(`http://127.0.0.1:${port}/metrics`);
  const live = await statsJson(t, s.mnt);
  if (!('status' in r)) return void t.fail(`scrape failed: ${r.error}`);
  t.equal(r.status, 200, 'GET /metrics is 200');
  t.ok(live.stats.read.spliceReplies > 0, `the read was spliced (${live.stats.read.spliceReplies} replies)`);
  // Nothing reads through the mount between the scrape and stats: READ counters agree.
  t.equal(sample(r.body, 'splicefs_read_replies_total{path="splice"}'), live.stats.read.spliceReplies, 'splice replies as stats gives them');
  t.equal(sample(r.body, 'splicefs_read_bytes_total{path="splice"}'), live.stats.read.spliceBytes, 'splice bytes as stats gives them');
  t.equal(live.metrics, `127.0.0.1:${port}`, 'stats names the endpoint');
  t.ok(trace.loaded(), 'prom-client was loaded');
  s.child.kill('SIGTERM');
  t.equal((await s.exited).code, 0, 'the server exits 0');
  t.match(await httpGet(`http://127.0.0.1:${port}/metrics`), { error: 'ECONNREFUSED' }, 'the endpoint closed with the server');
}

t.test('--metrics 127.0.0.1:PORT on the command line: scraped after a read', async (t) => {
  const port = await freePort();
  await scrapeAfterRead(t, ['--read-mode', 'splice', '--metrics', `127.0.0.1:${port}`], port);
});

t.test('-o metrics=127.0.0.1:PORT, as an fstab line gives it', async (t) => {
  const port = await freePort();
  await scrapeAfterRead(t, ['-o', `ro,read_mode=splice,metrics=127.0.0.1:${port}`], port);
});

t.test('without --metrics: no endpoint, prom-client never loaded', async (t) => {
  const trace = traceImports(t);
  const s = await startCliServer(t, ['--read-mode', 'splice'], undefined, trace.env);
  t.equal(s.mounted.metrics, null, 'the mounted line says metrics: null');
  await readThrough(t, join(s.mnt, 'f'));
  const live = await statsJson(t, s.mnt);
  t.ok(live.stats.read.spliceReplies > 0, 'the server served a read and its stats');
  t.equal(live.metrics, null, 'stats says metrics off');
  s.child.kill('SIGTERM');
  t.equal((await s.exited).code, 0, 'the server exits 0');
  t.notOk(trace.loaded(), 'prom-client was not loaded');
});

leftoverCheck(t);
