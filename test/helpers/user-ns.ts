// The CLI run by an ordinary user (uid/gid 65534, by setpriv), mounting through fusermount3.
//
// fusermount3 opens /dev/fuse with the user's own rights (it drops its set-user-ID privileges
// for that), so the device must be 0666, as udev makes it on a Debian host. A container's
// /dev/fuse is often 0600, and changing the host's would break tests running beside these. So
// everything runs in a private mount (and PID) namespace (helpers/mount-ns.ts) in which a
// 0666 node of the same device (10:229) is bound over /dev/fuse; the mounts made there are seen
// only there (ns.mountsAt), and every process in it dies with it in teardown.
//
// The directories are the user's (a 0755 parent under /tmp): the source, the mountpoint, HOME
// and XDG_RUNTIME_DIR (0700).
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { CLI, NODE } from './cli.js';
import { logLines, mountNamespace, type MountNamespace } from './mount-ns.js';
import { run, testRoot, within, type RunResult } from './mount.js';

export const NOBODY = 65534;

export interface UserMountSetup {
  ns: MountNamespace;
  dir: string;
  src: string;
  mnt: string;
  /** Run a command as the user in the namespace, to completion. */
  asUser(cmd: string, args: readonly string[], timeoutMs?: number): Promise<RunResult>;
  /** `splicefs ARGS...` as the user in the namespace, to completion. */
  cli(args: readonly string[]): Promise<RunResult>;
  /** Start `splicefs SRC MNT ARGS...` as the user and wait for its mounted line. */
  startServer(t: Test, args: readonly string[]): Promise<UserServer>;
  /** The mount at mnt in the namespace: fstype and super options, or null. */
  mountAt(): { fstype: string; source: string; superOptions: string } | null;
}

export interface UserServer {
  /** the mounted line, parsed */
  mounted: Record<string, unknown>;
  /** the server's pid as the namespace numbers it */
  pid: number;
  stderr(): string;
  exited: Promise<number | null>;
}

/** Fails the test (and says what to install) unless fusermount3 is on PATH. */
export async function requireFusermount(t: Test): Promise<boolean> {
  const r = await run('sh', ['-c', 'command -v fusermount3']);
  return t.equal(r.code, 0, 'fusermount3 is installed (Debian package fuse3; .ci/run installs it)');
}

/** The namespace, the user's directories (removed in teardown), and ways to act as the user. */
export async function userMountSetup(t: Test): Promise<UserMountSetup> {
  const dir = mkdtempSync(join(testRoot('tmp'), 'splicefs-user-'));
  chmodSync(dir, 0o755);
  const [src, mnt, home, xdg] = ['src', 'mnt', 'home', 'run'].map((n) => join(dir, n)) as [string, string, string, string];
  for (const d of [src, mnt, home, xdg]) {
    mkdirSync(d, { mode: 0o755 });
    chownSync(d, NOBODY, NOBODY);
  }
  chmodSync(xdg, 0o700);
  // Registered first, so it runs last: after the namespace (and its mounts) are gone.
  t.teardown(() => run('rm', ['-rf', dir]));
  const ns = await mountNamespace(t, () => [mnt]);
  const dev = await ns.run('sh', ['-c', 'mknod "$1/fuse" c 10 229 && chmod 666 "$1/fuse" && mount --bind "$1/fuse" /dev/fuse', 'sh', dir]);
  t.equal(dev.code, 0, 'a 0666 /dev/fuse in the namespace', { stderr: dev.stderr.toString() });
  const user = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'env', '-u', 'NODE_OPTIONS', `HOME=${home}`, `XDG_RUNTIME_DIR=${xdg}`];
  const asUser = (cmd: string, args: readonly string[], timeoutMs?: number) => ns.run(user[0]!, [...user.slice(1), cmd, ...args], timeoutMs);
  return {
    ns,
    dir,
    src,
    mnt,
    asUser,
    cli: (args) => asUser(NODE, [CLI, ...args]),
    mountAt: () => {
      const f = ns.mountsAt(mnt)[0];
      if (!f) return null;
      const dash = f.indexOf('-', 6);
      return { fstype: f[dash + 1] ?? '', source: f[dash + 2] ?? '', superOptions: f[dash + 3] ?? '' };
    },
    startServer: async (t, args) => {
      const argv = ['-t', String(ns.holder), '-m', '-p', '--', ...user, NODE, CLI, src, mnt, '--log-format', 'json', ...args];
      const child = spawn('nsenter', argv, { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
      const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
      t.teardown(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      const mounted = await within(
        20_000,
        'the mounted line',
        new Promise<Record<string, unknown>>((res, rej) => {
          child.stderr!.on('data', () => {
            const m = logLines(err).find((l) => l.msg === 'mounted');
            if (m) res(m);
          });
          void exited.then((code) => rej(new Error(`the server exited (${code}) before mounting: ${err}`)));
        }),
      );
      return { mounted, pid: Number(mounted.pid), stderr: () => err, exited };
    },
  };
}

/** Poll until `cond()` holds (true) or `ms` passed (false). */
export async function until(cond: () => boolean, ms: number): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 100) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return cond();
}

/**
 * The pids (as this process's /proc numbers them: namespaces' processes included) of the
 * auto_unmount watchdogs (src/mnt/watchdog.ts) for `mnt`: `sh -c SCRIPT splicefs-watchdog MNT`.
 */
export function watchdogPids(mnt: string): number[] {
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
    } catch {
      continue; // gone meanwhile
    }
    if (argv.includes('splicefs-watchdog') && argv.includes(mnt)) pids.push(Number(e));
  }
  return pids;
}

// ---- self-test, when tap runs this file directly (every test file tap finds must test) ------
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  t.test('until: true once the condition holds, false when the time runs out', async (t) => {
    let n = 0;
    t.equal(await until(() => ++n >= 3, 5_000), true, 'held after a few polls');
    t.equal(await until(() => false, 250), false, 'never held: false');
  });

  t.test('watchdogPids finds a process by the watchdog argv, and only for its mountpoint', async (t) => {
    const mnt = `/tmp/splicefs-selftest-${process.pid}`;
    const child = spawn('sh', ['-c', 'sleep 30; true', 'splicefs-watchdog', mnt], { stdio: 'ignore' });
    t.teardown(() => void child.kill('SIGKILL'));
    t.ok(await until(() => watchdogPids(mnt).length === 1, 5_000), 'the stand-in watchdog is found');
    t.same(watchdogPids(mnt), [child.pid], 'by its pid');
    t.same(watchdogPids(`${mnt}-other`), [], 'not for another mountpoint');
  });
}
