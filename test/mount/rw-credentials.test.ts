// Read-write (issue 10): new objects belong to their caller. With allowOther, as root, what uid
// 65534 creates through the mount (files, directories, fifos, symlinks, O_TMPFILE) belongs to
// 65534:65534, or to the directory's group under a set-group-ID directory (where directories
// inherit the bit, and a file's set-group-ID bit is dropped for a non-member); the caller's
// umask applies (022, 077), or the parent's default ACL instead; chown of its own file to a
// group it is in works, to another group EPERM; a write or truncate by a caller without
// CAP_FSETID clears set-user-ID and set-group-ID. All compared with the same calls by the same
// user on a plain reference directory.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { NOBODY } from '../helpers/mirror.js';
import { withRw } from '../helpers/rw.js';

const populate = (d: string) => {
  chmodSync(d, 0o755);
  mkdirSync(join(d, 'pub'));
  chmodSync(join(d, 'pub'), 0o1777);
  mkdirSync(join(d, 'sg'));
  chownSync(join(d, 'sg'), 0, 1234);
  chmodSync(join(d, 'sg'), 0o2777);
  mkdirSync(join(d, 'acl'));
  chmodSync(join(d, 'acl'), 0o777);
  execFileSync('setfacl', ['-d', '-m', 'u::rwx,g::rwx,o::r-x', join(d, 'acl')]);
};

