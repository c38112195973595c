// issue 9, item 1: under `-o allow_other` every user gets through the mount what the source
// gives them, no more and no less. Each operation of the kind (access R/W/X, open for read and
// for exec, listing, search through a directory, readlink, getxattr of user.*, listxattr) runs
// as each user on the source and on the mount, and the answers must be the same: mode bits for
// owner/group/other, supplementary groups (member and non-member), root, and a root process
// without the DAC capabilities (the kernel's checks follow capabilities, not uid 0).
// ACLs have their own file (permissions-acl.test.ts).
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck, withMount } from '../helpers/mount.js';
import { NOBODY, ROOT, opLabel, probe, type Op, type User } from '../helpers/probe.js';

const GROUP = 4242; // a group the member has as a supplementary group only
const OTHER_OWNER = 4245;
const MEMBER: User = { name: 'member', uid: 4243, gid: 4243, groups: [GROUP] };
const NON_MEMBER: User = { name: 'non-member', uid: 4243, gid: 4243 };
const ROOT_NO_DAC: User = { ...ROOT, name: 'root without DAC caps', dropCaps: ['dac_override', 'dac_read_search'] };
const USERS = [ROOT, NOBODY, MEMBER, NON_MEMBER, ROOT_NO_DAC];

function file(src: string, rel: string, content: string, mode: number, uid = 0, gid = 0): void {
  writeFileSync(join(src, rel), content);
  chownSync(join(src, rel), uid, gid);
  chmodSync(join(src, rel), mode); // after the write: the mode must not depend on the umask
}

function dir(src: string, rel: string, mode: number, uid = 0, gid = 0): void {
  mkdirSync(join(src, rel));
  chownSync(join(src, rel), uid, gid);
  chmodSync(join(src, rel), mode);
}

function populate(src: string): void {
  chmodSync(src, 0o755);
  file(src, 'pub', 'pub', 0o644);
  file(src, 'secret', 'secret', 0o600);
  file(src, 'zero', 'zero', 0o000);
  file(src, 'other', 'other', 0o600, OTHER_OWNER, OTHER_OWNER);
  file(src, 'grp', 'grp', 0o640, 0, GROUP);
  file(src, 'script.sh', '#!/bin/sh\necho ran\n', 0o700);
  file(src, 'pubexe.sh', '#!/bin/sh\necho ran\n', 0o755);
  dir(src, 'private', 0o700);
  file(src, 'private/inner', 'inner', 0o644);
  symlinkSync('../pub', join(src, 'private/link'));
  dir(src, 'grpdir', 0o750, 0, GROUP);
  file(src, 'grpdir/f', 'f', 0o644);
  dir(src, 'otherdir', 0o700, OTHER_OWNER, OTHER_OWNER);
  file(src, 'otherdir/f', 'f', 0o644);
}

const FILES = ['pub', 'secret', 'zero', 'other', 'grp', 'script.sh', 'pubexe.sh', 'private/inner', 'grpdir/f'];
const OPS: Op[] = [
  ...FILES.flatMap((f): Op[] => [['access', f, 'R'], ['access', f, 'W'], ['access', f, 'X'], ['read', f], ['stat', f]]),
  ['exec', 'script.sh'],
  ['exec', 'pubexe.sh'],
  ...['.', 'private', 'grpdir', 'otherdir'].flatMap((d): Op[] => [['list', d], ['access', d, 'R'], ['access', d, 'X']]),
  ['stat', 'private/link'],
  ['readlink', 'private/link'],
  ['read', 'private/link'],
  ['stat', 'otherdir/f'],
  ['getxattr', 'pub', 'user.tag'],
  ['getxattr', 'secret', 'user.tag'],
  ['getxattr', 'private/inner', 'user.tag'],
  ['listxattr', 'secret'],
];

/** Answers on the source that show the case is real (else comparing would prove little). */
const SOURCE_FACTS: Array<[User, Op, string]> = [
  [NOBODY, ['read', 'secret'], 'EACCES'],
  [NOBODY, ['access', 'secret', 'R'], 'EACCES'],
  [NOBODY, ['list', 'private'], 'EACCES'],
  [NOBODY, ['stat', 'private/inner'], 'EACCES'],
  [NOBODY, ['readlink', 'private/link'], 'EACCES'],
  [NOBODY, ['getxattr', 'secret', 'user.tag'], 'EACCES'],
  [NOBODY, ['exec', 'script.sh'], 'EACCES'],
  [MEMBER, ['read', 'grp'], 'ok:grp'],
  [NON_MEMBER, ['read', 'grp'], 'EACCES'],
  [MEMBER, ['list', 'grpdir'], 'ok:f'],
  [NON_MEMBER, ['list', 'grpdir'], 'EACCES'],
  [ROOT, ['read', 'zero'], 'ok:zero'],
  [ROOT, ['list', 'otherdir'], 'ok:f'],
  [ROOT_NO_DAC, ['read', 'other'], 'EACCES'],
  [ROOT_NO_DAC, ['list', 'otherdir'], 'EACCES'],
];

t.test('allow_other: each user gets through the mount what the source gives them', async (t) => {
  await withMount(t, { allowOther: true, readOnly: true }, { populate }, async ({ src, mnt, handle }) => {
    t.equal(handle.info.defaultPermissions, true, 'permission checks are on by default');
    t.ok(handle.info.flags.includes('POSIX_ACL'), 'FUSE_POSIX_ACL negotiated');
    // Set as root on the source (sync calls on the source are fine).
    for (const f of ['pub', 'secret', 'private/inner']) execFileSync('setfattr', ['-n', 'user.tag', '-v', f, join(src, f)]);
    for (const user of USERS) {
      const [onSource, onMount] = await Promise.all([probe(user, src, OPS), probe(user, mnt, OPS)]);
      OPS.forEach((op, i) => {
        if (op[0] === 'access' && op[2] === 'W') {
          // The mount is read-only: the kernel answers EROFS once the path resolves (a denied
          // search on the way gives the source's EACCES first).
          const want = onSource[i] === 'ok' ? ['EROFS'] : ['EROFS', onSource[i]];
          t.ok(want.includes(onMount[i]), `${user.name}: ${opLabel(op)} refused: ${onMount[i]} (source: ${onSource[i]})`);
        } else t.equal(onMount[i], onSource[i], `${user.name}: ${opLabel(op)} as on the source (${onSource[i]})`);
      });
      for (const [u, op, want] of SOURCE_FACTS.filter(([u]) => u === user))
        t.equal(onSource[OPS.findIndex((o) => opLabel(o) === opLabel(op))], want, `source fact: ${u.name} ${opLabel(op)} is ${want}`);
    }
  });
});

leftoverCheck(t);
