// `mount -t fuse.splicefs SOURCE MOUNTPOINT -o ...` through mount(8) and Debian's mount.fuse3, as
// an administrator runs it (in a namespace where `splicefs` is on the shell's built-in path: see
// helpers/mount-ns.ts). mount(8) returns once the mount is ready, a daemon serves it, detached
// from mount(8), with its log in the log file, and `umount` ends that daemon. A bad mount
// reaches the administrator as splicefs's one line, through mount(8).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { gone, logLines, mountNamespace } from '../helpers/mount-ns.js';
import { freshDir, run } from '../helpers/mount.js';

const HELLO = 'hello through mount(8)\n'.repeat(100);

/** A populated source, an empty mountpoint and a log path, removed at the end. */
function dirs() {
  const src = freshDir('mt-src');
  const mnt = freshDir('mt-mnt');
  const logDir = freshDir('mt-log');
  writeFileSync(join(src, 'hello'), HELLO);
  mkdirSync(join(src, 'sub'));
  return { src, mnt, log: join(logDir, 'daemon.log'), remove: () => run('rm', ['-rf', src, mnt, logDir]) };
}

t.test('mount -t fuse.splicefs: returns once mounted, a daemon serves, umount ends it', async (t) => {
  const d = dirs();
  const ns = await mountNamespace(t, () => [d.mnt]);
  t.teardown(d.remove); // after the namespace's teardown: nothing is mounted on the host

  const r = await ns.run('mount', ['-t', 'fuse.splicefs', '-o', `ro,noexec,log_file=${d.log}`, d.src, d.mnt]);
  t.equal(r.code, 0, 'mount exits 0', { stderr: r.stderr.toString() });
  t.equal(r.stderr.toString() + r.stdout.toString(), '', 'and says nothing');

  const m = ns.mountsAt(d.mnt);
  t.equal(m.length, 1, 'mounted when mount(8) returned');
  const f = m[0] ?? [];
  const sep = f.indexOf('-');
  t.equal(f[sep + 1], 'fuse.splicefs', 'type fuse.splicefs');
  t.equal(f[sep + 2], d.src, 'source shown as the source path');
  const flags = (f[5] ?? '').split(',');
  t.ok(flags.includes('ro') && flags.includes('noexec'), `ro and noexec reach mount(2) (${f[5]})`);
  // mount.fuse3 adds dev,suid unless nodev/nosuid are written; as root they are honoured, as
  // libfuse servers honour them.
  t.notOk(flags.includes('nosuid') || flags.includes('nodev'), 'dev,suid (added by mount.fuse3) honoured as root');

  const cat = await ns.run('cat', [join(d.mnt, 'hello')]);
  t.equal(cat.stdout.toString(), HELLO, 'a file reads through the mount after mount(8) returned');
  const mounted = logLines(readFileSync(d.log, 'utf8')).find((l) => l.msg === 'mounted');
  t.ok(mounted, 'the daemon logged its mount line to the log file');
  const pid = Number(mounted?.pid);
  t.ok(ns.alive(pid), `the daemon (pid ${pid} in the namespace) runs on`);
  const stat = readFileSync(`/proc/${ns.holder}/root/proc/${pid}/stat`, 'latin1');
  const [ppid, , sid] = stat.slice(stat.lastIndexOf(')') + 4).split(' ').map(Number);
  t.equal(sid, pid, 'in a session of its own (detached from the terminal)');
  t.equal(ppid, 1, 'adopted by init (its starter returned)');

  const u = await ns.run('umount', [d.mnt]);
  t.equal(u.code, 0, 'umount exits 0', { stderr: u.stderr.toString() });
  t.ok(await gone(() => ns.alive(pid)), 'the daemon exits after umount');
  t.same(ns.mountsAt(d.mnt), [], 'nothing mounted');
  t.match(readFileSync(d.log, 'utf8'), /"msg":"stopped"/, 'its stopped line is in the log');
});

t.test('without ro (mount(8) passes rw) the mount is read-write', async (t) => {
  const d = dirs();
  const ns = await mountNamespace(t, () => [d.mnt]);
  t.teardown(d.remove);
  const r = await ns.run('mount', ['-t', 'fuse.splicefs', '-o', `log_file=${d.log}`, d.src, d.mnt]);
  t.equal(r.code, 0, 'mount exits 0', { stderr: r.stderr.toString() });
  const f = ns.mountsAt(d.mnt)[0] ?? [];
  t.ok((f[5] ?? '').split(',').includes('rw'), `rw reaches mount(2) (${f[5]})`);
  const w = await ns.run('sh', ['-c', 'echo written > "$1/new"', 'sh', d.mnt]);
  t.equal(w.code, 0, 'a file is written through the mount', { stderr: w.stderr.toString() });
  t.equal(readFileSync(join(d.src, 'new'), 'utf8'), 'written\n', 'and lands in the source');
  const u = await ns.run('umount', [d.mnt]);
  t.equal(u.code, 0, 'umount exits 0', { stderr: u.stderr.toString() });
  t.same(ns.mountsAt(d.mnt), [], 'nothing mounted');
});

t.test('refusals reach the administrator through mount(8), one line each', async (t) => {
  const d = dirs();
  const ns = await mountNamespace(t, () => [d.mnt]);
  t.teardown(d.remove);
  const cases: Array<[string, string[], RegExp]> = [
    ['an unknown option', ['-o', 'ro,frobnicate', d.src, d.mnt], /^splicefs: unknown mount option 'frobnicate'/],
    ['a missing source', ['-o', `ro,log_file=${d.log}`, join(d.src, 'missing'), d.mnt], /^splicefs: source .*missing does not exist/],
  ];
  for (const [what, args, pattern] of cases) {
    const r = await ns.run('mount', ['-t', 'fuse.splicefs', ...args]);
    const lines = r.stderr.toString().split('\n').filter(Boolean);
    t.not(r.code, 0, `${what}: mount fails (${r.code})`);
    t.equal(lines.length, 1, `${what}: one line`, { stderr: r.stderr.toString() });
    t.match(lines[0] ?? '', pattern, `${what}: ${lines[0]}`);
  }
  t.same(ns.mountsAt(d.mnt), [], 'nothing mounted');
  t.ok(await gone(() => ns.processes().length > 0, 5_000), 'no server left running');
});
