// Where a mount's control socket lives, derived from the mountpoint alone, so `splicefs stats
// MOUNTPOINT` finds the server without any registry: <dir>/<hash>.sock, where <hash> is the
// first 32 hex digits of the SHA-256 of the resolved mountpoint's bytes (a mountpoint need not
// be UTF-8, and may be longer than a socket path's 107 bytes), and <dir> is private to the
// server's user:
//   root:   /run/splicefs                  (0700, root's)
//   others: $XDG_RUNTIME_DIR/splicefs      (0700, the user's; /run/user/UID/splicefs if unset,
//           or /tmp/splicefs-UID where there is no /run/user/UID either: no login session,
//           e.g. a service account or `setpriv`; the directory must be the user's and 0700)
// The socket itself is made 0600. Only the owner, and root (CAP_DAC_OVERRIDE), can connect:
// the directory's mode refuses everyone else before the socket's does. The client looks in the
// directories of the mount's owner (clientDirs): a user's XDG_RUNTIME_DIR is known to that user
// only, so root finds a user's socket in /run/user/UID or /tmp/splicefs-UID alone.
// Nothing here touches a path inside a mount: the server makes its socket before mount(2).
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The directory of the control sockets of servers run by `uid` (the rule above; `exists` is a
 * parameter for the unit test). Server and client both derive it, so both must see the same
 * environment.
 */
export function runtimeDir(uid: number = process.getuid?.() ?? 0, env: NodeJS.ProcessEnv = process.env, exists: (p: string) => boolean = existsSync): string {
  if (uid === 0) return '/run/splicefs';
  if (env.XDG_RUNTIME_DIR && env.XDG_RUNTIME_DIR.startsWith('/')) return join(env.XDG_RUNTIME_DIR, 'splicefs');
  if (exists(`/run/user/${uid}`)) return join(`/run/user/${uid}`, 'splicefs');
  // ensurePrivateDir refuses it unless it is this user's own 0700 directory.
  return `/tmp/splicefs-${uid}`;
}

/**
 * Where another process may look for the sockets of servers run by `owner`: root's
 * /run/splicefs; a user's /run/user/UID/splicefs and /tmp/splicefs-UID (both, whichever
 * exists: the one the server picked depended on /run/user/UID at its start). Never the user's
 * $XDG_RUNTIME_DIR/splicefs: it comes from the server's environment, which nothing records, so
 * only a process with the same environment (the user in the same session) can know it.
 */
export function ownerDirs(owner: number): string[] {
  return owner === 0 ? [runtimeDir(0)] : [`/run/user/${owner}/splicefs`, `/tmp/splicefs-${owner}`];
}

/**
 * The directories the client (`stats`, `set`), running as `me`, tries for a mount served by
 * `owner` (the user_id= of a FUSE mount; undefined where there is none: our own then). Our own
 * mount: our runtimeDir (same environment as our server, usually), then the dirs a server of
 * ours with another environment used. Someone else's: that uid's ownerDirs, which only root (or
 * nobody: a user connecting to another's socket is refused) can use.
 */
export function clientDirs(owner: number | undefined, me: number = process.getuid?.() ?? 0, env: NodeJS.ProcessEnv = process.env, exists: (p: string) => boolean = existsSync): string[] {
  const uid = owner ?? me;
  const dirs = uid === me ? [runtimeDir(me, env, exists), ...ownerDirs(me)] : ownerDirs(uid);
  return [...new Set(dirs)];
}

/** The socket's file name for a resolved mountpoint (bytes as mount(2) got them). */
export function socketName(mountpoint: Buffer): string {
  return createHash('sha256').update(mountpoint).digest('hex').slice(0, 32) + '.sock';
}

/** The control socket of a mount at `mountpoint` served by `uid`. */
export function socketPath(mountpoint: Buffer, uid?: number): string {
  return join(runtimeDir(uid), socketName(mountpoint));
}

/**
 * Make `dir` (and missing parents) and check that it is a real directory of ours that nobody
 * else can enter (mode 0700; a wider mode of our own directory is narrowed). Throws an Error
 * saying what is wrong (a symlink, someone else's directory) instead of using it.
 */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = process.getuid?.() ?? 0;
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory`);
  if (st.uid !== uid) throw new Error(`${dir} belongs to uid ${st.uid}, not to this server's uid ${uid}`);
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}
