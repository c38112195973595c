// The daemon's decisions (src/cli/daemon.ts), without a process: when the command daemonizes
// (started by mount(8): an ancestor named mount or mount.fuse*), and where its log goes by
// default (the mountpoint escaped as systemd-escape --path does).
import t from 'tap';
import { defaultLogFile, escapePath, LOG_DIR, logDir, startedByMount } from '../../src/cli/daemon.js';

/** A fake /proc: pid -> [comm, ppid]. */
function procs(table: Record<number, [string, number]>) {
  return (pid: number): string => {
    const p = table[pid];
    if (!p) throw new Error('ENOENT');
    return `${pid} (${p[0]}) S ${p[1]} ${pid} ${pid} 0 -1 4194560`;
  };
}

t.test('started by mount(8)', async (t) => {
  // mount(8) -> mount.fuse3, which execs `sh -c 'splicefs ...'` -> splicefs
  t.ok(startedByMount(30, procs({ 30: ['sh', 20], 20: ['mount', 10], 10: ['bash', 1] })), 'sh under mount');
  t.ok(startedByMount(20, procs({ 20: ['mount', 10] })), 'mount itself (a shell that execs)');
  t.ok(startedByMount(30, procs({ 30: ['mount.fuse3', 10] })), 'mount.fuse3 before it execs');
  t.ok(startedByMount(30, procs({ 30: ['sh', 25], 25: ['mount.fuse', 20] })), 'mount.fuse');
  t.notOk(startedByMount(30, procs({ 30: ['bash', 20], 20: ['sshd', 1] })), 'a shell');
  t.notOk(startedByMount(30, procs({ 30: ['npm exec', 20], 20: ['bash', 10], 10: ['tmux', 5], 5: ['mount', 1] })), 'mount(8) too far up');
  t.notOk(startedByMount(30, procs({ 30: ['my (mount) x', 1] })), 'a comm with parentheses and spaces');
  t.notOk(startedByMount(30, procs({})), '/proc unreadable: not started by mount');
  t.notOk(startedByMount(1, procs({ 1: ['mount', 0] })), 'init is never looked at');
});

t.test('log file names', async (t) => {
  const e = (s: string) => escapePath(Buffer.from(s));
  t.equal(e('/mnt/data'), 'mnt-data', 'the name of the systemd mount unit');
  t.equal(e('/'), '-', 'the root');
  t.equal(e('//srv//a b/'), 'srv-a\\x20b', 'slashes collapsed and trimmed, a space escaped');
  t.equal(e('/mnt/my-data'), 'mnt-my\\x2ddata', "a '-' is escaped, so paths do not collide");
  t.equal(e('/.hidden/x.y'), '\\x2ehidden-x.y', 'a leading dot is escaped, later ones kept');
  t.equal(escapePath(Buffer.from([0x2f, 0x61, 0xff])), 'a\\xff', 'non-UTF-8 bytes escaped');
  t.equal(defaultLogFile(Buffer.from('/mnt/data')), `${logDir()}/mnt-data.log`, 'default log file');
  t.equal(logDir(0, {}), LOG_DIR, "root's logs: /var/log/splicefs");
  t.equal(logDir(1000, { HOME: '/home/u' }), '/home/u/.local/state/splicefs', "a user's: the XDG state home's default");
  t.equal(logDir(1000, { HOME: '/home/u', XDG_STATE_HOME: '/st' }), '/st/splicefs', '$XDG_STATE_HOME when set');
  t.equal(logDir(1000, { HOME: '/home/u', XDG_STATE_HOME: 'rel' }), '/home/u/.local/state/splicefs', 'a relative XDG_STATE_HOME is ignored (the spec)');
  const rel = defaultLogFile(Buffer.from('mnt'));
  t.ok(rel.startsWith(`${LOG_DIR}/`) && rel.endsWith('-mnt.log'), `a relative mountpoint is resolved (${rel})`);
});
