// What `splicefs set` refuses, each with one line on stderr: splice or auto on a mount that
// started in copy mode (it made no pipes; the mode stays copy), an unknown setting or mode
// (usage, exit 2), passthrough where the mount cannot have it (the writeback cache), and a path
// no splicefs server serves.
import t from 'tap';
import { cli, oneLineError } from '../helpers/cli.js';
import { statsJson } from '../helpers/control.js';
import { freshDir, leftoverCheck, withMount } from '../helpers/mount.js';

t.test('a mount started in copy mode cannot switch to splice: one line, the mode stays', async (t) => {
  await withMount(t, { readMode: 'copy' }, {}, async ({ mnt, handle }) => {
    const r = await cli(['set', mnt, 'read-mode', 'splice']);
    oneLineError(t, 'set read-mode splice on a copy mount', r, /copy mode, which makes none/, 1);
    t.equal(handle.readMode, 'copy', 'still copy');
    t.match(await statsJson(t, mnt), { readMode: 'copy' }, 'stats says copy');
    t.throws(() => handle.setReadMode('auto'), { name: 'SplicefsError' }, 'the API refuses it too');
  });
});

t.test('set read-mode passthrough: taken where the mount has it, refused with the reason where not', async (t) => {
  await withMount(t, { readMode: 'splice' }, {}, async ({ mnt, handle }) => {
    const r = await cli(['set', mnt, 'read-mode', 'passthrough']);
    t.equal(r.code, 0, 'a splice mount switches to passthrough', { stderr: r.stderr.toString() });
    t.equal(handle.readMode, 'passthrough', 'new opens pass through');
    t.match(await statsJson(t, mnt), { readMode: 'passthrough' }, 'stats says passthrough');
  });
  await withMount(t, { readMode: 'splice', writebackCache: true }, {}, async ({ mnt, handle }) => {
    const r = await cli(['set', mnt, 'read-mode', 'passthrough']);
    oneLineError(t, 'set read-mode passthrough with the writeback cache', r, /not available on this mount \(writebackCache\)/, 1);
    t.equal(handle.readMode, 'splice', 'still splice');
  });
});

t.test('bad arguments are usage errors; a plain directory has no server', async (t) => {
  const dir = freshDir('set-plain');
  oneLineError(t, 'unknown mode', await cli(['set', dir, 'read-mode', 'fast']), /^splicefs: set read-mode takes one of auto, passthrough, splice, copy, not 'fast' \(see splicefs --help\)$/, 2);
  oneLineError(t, 'unknown setting', await cli(['set', dir, 'threads', '4']), /unknown setting 'threads'/, 2);
  oneLineError(t, 'missing value', await cli(['set', dir, 'read-mode']), /set takes MOUNTPOINT, a setting and a value/, 2);
  oneLineError(t, 'not a mount', await cli(['set', dir, 'read-mode', 'copy']), /no splicefs server serves .*: it is not a mount point/, 1);
  oneLineError(t, 'stats of a non-splicefs mount', await cli(['stats', '/proc']), /no splicefs server serves \/proc: it is a proc mount/, 1);
  oneLineError(t, 'stats: unknown option', await cli(['stats', dir, '--nope']), /^splicefs: unknown option '--nope' \(see splicefs --help\)$/, 2);
});

leftoverCheck(t);
