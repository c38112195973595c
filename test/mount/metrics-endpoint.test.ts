// `metrics: {host, port}` (CLI --metrics HOST:PORT) serves the counters in the Prometheus text
// format on http://HOST:PORT/metrics: after a read, the READ counters there are the numbers of
// handle.stats(), the read mode and RSS are there, other paths are 404, and the endpoint is
// closed once the mount is unmounted.
import { join } from 'node:path';
import t from 'tap';
import { freePort, httpGet, populateFile, readThrough } from '../helpers/control.js';
import { leftoverCheck, withMount } from '../helpers/mount.js';

/** The value of one sample line (`name{labels} value`) of a Prometheus text body. */
function sample(body: string, series: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

t.test('scraped over HTTP on 127.0.0.1: the counters; closed at unmount', async (t) => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/metrics`;
  await withMount(t, { directIo: true, metrics: { host: '127.0.0.1', port } }, { populate: (s) => populateFile(s) }, async ({ mnt, handle }) => {
    t.equal(handle.info.metrics, `127.0.0.1:${port}`, 'info says where');
    await readThrough(t, join(mnt, 'f'));
    const r = await httpGet(url);
    if (!('status' in r)) return void t.fail(`scrape failed: ${r.error}`);
    const s = handle.stats().read;
    t.equal(r.status, 200, 'GET /metrics is 200');
    t.match(r.body, /^# HELP splicefs_read_replies_total /m, 'Prometheus text format (HELP)');
    t.match(r.body, /^# TYPE splicefs_read_replies_total counter$/m, 'Prometheus text format (TYPE)');
    t.ok(s.spliceReplies > 0, 'the read was spliced');
    t.equal(sample(r.body, 'splicefs_read_replies_total{path="splice"}'), s.spliceReplies, 'splice replies');
    t.equal(sample(r.body, 'splicefs_read_bytes_total{path="splice"}'), s.spliceBytes, 'splice bytes');
    t.equal(sample(r.body, 'splicefs_read_replies_total{path="copy"}'), s.copyReplies, 'copy replies');
    t.equal(sample(r.body, 'splicefs_read_fallbacks_total{reason="pipeTooSmall"}'), s.fallbacks.pipeTooSmall, 'fallbacks by reason');
    t.equal(sample(r.body, 'splicefs_read_mode{mode="auto"}'), 1, 'the read mode');
    t.ok((sample(r.body, 'process_resident_memory_bytes') ?? 0) > 0, 'RSS');
    t.equal(sample(r.body, 'splicefs_open_files'), 0, 'open files');
    // The parking counters (stats().loop) are there; their exact values are checked in
    // test/unit/control-format.test.ts (here a late RELEASE could move them between the two reads).
    for (const series of ['splicefs_loop_reads_total', 'splicefs_loop_spins_total{result="hit"}', 'splicefs_loop_spins_total{result="miss"}',
      'splicefs_worker_parks_total', 'splicefs_worker_unparks_total', 'splicefs_worker_jobs_total', 'splicefs_worker_answered_total'])
      t.ok(Number.isInteger(sample(r.body, series)), `${series} is there`);
    t.equal(sample(r.body, 'splicefs_worker_parks_total'), handle.stats().loop.parks, 'parks as handle.stats() gives them');
    const other = await httpGet(`http://127.0.0.1:${port}/`);
    t.match(other, { status: 404 }, 'other paths are 404');
  });
  t.match(await httpGet(url), { error: 'ECONNREFUSED' }, 'closed after unmount');
});

leftoverCheck(t);
