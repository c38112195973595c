// What `splicefs stats` prints, without a server: byte and duration formats, the rates between
// two snapshots (by the server's clock), the --watch line, and the table's rows; and the
// Prometheus metrics the endpoint serves for one snapshot (metrics-registry.ts).
import t from 'tap';
import { formatBytes, formatDuration, rates, statsTable, watchLine } from '../../src/control/format.js';
import { makeRegistry, update } from '../../src/control/metrics-registry.js';
import type { LiveStats } from '../../src/control/protocol.js';

const MIB = 1024 * 1024;

type Loop = LiveStats['stats']['loop'];
const NO_LOOP: Loop = { reads: 0, spinHits: 0, spinMisses: 0, parks: 0, unparks: 0, jobs: 0, answered: 0 };

function live(uptimeMs: number, spliceBytes: number, copyBytes: number, readMode: LiveStats['readMode'] = 'auto', writeSpliceBytes = 0, loop = NO_LOOP): LiveStats {
  const fallbacks = { noSpliceRead: 0, pipeTooSmall: 1, shortData: 0, pipeFull: 0, spliceError: 0 };
  const fds = { budget: 768, held: 3, shed: 0, reopenedByHandle: 0, reopenedByName: 0, stale: 0, limitHits: 0, filesystems: 1, handleFilesystems: 1, closesPending: 0 };
  return {
    pid: 42, mountpoint: '/m', source: '/s', readMode, startReadMode: 'auto', uptimeMs, rss: 60 * MIB, metrics: null,
    stats: {
      requests: { READ: 10 },
      read: { spliceReplies: spliceBytes / MIB, spliceBytes, copyReplies: copyBytes / MIB, copyBytes, errorReplies: 0, smallCopies: 0, fallbacks },
      interrupted: 0, forwarded: 0, spin: { hits: 0, misses: 0 }, loop, directIoOpens: { option: 0, pseudoFs: 0, zeroSize: 0 },
      nodes: 4, fds, openFiles: 1, openDirs: 0,
      write: { spliceReplies: 2, spliceBytes: writeSpliceBytes, copyReplies: 3, copyBytes: 3 * MIB, errorReplies: 0, fallbacks: { appendCopies: 0, spliceFallbacks: 0, noWorkerCopies: 0 }, capabilityGetxattrs: 0, streams: { started: 1, ended: 0 } },
      creds: { switched: 0, groupsUnknown: 0 },
      passthrough: {
        opens: 5, backingOpens: 2, backingCloses: 1, backingIds: 1,
        fallbacks: { notOffered: 0, writebackCache: 0, noCapability: 0, notStackable: 3, directIo: 0, setId: 0, openThroughServer: 0, backingError: 0 },
      },
    },
  };
}

t.test('formats', async (t) => {
  t.equal(formatBytes(0), '0 B');
  t.equal(formatBytes(1023), '1023 B');
  t.equal(formatBytes(1536), '1.5 KiB');
  t.equal(formatBytes(5 * MIB), '5.0 MiB');
  t.equal(formatBytes(3 * 1024 * MIB), '3.0 GiB');
  t.equal(formatDuration(999), '0s');
  t.equal(formatDuration(192_000), '3m12s');
  t.equal(formatDuration(3_900_000), '1h05m');
  t.equal(formatDuration(90_000_000), '1d01h');
});

t.test('rates by the server clock; the watch line puts splice and copy side by side', async (t) => {
  const a = live(10_000, 100 * MIB, 0);
  const b = live(12_000, 300 * MIB, 50 * MIB, 'copy', 20 * MIB);
  t.match(rates(a, b), { seconds: 2, spliceMiBs: 100, copyMiBs: 25, spliceRepliesPerS: 100, copyRepliesPerS: 25, writeSpliceMiBs: 10, writeCopyMiBs: 0 });
  const line = watchLine(a, b, new Date(2025, 0, 1, 12, 34, 56));
  t.match(line, /^12:34:56 +100\.0 +25\.0 +100 +25 +0 +1 +60\.0 MiB +copy +10\.0 +0\.0\n$/, line);
});

