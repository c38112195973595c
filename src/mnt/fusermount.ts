// Mounting and unmounting through fusermount3, the set-user-ID helper of Debian's fuse3 package,
// for a server that is not root (and for auto_unmount, root too). The protocol is libfuse's
// (lib/mount.c, util/fusermount.c): the helper is run as `fusermount3 -o OPTIONS -- MOUNTPOINT`
// with `_FUSE_COMMFD=N` naming its end of a socketpair; it opens /dev/fuse, mounts with
// "fd=N,rootmode=...,user_id=UID,group_id=GID" plus the options it allows this user, and sends
// the fd back as SCM_RIGHTS with one byte. It then exits 0, or with `-o auto_unmount` stays,
// in its own session, until our end of the socket closes (this process ended, however), and
// unmounts the mount if it is still there and stale (ENOTCONN). On failure it exits non-zero
// with its reason on stderr ("fusermount3: option allow_other only allowed if
// 'user_allow_other' is set in /etc/fuse.conf"). `fusermount3 -u [-z] -- MOUNTPOINT` unmounts
// a mount of this user (its user_id= option is checked by the helper).
import { spawn } from 'node:child_process';
import { isUtf8 } from 'node:buffer';
import { constants } from 'node:os';
import { addon } from '../addon.js';
import { errnoName, SplicefsError } from '../errors.js';
import { pathBytes, showPath, type PathArg } from '../paths.js';
import { MS } from './kernel.js';

const E = constants.errno;
export const FUSERMOUNT = 'fusermount3';
/** How long a mount or unmount waits for the helper before killing it. */
export const HELPER_TIMEOUT_MS = 10_000;
/** The helper's end of the socket, as it sees it (spawn's stdio slot 3). */
const CHILD_COMMFD = 3;

/** What the helper is asked to mount (kernel.ts's KernelMount without the fd it opens itself). */
export interface HelperMount {
  /** what mountinfo shows as the source (fsname=) */
  fsname: PathArg;
  mountpoint: PathArg;
  /** subtype= (the helper makes the type fuse.SUBTYPE); unset: splicefs */
  subtype?: string;
  /** mount(2) flags (kernel.ts mountFlags), given to the helper by their names */
  flags: number;
  maxRead: number;
  allowOther: boolean;
  defaultPermissions: boolean;
  /** the helper stays and unmounts once our end of the socket closes */
  autoUnmount: boolean;
}

/** A mount the helper made: the connection's device fd, and our end of its socket. */
export interface HelperConnection {
  /** /dev/fuse, connected to the mount (close-on-exec, O_NONBLOCK) */
  devfd: number;
  /**
   * Our end of the socket when the helper stays (auto_unmount): closing it (or this process
   * ending) tells the helper to unmount a mount left behind. -1 otherwise.
   */
  commfd: number;
  /** what the helper said on stderr although it mounted ("unsafe option suid ignored") */
  warnings: string[];
}

/**
 * An fsname= or subtype= value as the helper reads it: a comma ends an option unless escaped
 * with a backslash (and a backslash escapes itself). A path that is not UTF-8 goes escaped
 * (showPath): the helper's arguments are text.
 */
function escapeValue(v: string): string {
  return v.replace(/[\\,]/g, (c) => `\\${c}`);
}

/**
 * The `-o` list for the helper, in its spelling: rw/ro, nosuid/suid, nodev/dev, exec/noexec,
 * noatime, nodiratime, then fsname=, subtype=, max_read=, allow_other, default_permissions,
 * auto_unmount. The helper itself starts from nosuid,nodev and ignores suid/dev for users
 * ("unsafe option ... ignored"; api/options.ts refuses them first). strictatime has no
 * spelling the helper takes: a SplicefsError. relatime is the kernel's default: not passed.
 */
