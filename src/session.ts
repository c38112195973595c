// The request loop: reads requests from /dev/fuse (non-blocking, woken by a uv_poll watcher,
// so the event loop never blocks on the device), dispatches them through the opcode table,
// writes replies, negotiates INIT, and shuts down when the kernel ends the connection.
import { constants } from 'node:os';
import type { Logger } from 'pino';
import { addon, type Watcher, type Workers } from './addon.js';
import { FUSE_KERNEL_VERSION, FUSE_OUR_MINOR, InitFlag, Opcode, PAGE_SIZE, initFlagNames, opcodeName } from './kernel/abi.js';
import { decodeInit, encodeInit, MalformedRequest, Reply, Request } from './kernel/codec.js';
import { buildOpTable, type OpTable } from './optable.js';
import type { PassthroughFs } from './passthrough/fs.js';
import type { ReadPath } from './read-path.js';

const E = constants.errno;
/** Requests drained per wake-up before yielding to the event loop (level-triggered poll). */
const BATCH = 256;
const TWO32 = 2 ** 32;

export interface SessionConfig {
  devfd: number;
  fs: PassthroughFs;
  readPath: ReadPath;
  logger: Logger;
  /** max_pages we will ask for (already fitted to the pipe and the kernel's limit). */
  maxPages: number;
  /** INIT flags we would like, if the kernel offers them. */
  wantFlags: number;
  maxBackground: number;
  congestionThreshold: number;
  reqBufSize: number;
  /**
   * Worker threads reading the connection (cloned fds) and executing READ plans end to end;
   * 0 = the event loop reads /dev/fuse itself and does everything.
   */
  threads: number;
  /** Microseconds a worker keeps polling for the next request before it sleeps (0 = never). */
  spinUs: number;
  /** Pipe size each worker asks for. */
  pipeBytes: number;
}

export interface Negotiated {
  protocol: string;
  minor: number;
  maxPages: number;
  maxRead: number;
  maxWrite: number;
  maxReadahead: number;
  flags: number;
  flagNames: string[];
}

/** 64-bit AND on flag values held as numbers (JavaScript's & is 32-bit). */
export function and64(a: number, b: number): number {
  const lo = ((a % TWO32) & (b % TWO32)) >>> 0;
  const hi = (Math.floor(a / TWO32) & Math.floor(b / TWO32)) >>> 0;
  return lo + hi * TWO32;
}

export class Session {
  interrupted = 0;
  negotiated: Negotiated | null = null;
  readonly closed: Promise<string>;

  private readonly req: Request;
  private readonly rep: Reply;
  private readonly table: OpTable;
  private readonly counts: number[] = [];
  private watcher: Watcher | null = null;
  private workers: Workers | null = null;
  private readonly meta = new Float64Array(2);
  /** The fd the current request came from: its reply must go back on the same fd. */
  private replyFd: number;
  private done = false;
  private resolveClosed!: (why: string) => void;
  private initWaiters: Array<(n: Negotiated | Error) => void> = [];
  private readonly debug: boolean;

  constructor(private readonly cfg: SessionConfig, rep: Reply) {
    this.req = new Request(cfg.reqBufSize);
    this.rep = rep;
    this.table = buildOpTable(cfg.fs);
    this.debug = cfg.logger.isLevelEnabled('debug');
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.replyFd = cfg.devfd;
  }

  /** Start serving (after mount(2): cloning needs a connected device). */
  start(): void {
    if (this.cfg.threads > 0) {
      const maxRead = this.cfg.maxPages * PAGE_SIZE;
      this.workers = new addon.Workers(this.cfg.devfd, this.cfg.threads, this.cfg.pipeBytes, maxRead, this.cfg.reqBufSize, this.onWake, this.cfg.spinUs);
    } else {
      this.watcher = new addon.Watcher(this.cfg.devfd, this.onReadable);
    }
  }

  /** The worker threads, when the session runs with them (plans are registered there). */
  get threads(): Workers | null {
    return this.workers;
  }

  /** Counters of the worker threads: spliceReplies, spliceBytes, copyReplies, copyBytes, interrupted, forwarded, fallbackCopies, smallCopies, spinHits, spinMisses. */
  workerCounters(): Float64Array {
    this.workers?.counters(this.lastCounters);
    return this.lastCounters.slice();
  }
  private readonly lastCounters = new Float64Array(10);

  /** Resolves once INIT has been answered (or rejects if the session ends first). */
  waitInit(): Promise<Negotiated> {
    if (this.negotiated) return Promise.resolve(this.negotiated);
    return new Promise((resolve, reject) => {
      this.initWaiters.push((n) => (n instanceof Error ? reject(n) : resolve(n)));
    });
  }

  get isClosed(): boolean {
    return this.done;
  }

  requestCounts(): Record<string, number> {
    const out: Record<string, number> = {};
    this.counts.forEach((n, op) => {
      if (n) out[opcodeName(op)] = n;
    });
    return out;
  }

  /** A reply could not be written: ENOENT = the request was interrupted, ENODEV = unmounted. */
  readonly onDeviceError = (errno: number): void => {
    if (errno === E.ENOENT) this.interrupted++;
    else if (errno === E.ENODEV) this.end('unmounted');
    else this.cfg.logger.warn({ errno }, 'reply write failed');
  };

  /** Worker threads forwarded requests (or all of them have ended: the connection is gone). */
  private readonly onWake = (ended: boolean): void => {
    const w = this.workers;
    if (this.done || !w) return;
    for (;;) {
      const n = w.take(this.req.buf, this.meta);
      if (n <= 0) break;
      this.dispatch(n, this.meta[0], this.meta[1]);
      if (this.done) return;
    }
    if (ended) this.end('unmounted');
  };

