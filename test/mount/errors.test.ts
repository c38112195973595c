// The errors a read-only mirror (readOnly: true; the default mount is read-write since issue 10)
// must give through the mount: EROFS for every write (fs calls
// and coreutils), access(W_OK) refused while R_OK and X_OK answers agree with the source's;
// ENOENT, ENOTDIR, ELOOP (link loops, O_NOFOLLOW from node and python) and ENAMETOOLONG.
// Through the mount only fs.promises (at most 3 at a time) or child processes.
import { constants as fsc } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { constants as osc } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { leftoverCheck, run } from '../helpers/mount.js';
import { errCode, withTree } from '../helpers/tree.js';

const OPEN_NOFOLLOW = fileURLToPath(new URL('../scripts/open_nofollow.py', import.meta.url));
const ACCESS = fileURLToPath(new URL('../scripts/access.py', import.meta.url));

t.test('errors through the mount: EROFS, ENOENT, ENOTDIR, ELOOP, ENAMETOOLONG', async (t) => {
  await withTree(t, async ({ mnt }) => {
    const F = join(mnt, 'data', 'file.txt');
    const D = join(mnt, 'data');
    const erofs: Array<[string, () => Promise<unknown>]> = [
      ['create a file', () => fsp.writeFile(join(D, 'new'), 'x')],
      ['open for writing', () => fsp.open(F, 'r+')],
      ['open O_WRONLY|O_TRUNC', () => fsp.open(F, 'w')],
      ['append', () => fsp.appendFile(F, 'x')],
      ['truncate', () => fsp.truncate(F, 1)],
      ['mkdir', () => fsp.mkdir(join(D, 'newdir'))],
      ['rmdir', () => fsp.rmdir(join(D, 'sub'))],
      ['unlink', () => fsp.unlink(F)],
      ['rename', () => fsp.rename(F, join(D, 'renamed'))],
      ['chmod', () => fsp.chmod(F, 0o600)],
      ['chown', () => fsp.chown(F, 1, 1)],
      ['utimes (touch)', () => fsp.utimes(F, 1, 1)],
      ['symlink', () => fsp.symlink('x', join(D, 'newlink'))],
      ['link', () => fsp.link(F, join(D, 'newhard'))],
    ];
    for (const [what, call] of erofs) t.equal(await errCode(call()), 'EROFS', `${what}: EROFS`);
    for (const [cmd, args] of [
      ['touch', [F]],
      ['touch', [join(D, 'brand-new')]],
      ['mkdir', [join(D, 'd2')]],
      ['rm', ['-f', F]],
      ['mv', [F, join(D, 'moved')]],
      ['chmod', ['600', F]],
    ] as Array<[string, string[]]>) {
      const r = await run(cmd, args);
      t.not(r.code, 0, `${cmd} ${args.join(' ')}: fails`);
      t.match(r.stderr.toString(), /Read-only file system/, `${cmd}: Read-only file system`);
    }
    // The mount is read-only even for access(W_OK).
    t.equal(await errCode(fsp.access(F, fsc.W_OK)), 'EROFS', 'access(W_OK): EROFS');
    t.equal(await errCode(fsp.access(F, fsc.R_OK)), 'no error', 'access(R_OK): fine');

    t.equal(await errCode(fsp.stat(join(D, 'missing'))), 'ENOENT', 'stat of a missing file: ENOENT');
    t.equal(await errCode(fsp.open(join(D, 'missing'))), 'ENOENT', 'open of a missing file: ENOENT');
    t.equal(await errCode(fsp.readdir(join(mnt, 'nodir'))), 'ENOENT', 'readdir of a missing dir: ENOENT');
    const cat = await run('cat', [join(D, 'missing')]);
    t.match(cat.stderr.toString(), /No such file or directory/, 'cat of a missing file: ENOENT');

    t.equal(await errCode(fsp.stat(join(F, 'x'))), 'ENOTDIR', 'a file used as a directory: ENOTDIR');
    t.equal(await errCode(fsp.readdir(F)), 'ENOTDIR', 'readdir of a file: ENOTDIR');
    t.equal(await errCode(fsp.open(F, fsc.O_RDONLY | fsc.O_DIRECTORY)), 'ENOTDIR', 'O_DIRECTORY on a file: ENOTDIR');

    t.equal(await errCode(fsp.open(join(mnt, 'links', 'loopA'))), 'ELOOP', 'open of a link loop: ELOOP');
    t.equal(
      await errCode(fsp.open(join(mnt, 'links', 'rel'), fsc.O_RDONLY | fsc.O_NOFOLLOW)),
      'ELOOP',
      'open O_NOFOLLOW of a symlink: ELOOP',
    );
    const py = await run('python3', [OPEN_NOFOLLOW, join(mnt, 'links', 'abs_out')]);
    t.equal(py.stdout.toString().trim(), String(osc.errno.ELOOP), 'python os.open O_NOFOLLOW of a symlink: ELOOP');

    // access(2) answers agree with the source's for R_OK and X_OK (W_OK: EROFS, above).
    const names = ['data/file.txt', 'data/owned', 'data/empty', 'data', 'links/rel', 'links/dangling'];
    const srcRoot = (await fsp.readlink(join(mnt, 'links', 'abs_in'))).replace(/\/data\/file\.txt$/, '');
    const am = await run('python3', [ACCESS, ...names.map((n) => join(mnt, n))]);
    const as = await run('python3', [ACCESS, ...names.map((n) => join(srcRoot, n))]);
    t.equal(am.stdout.toString(), as.stdout.toString(), 'access(F_OK, R_OK, X_OK) agree with the source', { names });
    t.match(as.stdout.toString(), /false/, 'sanity: some access check is refused (X_OK on a plain file)');

    t.equal(await errCode(fsp.stat(join(D, 'n'.repeat(256)))), 'ENAMETOOLONG', 'a 256-byte name: ENAMETOOLONG');
    t.equal(await errCode(fsp.stat(join(D, 'n'.repeat(255)))), 'ENOENT', 'a 255-byte name that does not exist: ENOENT');
  }, { readOnly: true });
});

leftoverCheck(t);
