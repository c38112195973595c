// Start-up failures through the API, provoked by the addon's fault hook: cloning /dev/fuse for
// the workers fails (the first clone, or the third with two clones already open), or the INIT
// reply never arrives (mount() times out). mount() rejects with a one-line SplicefsError that
// says what failed, leaves no mount and no file descriptor behind, and the same mountpoint
// then mounts and serves normally.
// Through the mount only fs.promises (the server shares this event loop) or child processes.
import { readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { addon } from '../../src/addon.js';
import { mount, SplicefsError, type MountOptions } from '../../src/index.js';
import { data, disarmAll, E, scratchPair } from '../helpers/faults.js';
import { leftoverCheck, mountsAt, quietLogger, withAllSplice, within } from '../helpers/mount.js';

t.afterEach(disarmAll);

const openFds = () => readdirSync('/proc/self/fd').length;

/** A mount() that must fail: its rejection, and the mountpoint left bare. */
async function failingMount(t: Test, opts: MountOptions, what: string): Promise<SplicefsError | null> {
  const { src, mnt } = scratchPair(t, 'faults');
  const fds = openFds();
  const err = await within(
    20_000,
    what,
    mount(src, mnt, { logger: quietLogger(), ...opts }).then(
      async (h) => {
        await h.unmount({ graceMs: 0 });
        return null;
      },
      (e: unknown) => e,
    ),
  );
  t.ok(err instanceof SplicefsError, `${what}: mount() rejects with a SplicefsError`, { err: String(err) });
  const msg = err instanceof Error ? err.message : '';
  t.notOk(msg.includes('\n'), `${what}: the message is one line: ${msg}`);
  t.same(mountsAt(mnt), [], `${what}: no mount left at the mountpoint`);
  t.equal(openFds(), fds, `${what}: no file descriptor left open`);
  // The same mountpoint mounts and serves normally afterwards.
  await withAllSplice(t, opts.threads === undefined ? {} : { threads: opts.threads }, { source: src }, async (m) => {
    const got = await within(30_000, 'read after the failed mount', readFile(join(m.mnt, 'f')));
    t.ok(got.equals(data), `${what}: afterwards, a new mount serves the file exact`);
  });
  return err instanceof SplicefsError ? err : null;
}

// threads 3 with the third clone failing: two cloned fds are open by then and must be closed.
for (const [threads, skip] of [
  [1, 0],
  [3, 2],
]) {
  t.test(`API: cloning /dev/fuse for the workers fails (threads ${threads}, clone ${skip + 1} fails)`, async (t) => {
    addon.injectFault('clone', E.EMFILE, 1, skip);
    const err = await failingMount(t, { threads }, 'clone failure');
    t.equal(addon.injectFault('clone', 0, 0), 0, 'the clone fault was used');
    t.match(err?.message ?? '', /cannot start serving .*: cannot clone \/dev\/fuse: Too many open files$/, 'says what failed');
  });
}

t.test('API: the INIT reply never arrives: mount() times out, unmounts, rejects', async (t) => {
  addon.injectFault('init', E.EIO, 1);
  const t0 = Date.now();
  const err = await failingMount(t, { initTimeoutMs: 500 }, 'INIT timeout');
  t.equal(addon.injectFault('init', 0, 0), 0, 'the init fault was used');
  t.match(err?.message ?? '', /^mount on .* failed: session ended before INIT: INIT timeout$/, 'says what failed');
  t.ok(Date.now() - t0 >= 500, 'after the timeout asked for');
});

leftoverCheck(t);
