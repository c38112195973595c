// Running as a daemon, the way libfuse servers do under mount(8): the command returns once the
// mount is ready (exit 0), or with the one-line error (exit 1 or 2), and the server keeps serving
// in the background, detached from the terminal and from mount(8).
//
// When: `--daemon`, or when started by mount(8) (`mount -t fuse.splicefs`, fstab, systemd mount
// units). mount(8) runs Debian's mount.fuse3 helper, which execs `/bin/sh -c 'splicefs SOURCE
// MOUNTPOINT -o OPTS'`, so the server's parent is that shell (or mount(8) itself, where the shell
// execs) and mount(8) is at most two processes up; mount(8) waits for its helper, so a server that
// stayed in the foreground there would hang `mount`. mount.fuse3 passes no -f (its convention is
// the libfuse one: a server daemonizes unless told -f), hence the look at the ancestors. `-f` and
// `-d` keep the foreground in every case. The plain command stays in the foreground by default
// (splicefs always has; libfuse servers would daemonize).
//
// How (Node cannot fork): the command spawns itself again, detached (a new session, no
// terminal), with stdin on /dev/null, stdout and stderr on the log file, and a pipe as fd 3. The
// child mounts, then writes "ready" (or "error CODE MESSAGE") on fd 3 and closes it; the parent
// exits accordingly. The arguments' exact bytes travel in the environment (hex), since spawn()
// would re-encode them as UTF-8 and a path need not be UTF-8.
//
// Where the log goes: a file, /var/log/splicefs/<mountpoint, escaped>.log for root, the XDG
// state home's splicefs/ for a user (logDir), or --log-file. Not
// syslog: `logger`/`/dev/log` is missing where no syslog daemon runs (containers, minimal
// hosts), and journald rate-limits a debug log of one line per request. Not the inherited
// stderr: journald reads it only under systemd, and from an interactive `mount` it is the
// terminal. The file is opened by the parent, so a log that cannot be written is reported
// before anything is mounted.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { SplicefsError } from '../errors.js';
import { showPath } from '../paths.js';

const ARGS_ENV = 'SPLICEFS_DAEMON_ARGS';
/** The readiness pipe, as the child sees it. */
const READY_FD = 3;
export const LOG_DIR = '/var/log/splicefs';

/**
 * Where a daemon's default log goes: /var/log/splicefs for root; for anyone else, who may not
 * write there, the XDG base directories' state home ($XDG_STATE_HOME, else ~/.local/state,
 * which the spec names for logs), /splicefs.
 */
export function logDir(euid: number = process.geteuid?.() ?? 0, env: NodeJS.ProcessEnv = process.env): string {
  if (euid === 0) return LOG_DIR;
  const state = env.XDG_STATE_HOME?.startsWith('/') ? env.XDG_STATE_HOME : `${env.HOME ?? '/nonexistent'}/.local/state`;
  return `${state}/splicefs`;
}
/** Process names (comm) of mount(8) and its FUSE helper (mount.fuse3 is only seen before it execs sh). */
const MOUNT_PROGRAMS = new Set(['mount', 'mount.fuse', 'mount.fuse3', 'mount.fuseblk']);

/**
 * Whether this process was started by mount(8): one of the nearest `depth` ancestors (from
 * `pid`, the parent) is mount or mount.fuse*. `readStat(pid)` gives /proc/PID/stat's text (a
 * parameter for the unit test). False when /proc cannot be read.
 */
export function startedByMount(pid: number = process.ppid, readStat = (p: number) => readFileSync(`/proc/${p}/stat`, 'latin1'), depth = 3): boolean {
  for (let i = 0; i < depth && pid > 1; i++) {
    let stat: string;
    try {
      stat = readStat(pid);
    } catch {
      return false;
    }
    // "PID (COMM) STATE PPID ...": COMM may hold spaces and parentheses, so the last ')' ends it.
    const close = stat.lastIndexOf(')');
    if (MOUNT_PROGRAMS.has(stat.slice(stat.indexOf('(') + 1, close))) return true;
    pid = Number(stat.slice(close + 2).split(' ')[1]);
  }
  return false;
}

/**
 * A path as one file name, the way `systemd-escape --path` writes it (so /mnt/data gives
 * mnt-data, the name of its systemd mount unit): slashes trimmed and collapsed, '/' -> '-',
 * every byte but [A-Za-z0-9:_.] (and a leading '.') -> \xNN; the root is '-'.
 */
