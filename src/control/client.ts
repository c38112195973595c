// The control socket's client side (`splicefs stats`, `splicefs set`): find the socket of the
// server that serves a MOUNTPOINT, send requests, read replies. Every failure is one line a
// user can act on (a SplicefsError): nothing serves that path, the caller may not use the
// socket, the server does not answer.
//
// This runs in its own process, never in the server's, so looking at the mount cannot deadlock
// anything; it still avoids doing so where it can (a hung server would hang the command, and
// a user without allow_other cannot even stat the mount's root).
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { SplicefsError } from '../errors.js';
import { findMount, fuseOwner, type MountEntry } from '../mnt/mountinfo.js';
import { showPath } from '../paths.js';
import type { Reply, Request } from './protocol.js';
import { clientDirs, socketName } from './socket-path.js';

/** How long a request may take before the server is declared unresponsive. */
const REPLY_TIMEOUT_MS = 5_000;
const SLASH = 0x2f;

/**
 * A path made absolute and normalized by its bytes alone (no symlink is followed). The working
 * directory comes from process.cwd(), which is only exact where it is UTF-8 (then the later
 * attempts of resolveMountpoint, by realpath, still find the mount).
 */
export function lexicalAbsolute(p: Buffer, cwd: Buffer = Buffer.from(process.cwd())): Buffer {
  const full = p[0] === SLASH ? p : Buffer.concat([cwd, Buffer.from('/'), p]);
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= full.length; i++) {
    if (i < full.length && full[i] !== SLASH) continue;
    const part = full.subarray(start, i);
    start = i + 1;
    if (part.length === 0 || (part.length === 1 && part[0] === 0x2e)) continue;
    if (part.length === 2 && part[0] === 0x2e && part[1] === 0x2e) out.pop();
    else out.push(part);
  }
  const joined = Buffer.concat(out.flatMap((part) => [Buffer.from('/'), part]));
  return joined.length > 0 ? joined : Buffer.from('/');
}

function parentAndBase(abs: Buffer): [Buffer, Buffer] {
  const i = abs.lastIndexOf(SLASH);
  return [i <= 0 ? Buffer.from('/') : abs.subarray(0, i), abs.subarray(i + 1)];
}

/**
 * The mountpoint as the server resolved it (realpath before mounting), found without entering
 * the mount where possible: the path as written, then with its parent resolved, then resolved
 * whole. `entry` is the mount at that path, if any.
 */
export function resolveMountpoint(arg: Buffer): { bytes: Buffer; entry: MountEntry | undefined } {
  const abs = lexicalAbsolute(arg);
  const tries: Array<() => Buffer> = [
    () => abs,
    () => {
      const [parent, base] = parentAndBase(abs);
      const dir = realpathSync.native(parent, { encoding: 'buffer' });
      return dir.length === 1 ? Buffer.concat([dir, base]) : Buffer.concat([dir, Buffer.from('/'), base]);
    },
    () => realpathSync.native(abs, { encoding: 'buffer' }),
  ];
  for (const attempt of tries) {
    let bytes: Buffer;
    try {
      bytes = attempt();
    } catch {
      continue;
    }
    const entry = findMount(bytes);
    if (entry) return { bytes, entry };
  }
  return { bytes: abs, entry: undefined };
}

/**
 * Where the server of the mount at `mnt` may have its socket: in the directories of the
 * mount's owner (a FUSE mount's user_id=), ours where it has none (not a mount, or one this
 * mount namespace does not show). Root is the mount's owner's peer: it tries a user's
 * directories too (socket-path.ts: clientDirs).
 */
function candidates(mnt: Buffer, owner: number | undefined): string[] {
  const name = socketName(mnt);
  return clientDirs(owner).map((d) => `${d}/${name}`);
}

/** One connection to a server's control socket; requests are answered in order. */
export class ControlClient {
  private pending = '';
  private readonly waiting: Array<{ resolve: (r: Reply) => void; reject: (e: Error) => void }> = [];

  private constructor(
    private readonly sock: Socket,
    /** The mountpoint for messages. */
    readonly shown: string,
  ) {
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    const gone = () => this.failAll(new SplicefsError(`the splicefs server of ${shown} went away`));
    sock.on('close', gone);
    sock.on('error', gone);
  }

  /**
   * Connect to the server of the mount at `arg` (bytes as given). Throws a one-line
   * SplicefsError when no server serves it or the caller may not use its socket.
   */
  static async connect(arg: Buffer): Promise<ControlClient> {
    const { bytes, entry } = resolveMountpoint(arg);
    const shown = showPath(arg);
    const owner = entry?.fstype === 'fuse.splicefs' ? fuseOwner(entry) : undefined;
    const failures: Failure[] = [];
    for (const path of candidates(bytes, owner)) {
      try {
        return new ControlClient(await connectUnix(path), shown);
      } catch (err) {
        failures.push({ path, code: (err as NodeJS.ErrnoException).code ?? String(err) });
      }
    }
    throw noServer({ shown, arg, entry, owner, failures, mnt: bytes });
  }

