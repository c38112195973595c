// The control socket of one mount (the server side): a Unix socket in a directory only the
// server's user can enter (socket-path.ts), answering JSON lines (protocol.ts) from the event
// loop. Made before mount(2), so neither its directory nor bind(2) can ever be a path inside
// the mount this process serves (that would deadlock the loop); answers "starting" until the
// mount is ready (attach); removed when the mount ends, whatever ended it.
//
// A socket left by a server that was killed (SIGKILL leaves no chance to clean up) is replaced:
// the path is derived from the mountpoint, and a new mount there means the old one is gone.
// Those of other mountpoints are swept when a server starts (sweepStale), so they do not pile
// up. The server only ever removes the socket it made (same inode), so an old server still
// draining a detached mount cannot remove the socket of the new one.
import { chmodSync, lstatSync, readdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { MAX_LINE, parseRequest, type ControlTarget, type Reply } from './protocol.js';
import { ensurePrivateDir } from './socket-path.js';

export class ControlServer {
  private target: ControlTarget | null = null;
  private readonly conns = new Set<Socket>();
  private ino = -1;
  private closed = false;
  /** Removes the socket when the process exits without unmounting (an uncaught error). */
  private readonly onExit = () => this.unlinkOwn();

  private constructor(
    readonly path: string,
    private readonly server: Server,
    private readonly logger: Logger,
  ) {}

  /**
   * Listen on `path` (0600, in a 0700 directory made if missing). Replaces whatever a killed
   * server left there. Rejects with an Error saying why the socket cannot be made.
   */
  static async open(path: string, logger: Logger): Promise<ControlServer> {
    ensurePrivateDir(dirname(path));
    await sweepStale(dirname(path), path, logger);
    if (removeLeftover(path)) logger.info({ socket: path }, 'control socket left by an earlier server replaced');
    const cs = new ControlServer(path, createServer(), logger);
    cs.server.on('connection', (c) => cs.serve(c));
    await new Promise<void>((resolve, reject) => {
      cs.server.once('error', reject);
      cs.server.listen(path, () => {
        cs.server.off('error', reject);
        resolve();
      });
    });
    cs.server.on('error', (err) => logger.warn({ err: err.message }, 'control socket'));
    // Explicitly 0600, whatever the umask: the directory already keeps others out, the socket
    // says so too.
    chmodSync(path, 0o600);
    cs.ino = lstatSync(path).ino;
    process.on('exit', cs.onExit);
    return cs;
  }

  /** Start answering requests from `target` (before this, requests get "starting"). */
  attach(target: ControlTarget): void {
    this.target = target;
  }

  /** Stop listening, end every connection and remove the socket. Synchronous; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    process.off('exit', this.onExit);
    this.unlinkOwn();
    this.server.close();
    for (const c of this.conns) c.destroy();
    this.conns.clear();
  }

  private unlinkOwn(): void {
    try {
      if (lstatSync(this.path).ino === this.ino) unlinkSync(this.path);
    } catch {
      /* already gone */
    }
  }

  /** Read request lines from one connection and answer each, in order. */
  private serve(c: Socket): void {
    this.conns.add(c);
    c.on('close', () => this.conns.delete(c));
    c.on('error', () => c.destroy()); // a client that went away mid-reply
    c.setEncoding('utf8');
    let pending = '';
    c.on('data', (chunk: string) => {
      pending += chunk;
      for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.trim() !== '') c.write(JSON.stringify(this.answer(line)) + '\n');
      }
      if (pending.length > MAX_LINE) {
        c.end(JSON.stringify({ ok: false, error: `request longer than ${MAX_LINE} bytes` }) + '\n');
        pending = '';
      }
    });
  }

  private answer(line: string): Reply {
    const req = parseRequest(line);
    if (req instanceof Error) return { ok: false, error: req.message };
    const target = this.target;
    if (!target) return { ok: false, error: 'the mount is starting: try again' };
    try {
      if (req.op === 'stats') return { ok: true, stats: target.snapshot() };
      const set = target.set(req.name, req.value);
      this.logger.info({ setting: set.name, value: set.value, previous: set.previous }, 'changed at run time (new opens)');
      return { ok: true, set };
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
  }
}

/** A socket younger than this is never swept: its server may be between bind and listen. */
const SWEEP_MIN_AGE_MS = 10_000;

/**
 * Remove the sockets in `dir` that nobody listens on any more (connect refused: their server was
 * killed), other than `own` (replaced by the caller). Best effort: failures are ignored.
 */
async function sweepStale(dir: string, own: string, logger: Logger): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.sock'));
  } catch {
    return;
  }
  const old = names.map((n) => join(dir, n)).filter((p) => p !== own && ageMs(p) > SWEEP_MIN_AGE_MS);
  const refused = await Promise.all(old.map((p) => connectRefused(p)));
  for (const [i, p] of old.entries()) {
    if (!refused[i]) continue;
    try {
      unlinkSync(p);
      logger.debug({ socket: p }, 'control socket of a server that is gone removed');
    } catch {
      /* someone else removed it */
    }
  }
}

function ageMs(path: string): number {
  try {
    const st = lstatSync(path);
    return st.isSocket() ? Date.now() - st.mtimeMs : -1;
  } catch {
    return -1;
  }
}

/** Whether a connect to the socket at `path` is refused (no one listens there). */
function connectRefused(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(false);
    });
    c.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}

/** Remove what is at `path` (a killed server's socket); true if something was there. */
function removeLeftover(path: string): boolean {
  try {
    unlinkSync(path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
