// issue 9, item 1 (the options): permission checks are on by default. `-o allow_other` alone
// gives every user their own access, not root's; without allow_other the checks are on too (a
// root process without the DAC capabilities gets what the source gives it). Turning them off
// takes the explicit `-o no_default_permissions`, which does what the README says (the
// server's access for everyone) and is logged as a warning; asking for both is a usage error.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { findMount } from '../../src/mnt/mountinfo.js';
import { runCli, startCli } from '../helpers/cli-bytes.js';
import { forceUnmount, freshDir, leftoverCheck, run, within, withMount } from '../helpers/mount.js';
import { NOBODY, ROOT, probe, type Op } from '../helpers/probe.js';

function populate(src: string): void {
  chmodSync(src, 0o755);
  writeFileSync(join(src, 'secret'), 'secret');
  chmodSync(join(src, 'secret'), 0o600);
  writeFileSync(join(src, 'pub'), 'pub');
  chmodSync(join(src, 'pub'), 0o644);
}

const OPS: Op[] = [['read', 'secret'], ['access', 'secret', 'R'], ['read', 'pub']];

/** The CLI serving a fresh source on a fresh mountpoint with `options`; unmounted at teardown. */
async function cliMount(t: Parameters<typeof startCli>[0], options: string[]) {
  const src = freshDir('perm-src');
  const mnt = freshDir('perm-mnt');
  populate(src);
  const s = await startCli(t, [src, mnt, ...options], async () => {
    if (findMount(mnt)) await forceUnmount(mnt);
    await run('rm', ['-rf', src]);
    await run('rmdir', [mnt]);
  });
  const stop = async () => {
    const r = await runCli(['umount', mnt]);
    t.equal(r.code, 0, 'splicefs umount: exit 0');
    t.equal((await within(15_000, 'server exit', s.exited)).code, 0, 'the server exits 0');
  };
  return { src, mnt, s, stop };
}

t.test('-o allow_other: checks on, each user gets what the source gives them', async (t) => {
  const { src, mnt, s, stop } = await cliMount(t, ['-o', 'allow_other']);
  t.equal(s.mounted.allowOther, true, 'mounted line: allowOther');
  t.equal(s.mounted.defaultPermissions, true, 'mounted line: defaultPermissions on by default');
  t.ok((s.mounted.flags as string[]).includes('POSIX_ACL'), 'FUSE_POSIX_ACL negotiated');
  const onSource = await probe(NOBODY, src, OPS);
  t.same(onSource, ['EACCES', 'EACCES', 'ok:pub'], 'the source denies nobody the 0600 file');
  t.same(await probe(NOBODY, mnt, OPS), onSource, 'so does the mount');
  t.same(await probe(ROOT, mnt, OPS), ['ok:secret', 'ok', 'ok:pub'], 'root still reads everything');
  t.notMatch(s.stderr().toString(), /"level":40/, 'no warning');
  await stop();
});

t.test('without allow_other the checks are on too: capabilities count', async (t) => {
  const rootNoDac = { ...ROOT, name: 'root without DAC caps', dropCaps: ['dac_override', 'dac_read_search'] };
  await withMount(t, {}, { populate }, async ({ src, mnt, handle }) => {
    t.equal(handle.info.defaultPermissions, true, 'info.defaultPermissions');
    chmodSync(join(src, 'secret'), 0o000); // root's own file, no bits: only CAP_DAC_OVERRIDE reads it
    const onSource = await probe(rootNoDac, src, OPS);
    t.same(onSource, ['EACCES', 'EACCES', 'ok:pub'], 'the source denies a root without DAC caps');
    t.same(await probe(rootNoDac, mnt, OPS), onSource, 'so does the mount');
  });
});

t.test('-o allow_other,no_default_permissions: no checks, as documented, with a warning', async (t) => {
  const { mnt, s, stop } = await cliMount(t, ['-o', 'allow_other,no_default_permissions']);
  t.equal(s.mounted.defaultPermissions, false, 'mounted line: defaultPermissions off');
  t.notOk((s.mounted.flags as string[]).includes('POSIX_ACL'), 'FUSE_POSIX_ACL not asked for');
  t.match(s.stderr().toString(), /"level":40.*no_default_permissions/, 'a warning says every user gets the server\'s access');
  t.same(await probe(NOBODY, mnt, OPS), ['ok:secret', 'ok', 'ok:pub'], 'nobody reads what the server (root) reads');
  await stop();
});

t.test('the options on the command line', async (t) => {
  const both = await runCli(['/nonexistent', '/nonexistent', '-o', 'default_permissions,no_default_permissions']);
  t.equal(both.code, 2, 'default_permissions with no_default_permissions: usage error');
  t.match(both.stderr.toString(), /^splicefs: -o default_permissions and no_default_permissions contradict/);
  const help = await runCli(['--help']);
  t.match(help.stdout.toString(), /no_default_permissions/, '--help documents no_default_permissions');
});

leftoverCheck(t);
