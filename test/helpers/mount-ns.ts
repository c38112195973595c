// A private mount namespace in which `splicefs` is a command mount(8) can find, for the tests of
// `mount -t fuse.splicefs` and fstab lines.
//
// Why a namespace and not PATH: mount(8) drops PATH from the environment of its helpers
// (util-linux sanitize_env), and mount.fuse3 runs `/bin/sh -c 'splicefs ...'`, so the shell
// looks in its built-in path (/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin).
// The namespace binds a temporary directory holding `splicefs -> dist/cli.js` over
// /usr/local/sbin, seen by nothing outside it. The symlink is what `npm install -g` makes; the
// shebang's `env node` then finds node in /usr/bin or /bin (env's default path).
//
// It is a PID namespace too, so that nothing started in it can outlive the test: when the
// holder (its init) dies, the kernel kills every process in it, and with the last of them the
// mount namespace goes, and every mount made in it. Propagation slave: no mount leaks to the
// host. Processes are found through the namespace's own /proc: the test never reads another
// process's /proc entries on the host (one stuck in the kernel would hang the reader).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { CLI } from './cli.js';
import { freshDir, run, within, type RunResult } from './mount.js';

/** The directory of the shell's built-in path that the namespace covers. */
export const BIN_DIR = '/usr/local/sbin';

/** The environment of a command run as a user runs it: without tap's NODE_OPTIONS. */
export function userEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  return env;
}

export interface MountNamespace {
  /** Host pid of the namespace's init (the holder). */
  readonly holder: number;
  /** Run a command inside the namespaces (nsenter), to completion. */
  run(cmd: string, args: readonly string[], timeoutMs?: number): Promise<RunResult>;
  /** The namespace's mountinfo lines for `mountpoint`, split in fields. */
  mountsAt(mountpoint: string): string[][];
  /** The pids (as the namespace numbers them) of its live processes but the holder (no zombies). */
  processes(): number[];
  /** Whether the namespace's process `pid` exists (a zombie does not count). */
  alive(pid: number): boolean;
}

/**
 * Make the namespaces. Teardown (even after a failure): lazily unmount what `cleanupMounts()`
 * lists, SIGTERM every process in them (a daemon unmounts and exits), then kill the holder,
 * which ends the rest.
 */
export async function mountNamespace(t: Test, cleanupMounts: () => string[] = () => []): Promise<MountNamespace> {
  const bin = freshDir('ns-bin');
  symlinkSync(CLI, join(bin, 'splicefs'));
  t.ok(existsSync(BIN_DIR), `${BIN_DIR} exists (in the shell's built-in path)`);
  const script = 'mount --bind "$1" "$2" && echo ready && exec sleep 3600';
  const args = ['-m', '-p', '-f', '--kill-child', '--mount-proc', '--propagation', 'slave', '--', 'sh', '-c', script, 'sh', bin, BIN_DIR];
  const unshare: ChildProcess = spawn('unshare', args, { stdio: ['ignore', 'pipe', 'inherit'], env: userEnv() });
  const exited = new Promise<void>((res) => unshare.on('exit', () => res()));
  let holder = 0; // host pid of the namespace's init (unshare's child)
  const ns: MountNamespace = {
    get holder() {
      return holder;
    },
    run: (cmd, a, timeoutMs = 30_000) => run('nsenter', ['-t', String(holder), '-m', '-p', '--', cmd, ...a], { timeoutMs, env: userEnv() }),
    mountsAt: (mountpoint) =>
      readFileSync(`/proc/${holder}/mountinfo`, 'utf8')
        .split('\n')
        .map((l) => l.split(' '))
        .filter((f) => f[4] === mountpoint),
    processes: () =>
      readdirSync(`/proc/${holder}/root/proc`)
        .filter((n) => /^\d+$/.test(n) && n !== '1')
        .map(Number)
        .filter((p) => ns.alive(p)),
    alive: (pid) => alive(pid, `/proc/${holder}/root/proc`),
  };
  t.teardown(async () => {
    if (holder) await stopNamespace(ns, cleanupMounts());
    unshare.kill('SIGKILL');
    await within(10_000, 'the namespace to end', exited).catch(() => {});
    await run('rm', ['-rf', bin]);
  });
  await within(
    10_000,
    'the namespace',
    new Promise<void>((res, rej) => {
      unshare.stdout!.on('data', (b: Buffer) => b.toString().includes('ready') && res());
      void exited.then(() => rej(new Error('unshare exited before the namespace was ready')));
    }),
  );
  holder = Number(readFileSync(`/proc/${unshare.pid}/task/${unshare.pid}/children`, 'utf8').trim().split(' ')[0]);
  return ns;
}

async function stopNamespace(ns: MountNamespace, mounts: string[]): Promise<void> {
  for (const m of mounts) await ns.run('umount', ['-l', m], 10_000);
  const left = ns.processes();
  if (left.length > 0) await ns.run('kill', ['-TERM', ...left.map(String)], 10_000);
  await gone(() => ns.processes().length > 0, 5_000);
}

/** Whether process `pid` exists in the /proc at `proc` (a zombie does not count). */
export function alive(pid: number, proc = '/proc'): boolean {
  try {
    return !/^\S+ \(.*\) Z/s.test(readFileSync(`${proc}/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
}

/** Wait until `isAlive()` is false (true), or `ms` passed (false). */
export async function gone(isAlive: () => boolean, ms = 15_000): Promise<boolean> {
  for (let waited = 0; waited < ms; waited += 100) {
    if (!isAlive()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !isAlive();
}

/** The JSON log lines of a log file (or text), parsed; other lines skipped. */
export function logLines(text: string): Array<Record<string, unknown>> {
  return text.split('\n').flatMap((l) => {
    try {
      return [JSON.parse(l) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

// ---- self-test, when tap runs this file directly ---------------------------------------
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  t.test('in the namespace, a shell without PATH finds and runs splicefs; outside, nothing changed', async (t) => {
    let leftover = 0; // host pid of a process left running in the namespace
    await t.test('inside', async (t) => {
      const ns = await mountNamespace(t);
      const found = await ns.run('env', ['-i', '/bin/sh', '-c', 'command -v splicefs && splicefs --version']);
      t.equal(found.code, 0, 'found and run without PATH', { stderr: found.stderr.toString() });
      t.match(found.stdout.toString(), new RegExp(`^${BIN_DIR}/splicefs\\nsplicefs \\d`), 'in the built-in path, and it runs');
      t.notOk(existsSync(join(BIN_DIR, 'splicefs')), `the host's ${BIN_DIR} has no splicefs`);
      t.same(ns.processes(), [], 'only the holder is in the namespace');
      await ns.run('sh', ['-c', 'sleep 600 >/dev/null 2>&1 &']);
      t.equal(ns.processes().length, 1, 'a process left running in it (adopted by the holder)');
      leftover = Number(readFileSync(`/proc/${ns.holder}/task/${ns.holder}/children`, 'utf8').trim());
    });
    t.ok(leftover > 0, `its host pid ${leftover}`);
    t.ok(await gone(() => alive(leftover), 5_000), 'is gone once the namespace was torn down');
  });
}