  private readonly onReadable = (status: number): void => {
    if (this.done) return;
    for (let i = 0; i < BATCH; i++) {
      const n = addon.read(this.cfg.devfd, this.req.buf);
      if (n < 0) {
        const e = -n;
        if (e === E.EAGAIN) {
          if (status < 0 && i === 0) this.end('device error'); // poll error and nothing to read
          return;
        }
        if (e === E.EINTR || e === E.ENOENT) continue; // ENOENT: request aborted before we read it
        if (e === E.ENODEV) return this.end('unmounted');
        this.cfg.logger.error({ errno: e }, 'read from /dev/fuse failed');
        return this.end('device read error');
      }
      this.dispatch(n, this.cfg.devfd, 0);
      if (this.done) return;
    }
  };

  /** One request from `fromFd`; `prior` is the failure code of a READ plan a worker tried. */
  private dispatch(n: number, fromFd: number, prior: number): void {
    const req = this.req;
    this.replyFd = fromFd;
    try {
      req.load(n);
    } catch (err) {
      this.cfg.logger.error({ err: String(err) }, 'malformed request header');
      return;
    }
    const op = req.opcode;
    this.counts[op] = (this.counts[op] ?? 0) + 1;
    if (this.debug) {
      this.cfg.logger.debug({ op: opcodeName(op), unique: req.unique, nodeid: req.nodeid, len: req.length }, 'request');
    }
    let res: number;
    try {
      if (op === Opcode.INIT) res = this.init(req);
      else if (this.negotiated === null) res = -E.EIO;
      else if (op === Opcode.READ) res = this.read(req, prior);
      else {
        const row = this.table[op];
        res = row ? row.run(req) : -E.ENOSYS;
      }
    } catch (err) {
      if (err instanceof MalformedRequest) {
        this.cfg.logger.warn({ op: opcodeName(op), err: err.message }, 'malformed request');
        res = -E.EINVAL;
      } else {
        this.cfg.logger.error({ op: opcodeName(op), err }, 'handler failed');
        res = -E.EIO;
      }
    }
    if (res === 0) return; // no reply (FORGET, INTERRUPT) or the read path already replied
    const len = res > 0 ? res : this.rep.error(req.unique, -res);
    if (res > 0) this.rep.finish(req.unique, len);
    if (this.debug) {
      this.cfg.logger.debug({ op: opcodeName(op), unique: req.unique, error: res < 0 ? res : 0, len }, 'reply');
    }
    const w = addon.write(this.replyFd, this.rep.buf, len);
    if (w < 0) this.onDeviceError(-w);
  }

  /** READ: the filesystem resolves the handle, the read path moves the bytes. */
  private read(req: Request, prior: number): number {
    const t = this.cfg.fs.readTarget(req);
    if (typeof t === 'number') return t;
    const r = this.cfg.readPath.serve(this.replyFd, req.unique, t.target, t.offset, t.size, prior);
    if (this.debug && r === 0) this.cfg.logger.debug({ op: 'READ', unique: req.unique, size: t.size }, 'reply');
    return r;
  }

  private init(req: Request): number {
    const inn = decodeInit(req);
    if (inn.major !== FUSE_KERNEL_VERSION) {
      this.cfg.logger.error({ major: inn.major }, 'unsupported FUSE major version');
      return -E.EPROTO;
    }
    const minor = Math.min(inn.minor, FUSE_OUR_MINOR);
    const flags = and64(inn.flags, this.cfg.wantFlags);
    const maxPagesGranted = (flags & InitFlag.MAX_PAGES) !== 0;
    // Without FUSE_MAX_PAGES the kernel sends at most 32 pages per request.
    const maxPages = maxPagesGranted ? this.cfg.maxPages : Math.min(32, this.cfg.maxPages);
    const maxWrite = maxPages * PAGE_SIZE;
    const n: Negotiated = {
      protocol: `${FUSE_KERNEL_VERSION}.${minor}`,
      minor,
      maxPages,
      maxRead: maxPages * PAGE_SIZE,
      maxWrite,
      maxReadahead: inn.maxReadahead,
      flags,
      flagNames: initFlagNames(flags),
    };
    const len = encodeInit(this.rep, {
      minor,
      maxReadahead: inn.maxReadahead,
      flags,
      maxBackground: this.cfg.maxBackground,
      congestionThreshold: this.cfg.congestionThreshold,
      maxWrite,
      timeGran: 1,
      maxPages,
    });
    this.negotiated = n;
    this.rep.finish(req.unique, len);
    // takeFault: a test hook (addon/faults.h), 0 unless armed: "the INIT reply write failed".
    const injected = addon.takeFault('init');
    const w = injected < 0 ? injected : addon.write(this.replyFd, this.rep.buf, len);
    if (w < 0) {
      this.onDeviceError(-w);
      return 0;
    }
    for (const wake of this.initWaiters.splice(0)) wake(n);
    return 0;
  }

  /** Stop serving: the kernel ended the connection, or the device failed. Idempotent. */
  end(why: string): void {
    if (this.done) return;
    this.done = true;
    this.watcher?.stop();
    this.watcher = null;
    this.workers?.counters(this.lastCounters); // keep the final counts for stats at exit
    this.workers?.stop(); // joins the threads: none touches an fd after this
    this.workers = null;
    for (const wake of this.initWaiters.splice(0)) wake(new Error(`session ended before INIT: ${why}`));
    this.resolveClosed(why);
  }
}
