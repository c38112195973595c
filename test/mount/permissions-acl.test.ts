// issue 9, item 1 (ACLs): POSIX ACLs of the source count through the mount, in both directions:
// an ACL entry that denies a user what the mode bits would give, and one that grants what they
// would not (named user, named group via a supplementary group, the mask, a directory's ACL for
// listing and search). The kernel reads them through GETXATTR (FUSE_POSIX_ACL), so getfacl
// through the mount shows the source's ACL; an ACL changed on the source counts once the
// attribute timeout has passed; and a source file system without ACL support (ramfs) denies
// nobody what its mode bits allow.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { freshDir, leftoverCheck, run, withMount } from '../helpers/mount.js';
import { NOBODY, opLabel, probe, type Op, type User } from '../helpers/probe.js';

const GROUP = 4242;
const NAMED: User = { name: 'named user 4244', uid: 4244, gid: 4244 };
const MEMBER: User = { name: 'group member', uid: 4243, gid: 4243, groups: [GROUP] };
const NON_MEMBER: User = { name: 'non-member', uid: 4243, gid: 4243 };
const USERS = [NOBODY, NAMED, MEMBER, NON_MEMBER];

function file(src: string, rel: string, mode: number, acl?: string): void {
  writeFileSync(join(src, rel), rel);
  chmodSync(join(src, rel), mode);
  if (acl) execFileSync('setfacl', ['-m', acl, join(src, rel)]);
}

function populate(src: string): void {
  chmodSync(src, 0o755);
  file(src, 'deny-nobody', 0o644, 'u:65534:---'); // the mode bits would let nobody read
  file(src, 'grant-named', 0o600, 'u:4244:r--'); // the mode bits would not
  file(src, 'grant-group', 0o600, `g:${GROUP}:r-x`);
  file(src, 'masked', 0o600, 'u:4244:rwx,m::r--'); // the mask leaves 4244 only r
  file(src, 'plain', 0o644);
  mkdirSync(join(src, 'dir'));
  chmodSync(join(src, 'dir'), 0o700);
  execFileSync('setfacl', ['-m', 'u:4244:r-x', join(src, 'dir')]);
  file(src, 'dir/f', 0o644);
}

const FILES = ['deny-nobody', 'grant-named', 'grant-group', 'masked', 'plain', 'dir/f'];
const OPS: Op[] = [
  ...FILES.flatMap((f): Op[] => [['read', f], ['access', f, 'R'], ['access', f, 'X']]),
  ['list', 'dir'],
  ['access', 'dir', 'R'],
  ['access', 'dir', 'X'],
  ['stat', 'dir/f'],
];

const SOURCE_FACTS: Array<[User, Op, string]> = [
  [NOBODY, ['read', 'deny-nobody'], 'EACCES'],
  [NAMED, ['read', 'deny-nobody'], 'ok:deny-nobody'],
  [NAMED, ['read', 'grant-named'], 'ok:grant-named'],
  [NOBODY, ['read', 'grant-named'], 'EACCES'],
  [MEMBER, ['read', 'grant-group'], 'ok:grant-group'],
  [NON_MEMBER, ['read', 'grant-group'], 'EACCES'],
  [NAMED, ['access', 'masked', 'X'], 'EACCES'],
  [NAMED, ['list', 'dir'], 'ok:f'],
  [NOBODY, ['list', 'dir'], 'EACCES'],
];

/** getfacl's answer for each path under `root` (no header: the paths differ). */
async function getfacl(root: string, rels: string[]): Promise<string> {
  const r = await run('getfacl', ['--omit-header', '--absolute-names', ...rels.map((x) => join(root, x))]);
  return `${r.code} ${r.stdout.toString()}${r.stderr.toString().replaceAll(root, 'ROOT')}`;
}

t.test('ACLs of the source deny and grant through the mount as on the source', async (t) => {
  await withMount(t, { allowOther: true }, { populate }, async ({ src, mnt }) => {
    for (const user of USERS) {
      const [onSource, onMount] = await Promise.all([probe(user, src, OPS), probe(user, mnt, OPS)]);
      OPS.forEach((op, i) => t.equal(onMount[i], onSource[i], `${user.name}: ${opLabel(op)} as on the source (${onSource[i]})`));
      for (const [, op, want] of SOURCE_FACTS.filter(([u]) => u === user))
        t.equal(onSource[OPS.findIndex((o) => opLabel(o) === opLabel(op))], want, `source fact: ${user.name} ${opLabel(op)} is ${want}`);
    }
    const rels = [...FILES, 'dir'];
    t.equal(await getfacl(mnt, rels), await getfacl(src, rels), 'getfacl through the mount shows the source ACLs');
  });
});

t.test('an ACL changed on the source counts once the attribute timeout has passed', async (t) => {
  const timeout = 0.3;
  await withMount(t, { allowOther: true, timeout }, { populate }, async ({ src, mnt }) => {
    const op: Op[] = [['read', 'plain']];
    t.same(await probe(NOBODY, mnt, op), ['ok:plain'], 'nobody reads plain through the mount');
    execFileSync('setfacl', ['-m', 'u:65534:---', join(src, 'plain')]);
    await new Promise((r) => setTimeout(r, timeout * 1000 + 300));
    t.same(await probe(NOBODY, src, op), ['EACCES'], 'the source now denies nobody');
    t.same(await probe(NOBODY, mnt, op), ['EACCES'], 'and so does the mount');
    execFileSync('setfacl', ['-b', join(src, 'plain')]);
    await new Promise((r) => setTimeout(r, timeout * 1000 + 300));
    t.same(await probe(NOBODY, mnt, op), ['ok:plain'], 'the ACL removed: nobody reads again');
  });
});

t.test('a source without ACL support (ramfs) denies nobody what its mode bits allow', async (t) => {
  const src = freshDir('ramfs-src');
  t.teardown(async () => {
    await run('umount', ['-l', src]);
    rmdirSync(src);
  });
  const m = await run('mount', ['-t', 'ramfs', 'ramfs', src]);
  t.equal(m.code, 0, `ramfs mounted on the source dir ${m.stderr.toString()}`);
  chmodSync(src, 0o755);
  file(src, 'pub', 0o644);
  file(src, 'secret', 0o600);
  t.match((await run('getfattr', ['-n', 'system.posix_acl_access', join(src, 'pub')])).stderr.toString(), /not supported/, 'ramfs has no ACLs');
  await withMount(t, { allowOther: true }, { source: src }, async ({ mnt }) => {
    const ops: Op[] = [['read', 'pub'], ['access', 'pub', 'R'], ['read', 'secret'], ['list', '.']];
    const onSource = await probe(NOBODY, src, ops);
    t.same(onSource, ['ok:pub', 'ok', 'EACCES', 'ok:pub,secret'], 'the source: mode bits decide');
    t.same(await probe(NOBODY, mnt, ops), onSource, 'the mount: the same');
  });
});

leftoverCheck(t);