t.test('objects created as uid 65534 belong to it; umask and default ACLs apply', async (t) => {
  await withRw(t, { allowOther: true }, { populate }, async (f) => {
    const n = f.newPair({ uid: NOBODY });
    await n.expect(t, 'nobody: umask 022', 'ok', 'umask', 0o022);
    await n.expect(t, 'nobody: create pub/a (0666)', 'ok', 'writefile', 'pub/a', 'a', 0o666);
    await n.expect(t, 'pub/a: 65534:65534, mode 644', { ok: { type: 'file', mode: '0o644', nlink: 1, uid: NOBODY, gid: NOBODY, size: 1 } }, 'stat', 'pub/a');
    await n.expect(t, 'nobody: mkdir pub/d (0777)', 'ok', 'mkdir', 'pub/d', 0o777);
    await n.expect(t, 'pub/d: 65534:65534, mode 755', { ok: { type: 'dir', mode: '0o755', nlink: 2, uid: NOBODY, gid: NOBODY } }, 'stat', 'pub/d');
    await n.expect(t, 'nobody: mknod a fifo', 'ok', 'mknod', 'pub/fifo', 'fifo', 0o666);
    await n.expect(t, 'the fifo: 65534, mode 644', 'ok', 'lstat', 'pub/fifo');
    await n.expect(t, 'nobody: symlink', 'ok', 'symlink', 'a', 'pub/sl');
    await n.expect(t, 'the symlink: 65534:65534', 'ok', 'lstat', 'pub/sl');
    const tmp = await n.value<number>(t, 'nobody: O_TMPFILE in pub', 'open', 'pub', 'tmpfile|rdwr', 0o666);
    await n.expect(t, 'the tmpfile: 65534, mode 644', 'ok', 'fstat', tmp);
    await n.expect(t, 'nobody: link it', 'ok', 'linktmp', tmp, 'pub/was-tmp');
    await n.expect(t, 'close', 'ok', 'close', tmp);
    await n.expect(t, 'nobody: umask 077', 'ok', 'umask', 0o077);
    await n.expect(t, 'nobody: create pub/b (0666) under umask 077', 'ok', 'writefile', 'pub/b', 'b', 0o666);
    await n.expect(t, 'pub/b: mode 600', 'ok', 'stat', 'pub/b');
    await n.expect(t, 'nobody: mkdir under umask 077', 'ok', 'mkdir', 'pub/d077', 0o777);
    await n.expect(t, 'pub/d077: mode 700', 'ok', 'stat', 'pub/d077');

    // The default ACL of acl/ replaces the umask (still 077).
    await n.expect(t, 'nobody: create acl/f (0666) in a dir with a default ACL', 'ok', 'writefile', 'acl/f', 'f', 0o666);
    await n.expect(t, 'acl/f: mode from the default ACL, not the umask (664)', 'ok', 'stat', 'acl/f');
    await n.expect(t, 'nobody: mkdir acl/sub', 'ok', 'mkdir', 'acl/sub', 0o777);
    await n.expect(t, 'acl/sub: mode 775, and it inherits the default ACL', 'ok', 'stat', 'acl/sub');
    await n.expect(t, 'acl/sub: its default ACL', 'ok', 'getxattr', 'acl/sub', 'system.posix_acl_default');

    // Set-group-ID directory.
    await n.expect(t, 'nobody: umask 022 again', 'ok', 'umask', 0o022);
    await n.expect(t, 'nobody: create sg/f', 'ok', 'writefile', 'sg/f', 'f', 0o666);
    await n.expect(t, "sg/f: the directory's group 1234", { ok: { type: 'file', mode: '0o644', nlink: 1, uid: NOBODY, gid: 1234, size: 1 } }, 'stat', 'sg/f');
    await n.expect(t, 'nobody: mkdir sg/d', 'ok', 'mkdir', 'sg/d', 0o777);
    await n.expect(t, 'sg/d: group 1234 and the set-group-ID bit', { ok: { type: 'dir', mode: '0o2755', nlink: 2, uid: NOBODY, gid: 1234 } }, 'stat', 'sg/d');
    await n.expect(t, 'nobody: create sg/d/deeper', 'ok', 'writefile', 'sg/d/deeper', 'x', 0o644);
    await n.expect(t, 'sg/d/deeper: group 1234 (inherited twice)', 'ok', 'stat', 'sg/d/deeper');
    await n.expect(t, 'nobody (not in 1234): create sg/sgid with mode 2755', 'ok', 'writefile', 'sg/sgid', 'x', 0o2755);
    await n.expect(t, 'sg/sgid: set-group-ID dropped for a non-member', 'ok', 'stat', 'sg/sgid');
    await n.expect(t, 'nobody: chown of its own file to a group it is not in', 'EPERM', 'chown', 'pub/a', -1, 5678);

    // A member of 1234 (supplementary group).
    const m = f.newPair({ uid: NOBODY, gid: NOBODY, groups: [1234] });
    await m.expect(t, 'member: umask 022', 'ok', 'umask', 0o022);
    await m.expect(t, 'member of 1234: create pub/m (not set-group-ID: primary group)', 'ok', 'writefile', 'pub/m', 'm', 0o644);
    await m.expect(t, 'pub/m: 65534:65534', 'ok', 'stat', 'pub/m');
    await m.expect(t, 'member: chown its file to group 1234', 'ok', 'chown', 'pub/m', -1, 1234);
    await m.expect(t, 'pub/m: group 1234', 'ok', 'stat', 'pub/m');
    const ms = await m.value<number>(t, 'member: create sg/msgid with mode 2755', 'open', 'sg/msgid', 'wronly|creat|excl', 0o2755);
    await m.expect(t, 'sg/msgid: 2755 (kept: a member), group 1234', { ok: { type: 'file', mode: '0o2755', nlink: 1, uid: NOBODY, gid: 1234, size: 0 } }, 'fstat', ms);
    // A write by a caller without CAP_FSETID clears set-group-ID (with group exec) and
    // set-user-ID: the kernel's rule (should_remove_suid), which the server, writing as root,
    // must not lose.
    await m.expect(t, 'member: write to its 2755 file', { ok: 1 }, 'write', ms, 'x');
    await m.expect(t, 'sg/msgid: the write cleared set-group-ID (755)', { ok: { type: 'file', mode: '0o755', nlink: 1, uid: NOBODY, gid: 1234, size: 1 } }, 'fstat', ms);
    await m.expect(t, 'close', 'ok', 'close', ms);
    await n.expect(t, 'nobody: create pub/suid', 'ok', 'writefile', 'pub/suid', 'data', 0o755);
    await n.expect(t, 'nobody: chmod 4755 its own file', 'ok', 'chmod', 'pub/suid', 0o4755);
    const su = await n.value<number>(t, 'nobody: open it for writing', 'open', 'pub/suid', 'wronly', 0);
    await n.expect(t, 'nobody: write to its 4755 file', { ok: 2 }, 'pwrite', su, 0, 'DA');
    await n.expect(t, 'pub/suid: the write cleared set-user-ID (755)', { ok: { type: 'file', mode: '0o755', nlink: 1, uid: NOBODY, gid: NOBODY, size: 4 } }, 'fstat', su);
    await n.expect(t, 'close', 'ok', 'close', su);
    await n.expect(t, 'nobody: chmod 4755 again', 'ok', 'chmod', 'pub/suid', 0o4755);
    await n.expect(t, 'nobody: truncate its 4755 file', 'ok', 'truncate', 'pub/suid', 1);
    await n.expect(t, 'pub/suid: the truncate cleared set-user-ID (755)', { ok: { type: 'file', mode: '0o755', nlink: 1, uid: NOBODY, gid: NOBODY, size: 1 } }, 'stat', 'pub/suid');

    // EACCES where the source says so.
    await n.expect(t, 'nobody: create in the 755 root', 'EACCES', 'writefile', 'nope', 'x', 0o644);
    await n.expect(t, "nobody: write into root's dir pub/../", 'EACCES', 'mkdir', 'nope', 0o755);
    if (!f.plain) t.ok(f.stats()!.requests.CREATE! > 0 || f.stats()!.requests.MKNOD! > 0, 'files were made by CREATE/MKNOD');
    await f.sameTrees(t, 'after creating as other users');
  });
});

leftoverCheck(t);
