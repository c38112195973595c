// Kernel passthrough and set-user-ID / set-group-ID files: the kernel's passthrough writes run
// with the server's credentials (root, CAP_FSETID), so they would leave those bits on a file an
// unprivileged user writes to. Such files go through the server instead (fallbacks.setId),
// which clears them as the source would (FUSE_HANDLE_KILLPRIV_V2): checked against a plain
// directory written the same way by the same user. An ordinary file of that user still passes
// through in the same mount.
import { chmodSync, chownSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { freshDir, run, withMount } from '../helpers/mount.js';
import { ptDelta, settle } from '../helpers/passthrough.js';

const NOBODY = 65534;
const FILES: Array<[string, number, string]> = [
  ['suid', 0o4755, 'set-user-ID'],
  ['sgid', 0o2775, 'set-group-ID + group execute'],
  ['both', 0o6755, 'both'],
];

/** The files, owned by nobody in a directory nobody may write, each with its mode. */
function populate(dir: string): void {
  mkdirSync(join(dir, 'd'), { mode: 0o777 });
  chmodSync(join(dir, 'd'), 0o777);
  for (const [name, mode] of [...FILES, ['plain', 0o644, ''] as [string, number, string]]) {
    const p = join(dir, 'd', name);
    writeFileSync(p, 'x');
    chownSync(p, NOBODY, NOBODY);
    chmodSync(p, mode);
  }
}

/** Append a byte to `path` as uid/gid nobody; the exit code. */
async function appendAsNobody(path: string): Promise<number | null> {
  const r = await run('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'sh', '-c', 'printf y >> "$1"', '_', path]);
  return r.code;
}

t.test('passthrough: a set-ID file written by another user goes through the server and loses its bits, as on the source', async (t) => {
  const ref = freshDir('setid-ref');
  t.teardown(() => void run('rm', ['-rf', ref]));
  populate(ref);
  await withMount(t, { readMode: 'passthrough', allowOther: true }, { populate }, async (m) => {
    t.equal(m.handle.info.passthrough, 'on', 'passthrough is on');
    for (const [name, , what] of FILES) {
      const before = await settle(m);
      t.equal(await appendAsNobody(join(m.mnt, 'd', name)), 0, `${what}: nobody appends through the mount`);
      t.equal(await appendAsNobody(join(ref, 'd', name)), 0, `${what}: nobody appends to the reference`);
      const d = ptDelta(before, await settle(m));
      t.equal(d.setId, 1, `${what}: counted as fallbacks.setId`);
      t.equal(d.opens, 0, `${what}: did not pass through`);
      t.ok(d.writeRequests > 0, `${what}: the WRITE reached the server (${d.writeRequests})`);
      const got = statSync(join(m.src, 'd', name)).mode & 0o7777;
      const want = statSync(join(ref, 'd', name)).mode & 0o7777;
      t.equal(got.toString(8), want.toString(8), `${what}: the source's mode is the reference's (${want.toString(8)})`);
      t.ok((got & 0o6000) !== (FILES.find((f) => f[0] === name)![1] & 0o6000), `${what}: the bits were cleared`);
    }
    const before = await settle(m);
    t.equal(await appendAsNobody(join(m.mnt, 'd', 'plain')), 0, 'an ordinary file: nobody appends');
    const d = ptDelta(before, await settle(m));
    t.equal(d.opens, 1, 'an ordinary file passes through');
    t.equal(d.writeRequests, 0, 'its WRITE never reached the server');
    t.equal(statSync(join(m.src, 'd', 'plain')).size, 2, 'and landed in the source');
  });
});