export function escapePath(path: Buffer): string {
  const parts = path.toString('latin1').split('/').filter(Boolean);
  if (parts.length === 0) return '-';
  const bytes = Buffer.from(parts.join('/'), 'latin1');
  let out = '';
  bytes.forEach((b, i) => {
    const c = String.fromCharCode(b);
    if (c === '/') out += '-';
    else if (/[A-Za-z0-9:_]/.test(c) || (c === '.' && i > 0)) out += c;
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  });
  return out;
}

/** The default log file of a daemon serving `mountpoint` (resolved against the working directory). */
export function defaultLogFile(mountpoint: Buffer): string {
  const abs = mountpoint[0] === 0x2f ? mountpoint : Buffer.concat([Buffer.from(resolve('.') + '/'), mountpoint]);
  return `${logDir()}/${escapePath(abs)}.log`;
}

/** Open (append) the log file; the default directory is made (0750). One-line error if it cannot be. */
/** Open (append, 0640) the log file; its directory is made for the default one. One-line SplicefsError. */
export function openLog(path: string, isDefault: boolean): number {
  try {
    if (isDefault) mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
    return openSync(path, 'a', 0o640);
  } catch (err) {
    const hint = isDefault ? ' (--log-file PATH puts it elsewhere)' : '';
    throw new SplicefsError(`cannot open the log file ${showPath(Buffer.from(path))}: ${(err as NodeJS.ErrnoException).code ?? String(err)}${hint}`);
  }
}

/**
 * The parent's side: start the daemon (this program again, with the same arguments) and wait
 * for its word. Resolves 0 once the mount is ready; throws the daemon's own one-line error
 * (SplicefsError with its exit code) if mounting failed, or says where its log is if it died.
 */
export async function startDaemon(args: readonly Buffer[], logFile: string | undefined, mountpoint: Buffer): Promise<number> {
  const logPath = logFile ?? defaultLogFile(mountpoint);
  const logFd = openLog(logPath, logFile === undefined);
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1] ?? '', ...args.map((a) => a.toString('utf8'))], {
    detached: true,
    stdio: ['ignore', logFd, logFd, 'pipe'],
    env: { ...process.env, [ARGS_ENV]: args.map((a) => a.toString('hex')).join(',') },
  });
  closeSync(logFd);
  const exited = new Promise<string>((res) => child.on('exit', (code, sig) => res(sig ? `signal ${sig}` : `code ${code}`)));
  child.on('error', () => {}); // a failed spawn also ends the pipe: reported below
  const word = await readLine(child.stdio[READY_FD] as Readable);
  if (word === 'ready') {
    child.unref();
    return 0;
  }
  const m = /^error (\d+) (.*)$/s.exec(word);
  if (m) throw new SplicefsError(m[2]!, Number(m[1]));
  const how = await exited;
  throw new SplicefsError(`the server exited (${how}) before the mount was ready; its log: ${logPath}`);
}

/** The first line the pipe carries, or what it held when it ended ('' if nothing). */
function readLine(pipe: Readable): Promise<string> {
  return new Promise((res) => {
    let buf = '';
    const done = () => {
      pipe.destroy();
      const nl = buf.indexOf('\n');
      res(nl < 0 ? buf : buf.slice(0, nl));
    };
    pipe.on('data', (b: Buffer) => {
      buf += b.toString('utf8');
      if (buf.includes('\n')) done();
    });
    pipe.on('end', done);
    pipe.on('error', done);
  });
}

/** The daemon's side: the arguments it was started with, and its word to the parent. */
export interface DaemonChild {
  /** The exact bytes of the arguments the parent was given. */
  args: Buffer[];
  /** The mount is ready: tell the parent (it exits 0) and stop holding the working directory. */
  ready(): void;
  /** Mounting failed: the one line the parent prints, and its exit code. */
  failed(message: string, exitCode: number): void;
}

/**
 * This process's daemon side, if it is the daemon started by startDaemon (else null). The
 * marker is removed from the environment, so nothing this process starts inherits it.
 */
export function daemonChild(): DaemonChild | null {
  const hex = process.env[ARGS_ENV];
  if (hex === undefined) return null;
  delete process.env[ARGS_ENV];
  let open = true;
  const say = (line: string) => {
    if (!open) return;
    open = false;
    try {
      writeSync(READY_FD, line + '\n');
      closeSync(READY_FD);
    } catch {
      /* the parent is gone: nobody to tell */
    }
  };
  return {
    args: hex === '' ? [] : hex.split(',').map((h) => Buffer.from(h, 'hex')),
    ready: () => {
      say('ready');
      // libfuse's fuse_daemonize does the same: a daemon must not keep a directory busy (the
      // paths were resolved when mounting; the server holds the source by fd).
      process.chdir('/');
    },
    failed: (message, exitCode) => say(`error ${exitCode} ${message.replace(/\n/g, ' ')}`),
  };
}