t.test('the table', async (t) => {
  const table = statsTable(live(5_000, 2 * MIB, MIB, 'copy'));
  t.match(table, /^splicefs on \/m   source \/s   pid 42   up 5s$/m);
  t.match(table, /^  splice +2 +2\.0 MiB$/m);
  t.match(table, /^  copy +1 +1\.0 MiB$/m);
  t.match(table, /^read mode +copy for new opens \(started auto\)$/m);
  t.match(table, /pipeTooSmall 1/);
  t.match(table, /^metrics +off$/m);
});

// Every number distinct, so that a row showing one counter in another's place is caught.
const PARKED: Loop = { reads: 1201, spinHits: 802, spinMisses: 303, parks: 5, unparks: 4, jobs: 77, answered: 9090 };

t.test('the table: the event loop and worker parking rows', async (t) => {
  const table = statsTable(live(5_000, 2 * MIB, MIB, 'auto', 0, PARKED));
  t.match(table, /^event loop +read 1201 requests itself; spins caught 802, ran out 303$/m, 'the loop: its reads and spins');
  t.match(
    table,
    /^worker parking +parks 5, unparks 4 \(parked now\); jobs passed to parked workers 77; requests the workers answered 9090$/m,
    'parking: parks, unparks, parked now, jobs, answered',
  );
  const back = statsTable(live(5_000, 0, 0, 'auto', 0, { ...PARKED, unparks: 5 }));
  t.match(back, /^worker parking +parks 5, unparks 5; jobs/m, 'as many unparks as parks: reading again, no "parked now"');
  const idle = statsTable(live(5_000, 0, 0));
  t.match(idle, /^event loop +read 0 requests itself; spins caught 0, ran out 0$/m, 'no parking: zeros, still shown');
  // The label column keeps the width of its widest label ('kernel passthrough').
  t.match(table, /^worker parking {7}parks/m, 'aligned with the other rows');
});

t.test('the Prometheus metrics of one snapshot, parking included', async (t) => {
  const { registry, m } = makeRegistry();
  update(m, live(5_000, 2 * MIB, MIB, 'auto', 0, PARKED));
  const body = await registry.metrics();
  const sample = (series: string) => body.split('\n').find((l) => l.startsWith(series + ' '))?.slice(series.length + 1);
  const want: Array<[string, string]> = [
    ['splicefs_loop_reads_total', '1201'],
    ['splicefs_loop_spins_total{result="hit"}', '802'],
    ['splicefs_loop_spins_total{result="miss"}', '303'],
    ['splicefs_worker_parks_total', '5'],
    ['splicefs_worker_unparks_total', '4'],
    ['splicefs_worker_jobs_total', '77'],
    ['splicefs_worker_answered_total', '9090'],
  ];
  for (const [series, value] of want) {
    t.equal(sample(series), value, `${series} ${value}`);
    const name = series.replace(/\{.*/, '');
    t.match(body, new RegExp(`^# TYPE ${name} counter$`, 'm'), `${name}: a counter`);
    t.match(body, new RegExp(`^# HELP ${name} \\S`, 'm'), `${name}: has help`);
  }
  t.equal(sample('splicefs_read_replies_total{path="splice"}'), '2', 'the existing metrics are still there');
  // A second scrape sets them again from its snapshot, it does not add to the first.
  update(m, live(6_000, 2 * MIB, MIB, 'auto', 0, { ...PARKED, parks: 6 }));
  const again = await registry.metrics();
  t.match(again, /^splicefs_worker_parks_total 6$/m, 'the next snapshot replaces the numbers');
  t.match(again, /^splicefs_loop_reads_total 1201$/m, 'unchanged ones stay');
});
