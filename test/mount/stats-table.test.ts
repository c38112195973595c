// `splicefs stats MOUNTPOINT` prints a running server's counters as a table: after a file was
// read through the mount, the READ rows, open handles, nodes and node fds are the numbers the
// API's handle.stats() gives (nothing else reads through the mount in between), and the read
// mode, RSS and the metrics state are shown. The mount is direct I/O: its opens go through the
// server (auto mode counts them as passthrough fallbacks, directIo), so the read is spliced.
import { join } from 'node:path';
import t from 'tap';
import { formatBytes } from '../../src/control/format.js';
import { cli } from '../helpers/cli.js';
import { populateFile, readThrough } from '../helpers/control.js';
import { leftoverCheck, withMount } from '../helpers/mount.js';

t.test('the table after a read shows the counters handle.stats() gives', async (t) => {
  await withMount(t, { directIo: true }, { populate: (s) => populateFile(s) }, async ({ mnt, handle }) => {
    await readThrough(t, join(mnt, 'f'));
    const r = await cli(['stats', mnt]);
    const table = r.stdout.toString();
    t.equal(r.code, 0, 'exit 0', { stderr: r.stderr.toString() });
    const s = handle.stats();
    t.ok(s.read.spliceReplies > 0, `the read was spliced (${s.read.spliceReplies} replies)`);
    t.match(table, new RegExp(`^splicefs on ${mnt} .*pid ${process.pid}`, 'm'), 'names the mount and the server');
    const row = (name: string) => new RegExp(`^  ${name} +(\\d+)(?: +(.+))?$`, 'm').exec(table);
    t.same(row('splice')?.slice(1), [String(s.read.spliceReplies), formatBytes(s.read.spliceBytes)], 'splice: replies and bytes');
    t.same(row('copy')?.slice(1), [String(s.read.copyReplies), formatBytes(s.read.copyBytes)], 'copy: replies and bytes');
    t.equal(row('errors')?.[1], String(s.read.errorReplies), 'error replies');
    const fb = s.read.fallbacks;
    // The label column is as wide as its widest label ('kernel passthrough').
    t.match(table, new RegExp(`^fallbacks to copy +noSpliceRead ${fb.noSpliceRead}, pipeTooSmall ${fb.pipeTooSmall}, shortData ${fb.shortData}, pipeFull ${fb.pipeFull}, spliceError ${fb.spliceError}$`, 'm'), 'fallbacks by reason');
    const pt = s.passthrough;
    t.equal(pt.fallbacks.directIo > 0 && pt.opens === 0, true, `direct I/O opens did not pass through (directIo ${pt.fallbacks.directIo}, opens ${pt.opens})`);
    t.match(
      table,
      new RegExp(`^kernel passthrough +opens ${pt.opens} \\(reads and writes not seen here\\), backing ids ${pt.backingIds} open, ${pt.backingOpens} registered; through the server instead: directIo ${pt.fallbacks.directIo}$`, 'm'),
      'kernel passthrough: opens, backing ids, fallbacks by reason',
    );
    t.match(table, new RegExp(`^open handles +files ${s.openFiles}, directories ${s.openDirs}; released files still closing ${s.fds.closesPending}$`, "m"), "open handles");
    t.match(table, new RegExp(`^nodes +${s.nodes}$`, 'm'), 'nodes');
    t.match(table, new RegExp(`^node fds +held ${s.fds.held} of ${s.fds.budget};`, 'm'), 'node fds');
    t.match(table, /^read mode +auto for new opens$/m, 'the read mode');
    t.match(table, /^RSS +\d+\.\d MiB$/m, 'RSS');
    t.match(table, /^metrics +off$/m, 'metrics off by default');
    // The loop's counters move with every request the kernel sends (a RELEASE may still come
    // after the read), so only the parks, which need a window of 64 requests, are compared.
    t.match(table, /^event loop +read \d+ requests itself; spins caught \d+, ran out \d+$/m, 'the event loop row');
    const park = /^worker parking +parks (\d+), unparks (\d+)(?: \(parked now\))?; jobs passed to parked workers \d+; requests the workers answered \d+$/m.exec(table);
    t.ok(park, 'the worker parking row');
    t.same(park?.slice(1, 3), [String(s.loop.parks), String(s.loop.unparks)], 'parks and unparks as handle.stats() gives them');
  });
});

leftoverCheck(t);