  /** Send one request and wait for its reply (a SplicefsError if none comes in time). */
  request(req: Request): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.failAll(new SplicefsError(`the splicefs server of ${this.shown} did not answer within ${REPLY_TIMEOUT_MS / 1000} s`));
        this.sock.destroy();
      }, REPLY_TIMEOUT_MS);
      const done = <V>(f: (v: V) => void) => (v: V) => {
        clearTimeout(timer);
        f(v);
      };
      this.waiting.push({ resolve: done(resolve), reject: done(reject) });
      this.sock.write(JSON.stringify(req) + '\n');
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private onData(chunk: string): void {
    this.pending += chunk;
    for (let nl = this.pending.indexOf('\n'); nl >= 0; nl = this.pending.indexOf('\n')) {
      const line = this.pending.slice(0, nl);
      this.pending = this.pending.slice(nl + 1);
      const w = this.waiting.shift();
      if (!w) continue;
      try {
        w.resolve(JSON.parse(line) as Reply);
      } catch {
        w.reject(new SplicefsError(`the server of ${this.shown} sent a reply that is not JSON`));
      }
    }
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.splice(0)) w.reject(err);
  }
}

function connectUnix(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

interface Failure {
  path: string;
  code: string;
}

interface NoServer {
  shown: string;
  /** The path as given (for "does not exist"). */
  arg: Buffer;
  entry: MountEntry | undefined;
  /** The uid of the mount's server (user_id=), for a fuse.splicefs mount. */
  owner: number | undefined;
  /** One per socket path tried, in order. */
  failures: Failure[];
  /** The resolved mountpoint. */
  mnt: Buffer;
}

/**
 * The one line that says why no server could be reached. What the path is comes first (none,
 * no mount, another file system's mount, a stale mount): a refused connect says nothing about
 * those. A refusal (EACCES) is told only for the sockets of this mount's owner, when that is
 * someone else: the mount is theirs, so its socket is behind their 0700 directory.
 */
function noServer({ shown, arg, entry, owner, failures, mnt }: NoServer): SplicefsError {
  const none = `no splicefs server serves ${shown}`;
  if (!entry) return new SplicefsError(`${none}: ${exists(arg) ? 'it is not a mount point' : 'it does not exist'}`);
  if (entry.fstype !== 'fuse.splicefs') return new SplicefsError(`${none}: it is a ${entry.fstype} mount`);
  if (failures.some((e) => e.code === 'ECONNREFUSED') || isStale(mnt))
    return new SplicefsError(`${none}: its server is gone (stale mount: run 'splicefs umount ${shown}')`);
  const me = process.getuid?.() ?? 0;
  const denied = failures.find((e) => e.code === 'EACCES' || e.code === 'EPERM');
  if (denied && owner !== undefined && owner !== me) {
    const who = owner === 0 ? 'root' : `uid ${owner}`;
    const only = owner === 0 ? 'for root only (run as root)' : `for ${who} and root only (run as ${who} or root)`;
    return new SplicefsError(`permission denied: the control socket of ${shown} is ${only}`);
  }
  if (denied) return new SplicefsError(`permission denied: cannot use ${denied.path} (${ownerOf(denied.path)})`);
  const looked = failures.map((e) => e.path).join(', ');
  if (owner !== undefined && owner !== me)
    return new SplicefsError(
      `no splicefs server answers for ${shown}: no control socket of its server (uid ${owner}) at ${looked}; ` +
        `one in uid ${owner}'s $XDG_RUNTIME_DIR cannot be found from here (run as uid ${owner}), or it runs with control off`,
    );
  return new SplicefsError(
    `no splicefs server answers for ${shown}: it has no control socket (none at ${looked}; its server runs with control off, or is not this version)`,
  );
}

/** Whether the path exists (a dangling symlink counts: it is there, and it is no mount). */
function exists(arg: Buffer): boolean {
  try {
    lstatSync(arg);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code !== 'ENOENT' && code !== 'ENOTDIR';
  }
}

/** A FUSE mount whose server is gone answers every call with ENOTCONN at once (no hang). */
function isStale(mnt: Buffer): boolean {
  try {
    statSync(mnt);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOTCONN';
  }
}

/** Whose directory refused a connect: "it is uid N's" (someone else made it), or its error. */
function ownerOf(path: string): string {
  try {
    const uid = statSync(dirname(path)).uid;
    return `${dirname(path)} is ${uid === 0 ? "root's" : `uid ${uid}'s`}`;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? String(err);
  }
}
