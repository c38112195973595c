// Helpers for test/mount/ (issue 9, "A mirror that never lies"): every test there compares what
// a tool sees through the mount with what the same tool sees on the source directory itself.
//
// Everything that touches a mount runs in a child process with a hard timeout (SIGKILL), so a
// wedged server fails a test instead of hanging the suite. A server started with startCli() is
// always stopped in teardown: SIGTERM, then (if it does not exit) the connection's fusectl abort
// switch, SIGKILL and a lazy umount; the teardown asserts that nothing is left mounted.
//
// When run as a test file itself (tap runs every .ts under test/), this file checks its own
// promises: the mirror comparison, and that a server that is wedged on its own mount is still
// killed and leaves no mount behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';
import { freshDir, leftoverCheck, run, within, type RunResult } from './mount.js';
import { abortConnection, forceAway, isMountedBytes, mountsAtBytes, rawMounts, sh, shWord, type ShOptions } from './raw-mounts.js';

export * from './raw-mounts.js';

export const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
export const CLI = join(ROOT, 'dist', 'cli.js');
export const NODE = process.execPath;
/** The system python: readable by every user (a pyenv shim under /root is not). */
export const PY = '/usr/bin/python3';
export const NOBODY = 65534;

export type { RunResult };

/** The result with the path prefix replaced by "@" (so source and mount output compare). */
export interface Seen {
  code: number | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
}

export function seen(r: RunResult, path: string): Seen {
  const strip = (b: Buffer) => b.toString('latin1').split(path).join('@');
  return { code: r.code, timedOut: r.timedOut, stdout: strip(r.stdout), stderr: strip(r.stderr) };
}

/**
 * The same script on the source and on the mount: $P is the directory it runs against. Returns
 * what each saw, with that directory replaced by "@".
 */
export async function onBoth(script: string, src: string, mnt: string, opts: ShOptions = {}): Promise<{ src: Seen; mnt: Seen }> {
  const a = await sh(script, [], { ...opts, env: { ...opts.env, P: src } });
  const b = await sh(script, [], { ...opts, env: { ...opts.env, P: mnt } });
  return { src: seen(a, src), mnt: seen(b, mnt) };
}

/** Assert the mount answered a script exactly as the source did. */
export async function sameOnBoth(t: Test, what: string, script: string, src: string, mnt: string, opts: ShOptions = {}): Promise<{ src: Seen; mnt: Seen }> {
  const r = await onBoth(script, src, mnt, opts);
  t.notOk(r.mnt.timedOut, `${what}: answered through the mount (no hang)`);
  t.same(r.mnt, r.src, `${what}: the mount answers as the source does`);
  return r;
}

/** Lines of a tool's output ("" has none). */
export function lineCount(s: string): number {
  if (s === '') return 0;
  return s.split('\n').length - (s.endsWith('\n') ? 1 : 0);
}

/** Where two long outputs first differ (a short diagnostic instead of a 30,000-line diff). */
export function firstDifference(a: string, b: string): { line: number; source: string | undefined; mount: string | undefined } | null {
  if (a === b) return null;
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) if (x[i] !== y[i]) return { line: i + 1, source: x[i], mount: y[i] };
  return null;
}

/**
 * A big output through the mount: equal to the source's (compared by line count and first
 * difference, not a full diff), with the same exit status and nothing on stderr.
 */
export function sameBig(t: Test, what: string, r: { src: Seen; mnt: Seen }): void {
  t.equal(r.src.code, 0, `${what}: runs clean on the source`, { stderr: r.src.stderr.slice(0, 2000) });
  t.notOk(r.mnt.timedOut, `${what}: answered through the mount (no hang)`);
  t.equal(r.mnt.code, r.src.code, `${what}: exit status as on the source`, { stderr: r.mnt.stderr.slice(0, 2000) });
  t.equal(lineCount(r.mnt.stdout), lineCount(r.src.stdout), `${what}: as many lines as on the source`);
  t.ok(r.mnt.stdout === r.src.stdout, `${what}: the output is the source's`, { firstDifference: firstDifference(r.src.stdout, r.mnt.stdout) });
  t.equal(r.mnt.stderr.slice(0, 2000), r.src.stderr.slice(0, 2000), `${what}: no other messages than on the source`);
}

/**
 * Either the same output as on the source, or a loud failure: a non-zero exit with a message.
 * What must never happen: exit 0 with entries missing.
 */
export function completeOrLoud(t: Test, what: string, r: { src: Seen; mnt: Seen }): void {
  t.equal(r.src.code, 0, `${what}: runs clean on the source`, { stderr: r.src.stderr.slice(0, 2000) });
  t.notOk(r.mnt.timedOut, `${what}: answered through the mount (no hang)`);
  const n = lineCount(r.mnt.stdout);
  const want = lineCount(r.src.stdout);
  if (r.mnt.code === 0) {
    t.equal(n, want, `${what}: exit 0, so every line is there (${n} of ${want})`);
    t.ok(r.mnt.stdout === r.src.stdout, `${what}: exit 0, so the output is the source's`, { firstDifference: firstDifference(r.src.stdout, r.mnt.stdout) });
    t.equal(r.mnt.stderr.slice(0, 2000), '', `${what}: exit 0 and no error message`);
  } else {
    t.pass(`${what}: failed loudly (exit ${r.mnt.code}, ${n} of ${want} lines)`);
    t.not(r.mnt.stderr.trim(), '', `${what}: the failure says why`);
  }
}

