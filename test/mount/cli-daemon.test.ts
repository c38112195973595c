// `splicefs --daemon SOURCE MOUNTPOINT`: the command returns 0 once the mount is ready, and a
// detached server serves it, logging to /var/log/splicefs/<mountpoint escaped>.log by default;
// umount ends that server. A bad argument is said by the command itself (no daemon starts, no
// log is written); a failed mount is said by the command, in the daemon's words.
import { existsSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { defaultLogFile } from '../../src/cli/daemon.js';
import { cli, oneLineError } from '../helpers/cli.js';
import { alive, gone, logLines } from '../helpers/mount-ns.js';
import { forceUnmount, freshDir, isMounted, leftoverCheck, run } from '../helpers/mount.js';

const HELLO = 'hello from a daemon\n'.repeat(100);

t.test('--daemon: returns once mounted, serves detached, logs to /var/log/splicefs, umount ends it', async (t) => {
  const src = freshDir('daemon-src');
  const mnt = freshDir('daemon-mnt');
  writeFileSync(join(src, 'hello'), HELLO);
  const log = defaultLogFile(Buffer.from(mnt));
  let pid = 0;
  t.teardown(async () => {
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    if (isMounted(mnt)) await forceUnmount(mnt);
    await run('rm', ['-rf', src, mnt]);
    rmSync(log, { force: true });
  });

  const r = await cli(['--daemon', src, mnt]);
  t.equal(r.code, 0, 'exit 0', { stderr: r.stderr.toString() });
  t.equal(r.stdout.toString() + r.stderr.toString(), '', 'nothing printed');
  t.ok(isMounted(mnt), 'mounted when the command returned');
  const cat = await run('cat', [join(mnt, 'hello')]);
  t.equal(cat.stdout.toString(), HELLO, 'a file reads through the mount');

  t.match(log, /^\/var\/log\/splicefs\/dev-shm-.*daemon\\x2dmnt.*\.log$/, `the default log file: ${log}`);
  const mounted = logLines(readFileSync(log, 'utf8')).find((l) => l.msg === 'mounted');
  t.ok(mounted, 'the mount line is in the log file');
  pid = Number(mounted?.pid);
  t.ok(alive(pid), `the daemon (pid ${pid}) serves on`);
  const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  const sid = Number(stat.slice(stat.lastIndexOf(')') + 4).split(' ')[2]);
  t.equal(sid, pid, 'in a session of its own');
  t.equal(readlinkSync(`/proc/${pid}/cwd`), '/', 'its working directory is / (it keeps no directory busy)');

  const u = await run('umount', [mnt]);
  t.equal(u.code, 0, 'umount exits 0', { stderr: u.stderr.toString() });
  t.ok(await gone(() => alive(pid)), 'the daemon exits after umount');
  t.notOk(isMounted(mnt), 'nothing mounted');
  t.match(readFileSync(log, 'utf8'), /"msg":"stopped"/, 'its stopped line is in the log');
});

t.test('--daemon with bad input: one line from the command, no daemon left', async (t) => {
  const dir = freshDir('daemon-bad');
  t.teardown(() => run('rm', ['-rf', dir]));
  const log = join(dir, 'log');
  const mnt = join(dir, 'mnt');
  await run('mkdir', [mnt]);

  const usage = await cli(['--daemon', '--log-file', log, dir, mnt, '--read-mode', 'teleport']);
  oneLineError(t, 'bad option value', usage, /--read-mode takes one of auto, passthrough, splice, copy, not 'teleport' \(see splicefs --help\)$/, 2);
  t.notOk(existsSync(log), 'no daemon started: no log written');

  const missing = await cli(['--daemon', '--log-file', log, join(dir, 'missing'), mnt]);
  oneLineError(t, 'missing source', missing, /source .*missing does not exist/, 1);
  t.match(readFileSync(log, 'utf8'), /source .*missing does not exist/, 'the daemon wrote it to its log too');

  const nolog = await cli(['--daemon', '--log-file', join(dir, 'no', 'such', 'dir', 'log'), dir, mnt]);
  oneLineError(t, 'log file that cannot be opened', nolog, /cannot open the log file .*: ENOENT/, 1);
  t.notOk(isMounted(mnt), 'nothing mounted');
});

leftoverCheck(t);