export function helperOptions(m: HelperMount): string {
  if (m.flags & MS.STRICTATIME) throw new SplicefsError(`-o strictatime cannot be set through ${FUSERMOUNT} (it has no such option)`);
  const f = m.flags;
  const opts = [
    f & MS.RDONLY ? 'ro' : 'rw',
    f & MS.NOSUID ? 'nosuid' : 'suid',
    f & MS.NODEV ? 'nodev' : 'dev',
    f & MS.NOEXEC ? 'noexec' : 'exec',
    ...(f & MS.NOATIME ? ['noatime'] : []),
    ...(f & MS.NODIRATIME ? ['nodiratime'] : []),
    `fsname=${escapeValue(showPath(m.fsname))}`,
    // Always: without it the helper's type is plain "fuse".
    `subtype=${escapeValue(m.subtype ?? 'splicefs')}`,
    `max_read=${m.maxRead}`,
    ...(m.allowOther ? ['allow_other'] : []),
    ...(m.defaultPermissions ? ['default_permissions'] : []),
    ...(m.autoUnmount ? ['auto_unmount'] : []),
  ];
  return opts.join(',');
}

/** The mountpoint as the helper's argument (text): a SplicefsError where it is not UTF-8. */
function helperPath(mountpoint: PathArg): string {
  const b = pathBytes(mountpoint);
  if (!isUtf8(b)) throw new SplicefsError(`${FUSERMOUNT} cannot be given ${showPath(b)}: the path is not UTF-8 (mount it as root)`);
  return b.toString('utf8');
}

/** The helper's last stderr line, without its "fusermount3: " prefix ('' if it said nothing). */
function lastLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines.at(-1) ?? '').replace(/^fusermount3?: /, '');
}

/** The one line for a helper that could not be run (missing: the package that has it). */
function spawnError(err: NodeJS.ErrnoException, uid: number): SplicefsError {
  if (err.code === 'ENOENT')
    return new SplicefsError(`${FUSERMOUNT} not found: mounting as uid ${uid} needs it (Debian package fuse3: apt-get install fuse3)`);
  return new SplicefsError(`cannot run ${FUSERMOUNT}: ${err.code ?? err.message}`);
}

/** One line for a failed mount: the helper's own reason, and what to do where it is known. */
function mountFailure(shown: string, why: string): SplicefsError {
  const hint = /user_allow_other/.test(why)
    ? ' (a user needs user_allow_other in /etc/fuse.conf for allow_other)'
    : /open \/dev\/fuse: Permission denied/.test(why)
      ? ' (it opens /dev/fuse as the user: the device must be mode 0666, as udev makes it)'
      : '';
  return new SplicefsError(`cannot mount on ${shown}: ${FUSERMOUNT}: ${why}${hint}`);
}

/**
 * Mount through the helper and receive the connection's device fd. Resolves once the fd is
 * here (and, without auto_unmount, the helper has exited). Rejects with a one-line
 * SplicefsError carrying the helper's own message when it fails, when it is missing (naming
 * the fuse3 package), or when it has not answered within `timeoutMs` (it is killed). Nothing
 * is left open on failure; a mount the helper made before failing to send the fd it detaches
 * itself (lazy umount).
 */