/** Fail (with a clear message) unless every tool is installed. */
export async function needTools(t: Test, tools: string[]): Promise<boolean> {
  let all = true;
  for (const tool of tools) {
    const r = await run('sh', ['-c', `command -v "$1"`, 'sh', tool]);
    if (r.code !== 0) all = false;
    t.equal(r.code, 0, `${tool} is installed (this test needs it)`);
  }
  return all;
}

// ---- a server started by the command line -------------------------------------------------

export interface CliServer {
  child: ChildProcess;
  /** The server's pid (bash exec's node, so it is the child's pid). */
  pid: number;
  stderr(): string;
  stdout(): string;
  /** Resolves with the "mounted" line, or rejects if the server exits first. */
  mounted: Promise<Record<string, unknown>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /**
   * SIGTERM and wait up to `ms` for the exit; true if it exited by itself. Does not force: the
   * teardown does (abort, SIGKILL, umount -l).
   */
  stop(ms?: number): Promise<boolean>;
}

export interface CliOptions {
  args?: string[];
  /** `ulimit -n` for the server (soft and hard). */
  nofile?: number;
  /**
   * The source and mountpoint as bash words (for non-UTF-8 paths, see shWord); when given, the
   * `src` and `mnt` strings are only used to know what to clean up.
   */
  words?: { src: string; mnt: string };
  /** Bytes of the mountpoint when it is not UTF-8 (for the cleanup). */
  mntBytes?: Buffer;
}

/**
 * `node dist/cli.js SRC MNT args...` in a child, as a user runs it (no tap loader in
 * NODE_OPTIONS). Always cleaned up: t.teardown stops the server (SIGTERM; if it does not exit,
 * the fusectl abort, SIGKILL and umount -l). leftoverCheck() at the end of the file asserts
 * that nothing was left mounted.
 */
export function startCli(t: Test, src: string, mnt: string, opts: CliOptions = {}): CliServer {
  const limit = opts.nofile !== undefined ? `ulimit -n ${opts.nofile} || exit 99; ` : '';
  const words = opts.words ?? { src: '"$1"', mnt: '"$2"' };
  const script = `${limit}exec env -u NODE_OPTIONS ${shWord(NODE)} ${shWord(CLI)} ${words.src} ${words.mnt} "\${@:3}"`;
  const child = spawn('bash', ['-c', script, 'bash', src, mnt, ...(opts.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString('latin1')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal })),
  );
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;
  // What mountinfo will show: the mountpoint with symlinks resolved (resolved now, before the
  // server mounts anything there).
  let mntKey: string | Buffer = opts.mntBytes ?? mnt;
  if (!opts.mntBytes) {
    try {
      mntKey = realpathSync(mnt);
    } catch {
      /* missing: the server will refuse it */
    }
  }
  let stopTried = false;
  const mounted = new Promise<Record<string, unknown>>((resolveMounted, reject) => {
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString('latin1');
      for (const line of err.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const j = JSON.parse(line) as Record<string, unknown>;
          if (j.msg === 'mounted') resolveMounted(j);
        } catch {
          /* not a whole line yet */
        }
      }
    });
    void exited.then(({ code, signal }) => reject(new Error(`the server exited (code ${code}, signal ${signal}) before mounting: ${err.trim()}`)));
  });
  mounted.catch(() => {}); // observed by whoever awaits it
  const stop = async (ms = 10_000): Promise<boolean> => {
    if (hasExited()) return true;
    stopTried = true;
    child.kill('SIGTERM');
    try {
      await within(ms, 'server exit after SIGTERM', exited);
      return true;
    } catch {
      return false;
    }
  };
  t.teardown(async () => {
    if (!hasExited()) {
      // A server that already ignored a SIGTERM is not given another wait.
      const ok = stopTried ? false : await stop(3_000);
      if (!ok) {
        // Wedged (typically on a request to its own mount): abort, then kill.
        for (const m of mountsAtBytes(mntKey)) if (m.fstype.startsWith('fuse')) await abortConnection(m.minor);
        child.kill('SIGKILL');
        await within(10_000, 'server death after abort + SIGKILL', exited).catch(() => {});
      }
    }
    if (isMountedBytes(mntKey)) await forceAway(mntKey);
    // No assertion here (the test has ended): leftoverCheck() at the end of every file fails
    // if anything is still mounted on a directory of this run.
  });
  return {
    child,
    pid: child.pid ?? -1,
    stderr: () => err,
    stdout: () => out,
    mounted,
    exited,
    hasExited,
    stop,
  };
}

