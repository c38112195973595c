// Read-write (issue 10): SETATTR through the mount, compared with the same calls on a plain
// reference directory: chmod (set-user-ID and set-group-ID and sticky bits too), chown (and the
// set-user-ID bit it clears), truncate (shrink, grow, to 0), utimensat with nanoseconds,
// UTIME_NOW and UTIME_OMIT, on a symlink itself (AT_SYMLINK_NOFOLLOW), and ftruncate, fchmod,
// fchown and futimens on an open file; EPERM and EACCES for uid 65534.
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { leftoverCheck } from '../helpers/mount.js';
import { NOBODY } from '../helpers/mirror.js';
import { withRw } from '../helpers/rw.js';

const populate = (d: string) => {
  chmodSync(d, 0o755);
  writeFileSync(join(d, 'f'), Buffer.alloc(10_000, 0x61));
  writeFileSync(join(d, 'g'), 'g\n');
  mkdirSync(join(d, 'dir'));
  symlinkSync('f', join(d, 'sl'));
};

interface Times {
  atime: number;
  mtime: number;
}

t.test('chmod, chown, truncate, utimens, and on an open file', async (t) => {
  await withRw(t, { allowOther: true }, { populate }, async (f) => {
    const p = f.pair;
    await p.expect(t, 'chmod 600', 'ok', 'chmod', 'f', 0o600);
    await p.expect(t, 'mode after chmod', { ok: { type: 'file', mode: '0o600', nlink: 1, uid: 0, gid: 0, size: 10_000 } }, 'stat', 'f');
    await p.expect(t, 'chmod 7755 (suid, sgid, sticky)', 'ok', 'chmod', 'f', 0o7755);
    await p.expect(t, 'mode 7755', 'ok', 'stat', 'f');
    await p.expect(t, 'chmod of a dir', 'ok', 'chmod', 'dir', 0o1777);
    await p.expect(t, 'chmod through a symlink changes the target', 'ok', 'chmod', 'sl', 0o4711);
    await p.expect(t, 'the target', 'ok', 'stat', 'f');
    await p.expect(t, 'chmod of a missing file', 'ENOENT', 'chmod', 'missing', 0o600);

    await p.expect(t, 'chown 1234:5678', 'ok', 'chown', 'f', 1234, 5678);
    await p.expect(t, 'owner after chown, set-user-ID cleared as the source clears it', 'ok', 'stat', 'f');
    await p.expect(t, 'chown -1:42 (group only)', 'ok', 'chown', 'f', -1, 42);
    await p.expect(t, 'owner after the group-only chown', 'ok', 'stat', 'f');
    await p.expect(t, 'lchown of the symlink itself', 'ok', 'lchown', 'sl', 77, 88);
    await p.expect(t, 'the symlink is owned by 77:88', 'ok', 'lstat', 'sl');
    await p.expect(t, 'its target is not', 'ok', 'stat', 'sl');

    await p.expect(t, 'truncate to 100', 'ok', 'truncate', 'f', 100);
    await p.expect(t, 'content after shrinking', 'ok', 'readfile', 'f');
    await p.expect(t, 'truncate to 1 MiB + 3 (grow: zeros)', 'ok', 'truncate', 'f', 1024 * 1024 + 3);
    await p.expect(t, 'content after growing', 'ok', 'readfile', 'f');
    await p.expect(t, 'size after growing', 'ok', 'stat', 'f');
    await p.expect(t, 'truncate to 0', 'ok', 'truncate', 'f', 0);
    await p.expect(t, 'size 0', 'ok', 'stat', 'f');
    await p.expect(t, 'truncate a dir', 'EISDIR', 'truncate', 'dir', 0);
    await p.expect(t, 'truncate to a negative size', 'EINVAL', 'truncate', 'g', -1);

    // Timestamps with nanoseconds.
    await p.expect(t, 'utimens with ns', 'ok', 'utimens', 'g', [1_000_000_000, 123_456_789], [1_500_000_000, 987_654_321]);
    await p.expect(t, 'both times, to the ns', { ok: { type: 'file', mode: '0o644', nlink: 1, uid: 0, gid: 0, size: 2, atime: 1_000_000_000_123_456_789, mtime: 1_500_000_000_987_654_321 } }, 'stat_times', 'g');
    await p.expect(t, 'UTIME_OMIT for atime, a new mtime', 'ok', 'utimens', 'g', 'omit', [1_600_000_000, 5]);
    await p.expect(t, 'atime kept, mtime set', 'ok', 'stat_times', 'g');
    await p.expect(t, 'a time before 1970', 'ok', 'utimens', 'g', [-1_000_000, 7], 'omit');
    await p.expect(t, 'atime before 1970, mtime kept', 'ok', 'stat_times', 'g');
    const before = Date.now() * 1e6 - 2e9;
    await p.expect(t, 'UTIME_NOW for mtime, atime omitted', 'ok', 'utimens', 'g', 'omit', 'now');
    const now = await p.both('stat_times', 'g');
    for (const [side, r] of Object.entries(now)) {
      const v = 'ok' in r ? (r.ok as Times) : undefined;
      t.ok(v && v.mtime >= before && v.mtime < Date.now() * 1e6 + 2e9, `${side}: UTIME_NOW set mtime to now (${v?.mtime})`);
      t.equal(v?.atime, -1_000_000 * 1e9 + 7, `${side}: atime kept through UTIME_OMIT`);
    }
    await p.expect(t, 'utimens of the symlink itself', 'ok', 'utimens', 'sl', [1234, 5], [6789, 10], true);
    await p.expect(t, 'the symlink has its times', 'ok', 'lstat', 'sl');

    // On an open file.
    const h = await p.value<number>(t, 'open g rw', 'open', 'g', 'rdwr', 0);
    await p.expect(t, 'ftruncate to 5000', 'ok', 'ftruncate', h, 5000);
    await p.expect(t, 'fstat after ftruncate', 'ok', 'fstat', h);
    await p.expect(t, 'stat by name after ftruncate', 'ok', 'stat', 'g');
    await p.expect(t, 'futimens', 'ok', 'futimens', h, [2_000_000_000, 1], [2_000_000_001, 999_999_999]);
    await p.expect(t, 'times after futimens', 'ok', 'stat_times', 'g');
    await p.expect(t, 'fchmod', 'ok', 'fchmod', h, 0o640);
    await p.expect(t, 'fchown', 'ok', 'fchown', h, 4321, 8765);
    await p.expect(t, 'fstat after fchmod and fchown', 'ok', 'fstat', h);
    await p.expect(t, 'a write after ftruncate', { ok: 3 }, 'pwrite', h, 6000, 'xyz');
    await p.expect(t, 'size after the write', 'ok', 'fstat', h);
    await p.expect(t, 'close', 'ok', 'close', h);
    await p.expect(t, 'content', 'ok', 'readfile', 'g');
    const r = await p.value<number>(t, 'open g read-only', 'open', 'g', 'rdonly', 0);
    await p.expect(t, 'ftruncate of a read-only fd', 'EINVAL', 'ftruncate', r, 0);
    await p.expect(t, 'close', 'ok', 'close', r);

    // As uid 65534, on root's files.
    const n = f.newPair({ uid: NOBODY });
    await p.expect(t, 'chmod 644 (as root)', 'ok', 'chmod', 'g', 0o644);
    await n.expect(t, "nobody: chmod of root's file", 'EPERM', 'chmod', 'g', 0o666);
    await n.expect(t, "nobody: chown of root's file", 'EPERM', 'chown', 'g', NOBODY, NOBODY);
    await n.expect(t, "nobody: truncate of root's 644 file", 'EACCES', 'truncate', 'g', 0);
    await n.expect(t, "nobody: utimens to a given time on root's file", 'EPERM', 'utimens', 'g', [1, 1], [1, 1]);
    await n.expect(t, "nobody: UTIME_NOW on root's 644 file (needs write access)", 'EACCES', 'utimens', 'g', 'now', 'now');
    await p.expect(t, 'chmod 666 (as root)', 'ok', 'chmod', 'g', 0o666);
    await n.expect(t, "nobody: UTIME_NOW on root's 666 file", 'ok', 'utimens', 'g', 'now', 'now');
    await n.expect(t, "nobody: truncate of root's 666 file", 'ok', 'truncate', 'g', 10);
    await f.sameTrees(t, 'after the attribute changes');
  });
});

leftoverCheck(t);