export function helperMount(m: HelperMount, timeoutMs = HELPER_TIMEOUT_MS): Promise<HelperConnection> {
  const target = helperPath(m.mountpoint);
  const options = helperOptions(m);
  const shown = showPath(m.mountpoint);
  const pair = new Int32Array(2);
  const r = addon.socketpair(pair);
  if (r < 0) throw new SplicefsError(`cannot make a socket for ${FUSERMOUNT}: ${errnoName(r)}`);
  const [ours, theirs] = [pair[0]!, pair[1]!];
  return new Promise<HelperConnection>((resolve, reject) => {
    const uid = process.getuid?.() ?? 0;
    const child = spawn(FUSERMOUNT, ['-o', options, '--', target], {
      stdio: ['ignore', 'ignore', 'pipe', theirs],
      env: { ...process.env, _FUSE_COMMFD: String(CHILD_COMMFD) },
    });
    addon.close(theirs); // the child has its copy (or the spawn failed)
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    let devfd = -1;
    let done = false;
    let watcher: { stop(): void } | null = null;
    const exited = new Promise<number | string>((res) => child.on('exit', (code, sig) => res(sig ?? code ?? -1)));
    const finish = (err: SplicefsError | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      watcher?.stop();
      if (err) {
        if (devfd >= 0) addon.close(devfd);
        addon.close(ours);
        return reject(err);
      }
      const warnings = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
      if (m.autoUnmount) {
        // The helper stays as long as our end is open: it must not hold this process's loop.
        child.stderr?.destroy();
        child.unref();
        return resolve({ devfd, commfd: ours, warnings });
      }
      addon.close(ours);
      resolve({ devfd, commfd: -1, warnings });
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish(new SplicefsError(`cannot mount on ${shown}: ${FUSERMOUNT} did not answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    /** Take the fd if it is there; true once the socket has nothing more to give. */
    const receive = (): boolean => {
      if (devfd >= 0) return true;
      const fd = addon.recvFd(ours);
      if (fd >= 0) devfd = fd;
      return fd !== -E.EAGAIN;
    };
    const afterExit = (how: number | string) => {
      receive();
      if (devfd >= 0 && how === 0) return finish(null);
      const why = lastLine(stderr) || (typeof how === 'number' ? `exit status ${how}` : `killed by ${how}`);
      finish(mountFailure(shown, why));
    };
    child.on('error', (err) => finish(spawnError(err, uid)));
    // Without auto_unmount the helper's exit status and stderr say how it went; with it, the
    // helper stays once the fd is sent, so the fd's arrival is the end (an exit is a failure).
    void exited.then(afterExit);
    watcher = new addon.Watcher(ours, () => {
      if (!receive()) return;
      watcher?.stop();
      watcher = null;
      if (devfd >= 0 && m.autoUnmount) finish(null);
    });
  });
}

/**
 * `fusermount3 -u [-z] -- MOUNTPOINT`: 'unmounted', or 'detached' when the mount was busy and
 * was detached lazily instead (open files keep the connection until they close). Rejects with
 * a one-line SplicefsError carrying the helper's reason (not a mount point, not this user's).
 */
export async function helperUnmount(mountpoint: PathArg, timeoutMs = HELPER_TIMEOUT_MS): Promise<'unmounted' | 'detached'> {
  const target = helperPath(mountpoint);
  const shown = showPath(mountpoint);
  const first = await runHelper(['-u', '--', target], timeoutMs);
  if (first.ok) return 'unmounted';
  if (!/busy/i.test(first.why)) throw new SplicefsError(`cannot unmount ${shown}: ${FUSERMOUNT}: ${first.why}`);
  const lazy = await runHelper(['-u', '-z', '--', target], timeoutMs);
  if (lazy.ok) return 'detached';
  throw new SplicefsError(`cannot unmount ${shown}: ${FUSERMOUNT}: ${lazy.why}`);
}

/** Lazy unmount through the helper, quietly, ignoring failure: never leave a mount behind. */
export async function helperDetach(mountpoint: PathArg): Promise<void> {
  if (!isUtf8(pathBytes(mountpoint))) return;
  await runHelper(['-u', '-z', '-q', '--', pathBytes(mountpoint).toString('utf8')], HELPER_TIMEOUT_MS).catch(() => {});
}

/** Run the helper for an unmount: ok, or its reason (a missing helper rejects, naming fuse3). */
function runHelper(args: string[], timeoutMs: number): Promise<{ ok: boolean; why: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(FUSERMOUNT, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    child.on('error', (err) => reject(spawnError(err, process.getuid?.() ?? 0)));
    child.on('close', (code, sig) => {
      if (code === 0) return resolve({ ok: true, why: '' });
      const why = lastLine(stderr) || (sig ? `did not answer within ${timeoutMs / 1000} s` : `exit status ${code}`);
      resolve({ ok: false, why });
    });
  });
}