/** Start and wait for the "mounted" line; the test fails (not hangs) if it never comes. */
export async function startMounted(t: Test, src: string, mnt: string, opts: CliOptions = {}): Promise<CliServer> {
  const s = startCli(t, src, mnt, opts);
  await within(20_000, 'the "mounted" line', s.mounted);
  return s;
}

/** Open fds of a process (/proc/PID/fd), or -1 if it is gone. */
export function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return -1;
  }
}

/** Sample a process's fd count every `everyMs` until stopped; returns the maximum seen. */
export function fdSampler(pid: number, everyMs = 50): { stop(): number; max(): number } {
  let max = fdCount(pid);
  const timer = setInterval(() => {
    max = Math.max(max, fdCount(pid));
  }, everyMs);
  return {
    stop: () => {
      clearInterval(timer);
      max = Math.max(max, fdCount(pid));
      return max;
    },
    max: () => max,
  };
}

/**
 * Mount a filesystem for a test (tmpfs, overlay) and unmount it in teardown. tap runs teardowns
 * last-registered first, so a server started later is stopped before this unmounts.
 */
export async function mountFs(t: Test, args: string[], target: string): Promise<RunResult> {
  mkdirSync(target, { recursive: true });
  const r = await run('mount', [...args, target], { timeoutMs: 20_000 });
  if (r.code === 0) {
    t.teardown(async () => {
      for (let i = 0; i < 5 && mountsAtBytes(target).length > 0; i++) {
        const u = await run('umount', [target], { timeoutMs: 10_000 });
        if (u.code !== 0) await run('umount', ['-l', target], { timeoutMs: 10_000 });
      }
    });
  }
  return r;
}

/** A fresh directory removed in teardown (rm -rf in a child; only once nothing is mounted in it). */
export function scratch(t: Test, label: string, where: 'shm' | 'tmp' = 'shm'): string {
  const dir = freshDir(label, where);
  t.teardown(async () => {
    // Anything still mounted in it is ours (a test that failed half way): deepest first.
    const inside = () =>
      rawMounts()
        .map((m) => m.mountpoint)
        .filter((m) => m.toString('latin1') === dir || m.toString('latin1').startsWith(dir + '/'))
        .sort((a, b) => b.length - a.length);
    for (const m of inside()) await forceAway(m);
    if (inside().length > 0) return; // never rm -rf through a mount
    await run('rm', ['-rf', '--one-file-system', dir], { timeoutMs: 60_000 });
  });
  return dir;
}

// ---- self-test, when tap runs this file directly ---------------------------------------
const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isMain) {
  t.test('sameOnBoth sees a difference between two directories', async (t) => {
    const a = scratch(t, 'self-a');
    const b = scratch(t, 'self-b');
    writeFileSync(join(a, 'f'), 'one\n');
    writeFileSync(join(b, 'f'), 'two\n');
    const r = await onBoth('cat "$P/f"', a, b);
    t.equal(r.src.stdout, 'one\n');
    t.equal(r.mnt.stdout, 'two\n');
    t.notSame(r.mnt, r.src, 'different contents compare different');
    const r2 = await onBoth('cat "$P/missing"', a, b);
    t.same(r2.mnt, r2.src, 'the same error compares equal once the path is replaced');
  });

  t.test('sh runs as nobody with no supplementary groups', async (t) => {
    const r = await sh('id -u; id -G');
    t.equal(r.stdout.toString(), '0\n0\n', 'root by default');
    const n = await sh('id -u; id -G', [], { uid: NOBODY });
    t.equal(n.stdout.toString(), '65534\n65534\n', 'nobody, no other groups');
  });

  t.test('shWord and the byte-exact mount look-up', async (t) => {
    const dir = scratch(t, 'self-bytes');
    const name = Buffer.concat([Buffer.from(dir + '/m'), Buffer.from([0xff, 0x20, 0x5c])]);
    const r = await sh(`mkdir ${shWord(name)} && mount -t tmpfs self ${shWord(name)} && echo ok`);
    t.equal(r.stdout.toString(), 'ok\n', 'mounted a tmpfs at a non-UTF-8 path with a space and a backslash');
    t.ok(isMountedBytes(name), 'found by its bytes');
    await forceAway(name);
    t.notOk(isMountedBytes(name), 'forced away');
  });

  t.test('a server wedged on its own mount is still killed, no mount left', async (t) => {
    // The mountpoint inside the source: a lookup of mnt/mnt makes today's server wait on
    // itself. Whatever the server does, the teardown must leave nothing mounted.
    const dir = scratch(t, 'self-wedge');
    mkdirSync(join(dir, 'mnt'));
    const mnt = join(dir, 'mnt');
    const s = startCli(t, dir, mnt);
    const ok = await s.mounted.then(
      () => true,
      () => false,
    );
    if (ok) await sh('ls "$1/mnt" >/dev/null 2>&1; true', [mnt], { timeoutMs: 2_000 });
    t.pass('ran (the teardown checks that nothing is left mounted)');
  });

  leftoverCheck(t);
}
